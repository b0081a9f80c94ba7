"""Throughput of `make-lmdb --check` next to a minimal reference LMDB writer.

Generates N small text-like images (PNG and JPEG, 100x32) with a gt file in a temp
folder, then times, in the same run:

- reference: read each file and `put` image + label in one transaction (no checks);
- strtool: `strtool.data.build.make_lmdb(check=True)` with the CLI's default workers
  (0 = auto: as many processes as idle cores, by load average).

The two are run alternately `--repeat` times; the best wall time of each gives the
ratio (target: strtool within 1.5x of the reference). CPU seconds (this process plus
its worker processes) are printed too: on a shared machine they vary less than wall
time. Usage: python bench/lmdb_build.py [--n 10000] [--workers N] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

import lmdb
from PIL import Image, ImageDraw

from strtool.data.build import DEFAULT_WORKERS, make_lmdb
from strtool.data.build_prep import auto_workers

WORDS = ["strtool", "LMDB", "scene", "text", "42", "Köln", "naïve", "ÉCOLE", "bench", "x"]


def make_images(folder: Path, n: int, seed: int = 0) -> Path:
    """Write n 100x32 images (every 4th as JPEG) and `gt.txt`; return the gt path."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        word = rng.choice(WORDS) + str(i % 97)
        bg = tuple(rng.randrange(150, 256) for _ in range(3))
        im = Image.new("RGB", (100, 32), bg)
        d = ImageDraw.Draw(im)
        d.text((rng.randrange(0, 20), rng.randrange(0, 12)), word, fill=(0, 0, 0))
        for _ in range(30):
            d.point((rng.randrange(100), rng.randrange(32)), fill=(rng.randrange(256),) * 3)
        name = f"{i:06d}.jpg" if i % 4 == 0 else f"{i:06d}.png"
        im.save(folder / name, quality=90) if name.endswith("jpg") else im.save(folder / name)
        lines.append(f"{name}\t{word}")
    gt = folder / "gt.txt"
    gt.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return gt


def reference(gt: Path, out: Path) -> int:
    """Minimal writer: plain puts, no checks, one transaction."""
    env = lmdb.open(str(out), map_size=1 << 30)
    n = 0
    with env.begin(write=True) as txn:
        for line in gt.read_text(encoding="utf-8").splitlines():
            rel, label = line.split("\t", 1)
            n += 1
            txn.put(b"image-%09d" % n, (gt.parent / rel).read_bytes())
            txn.put(b"label-%09d" % n, label.encode())
        txn.put(b"num-samples", str(n).encode())
    env.close()
    return n


def cpu_seconds() -> float:
    """User + system CPU of this process and of its reaped children."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn, *args, **kwargs) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds, result) of `fn(*args, **kwargs)`."""
    c, t = cpu_seconds(), time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t, cpu_seconds() - c, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "img").mkdir()
        gt = make_images(root / "img", args.n)
        ref, ours = [], []
        for r in range(args.repeat):
            ref.append(timed(reference, gt, root / f"ref{r}"))
            ours.append(timed(make_lmdb, gt, root / f"ours{r}", check=True, workers=args.workers))
            res = ours[-1][2]
            assert res.written == args.n, res.skipped  # type: ignore[attr-defined]
        ref_s, ours_s = min(x[0] for x in ref), min(x[0] for x in ours)
        ref_c, ours_c = min(x[1] for x in ref), min(x[1] for x in ours)
        shown = f"{args.workers} (auto: {auto_workers()} now)" if not args.workers else args.workers
        print(f"images: {args.n}  workers: {shown}  (best of {args.repeat})")
        print(f"reference writer (no checks): {args.n / ref_s:8.0f} images/s  cpu {ref_c:.3f} s")
        print(f"make_lmdb --check           : {args.n / ours_s:8.0f} images/s  cpu {ours_c:.3f} s")
        print(f"ratio (make_lmdb time / reference time): {ours_s / ref_s:.2f}x")
        print(f"cpu ratio (all processes)              : {ours_c / ref_c:.2f}x")


if __name__ == "__main__":
    main()
