"""Speed of `strtool eval --pred --gt` on 100,000 synthetic pred/gt pairs.

Generates words over seven script groups (Latin with accents and case, Arabic with
harakat, Devanagari and Bengali with matras/viramas, Han, kana, Hangul) with
realistic recogniser noise (60 % exact, 1-3 unit edits, case slips, 2 % empty, 1 %
missing keys), writes `pred.tsv` / `gt.tsv` into a temp dir, then prints:

- the library path `evaluate_files` (read, normalise, score, group), best of 3,
  for code points and graphemes;
- the CLI end to end once via subprocess (interpreter start and imports included);
- a naive pure-Python pipeline (split, dict match, NFC, DP edit distance) on a
  5,000-sample subset, extrapolated to 100k, and the speed-up ratio.

Run: /work/venv/bin/python bench/eval_speed.py [--n 100000] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

from strtool.evaluation.files import evaluate_files
from strtool.text.script import detect_group


def _rng_chars(a: int, b: int) -> list[str]:
    return [chr(c) for c in range(a, b + 1) if unicodedata.category(chr(c)).startswith("L")]


LAT = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéèàüöçñ")
ARA = _rng_chars(0x0621, 0x064A)
HARAKAT = [chr(c) for c in range(0x064B, 0x0651)]
DEVA = _rng_chars(0x0915, 0x0939)
DEVA_MARKS = [chr(c) for c in (0x093E, 0x093F, 0x0940, 0x0941, 0x0947, 0x094B, 0x0902, 0x094D)]
BENG = _rng_chars(0x0995, 0x09B9)
BENG_MARKS = [chr(c) for c in (0x09BE, 0x09BF, 0x09C0, 0x09C1, 0x09C7, 0x09CB, 0x09CD)]
HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
KANA = [chr(c) for c in range(0x3041, 0x3097)] + [chr(c) for c in range(0x30A1, 0x30FB)]
HANGUL = [chr(c) for c in range(0xAC00, 0xAC00 + 2350)]


def _unit(r: random.Random, script: str) -> str:
    if script == "LAT":
        return r.choice(LAT)
    if script == "ARA":
        return r.choice(ARA) + (r.choice(HARAKAT) if r.random() < 0.2 else "")
    if script in ("HIN", "BEN"):
        base, marks = (DEVA, DEVA_MARKS) if script == "HIN" else (BENG, BENG_MARKS)
        return r.choice(base) + (r.choice(marks) if r.random() < 0.5 else "")
    return r.choice({"CHI": HAN, "JPN": KANA, "KOR": HANGUL}[script])


def _word(r: random.Random, script: str) -> str:
    n = r.randint(1, 4) if script in ("CHI", "JPN", "KOR") else r.randint(2, 10)
    return unicodedata.normalize("NFC", "".join(_unit(r, script) for _ in range(n)))


def _noisy(r: random.Random, gt: str, script: str) -> str:
    x = r.random()
    if x < 0.60:
        return gt
    if x < 0.62:
        return ""
    if x < 0.65 and script == "LAT":
        return gt.swapcase()
    s = list(gt)
    for _ in range(r.randint(1, 3)):
        op, i = r.random(), r.randrange(len(s) + 1)
        if op < 0.5 and i < len(s):
            s[i] = _unit(r, script)
        elif op < 0.75:
            s.insert(i, _unit(r, script))
        elif s:
            del s[min(i, len(s) - 1)]
    return "".join(s)


def make_files(folder: Path, n: int, seed: int) -> tuple[Path, Path]:
    """Write `pred.tsv` and `gt.tsv` with `n` gt lines (1 % without prediction)."""
    r = random.Random(seed)
    scripts = ["LAT", "LAT", "ARA", "HIN", "BEN", "CHI", "JPN", "KOR"]
    gt_lines, pred_lines = [], []
    for i in range(n):
        script = r.choice(scripts)
        gt = _word(r, script)
        gt_lines.append(f"img_{i:07d}.jpg\t{gt}")
        if r.random() >= 0.01:
            pred_lines.append(f"img_{i:07d}.jpg\t{_noisy(r, gt, script)}\t{r.random():.3f}")
    gt_path, pred_path = folder / "gt.tsv", folder / "pred.tsv"
    gt_path.write_text("\n".join(gt_lines) + "\n", encoding="utf-8")
    pred_path.write_text("\n".join(pred_lines) + "\n", encoding="utf-8")
    return pred_path, gt_path


def naive_ed(a: str, b: str) -> int:
    """Textbook O(len(a) * len(b)) Levenshtein DP in pure Python."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        prev = cur
    return prev[-1]


def naive_pipeline(pred_path: Path, gt_path: Path, limit: int) -> float:
    """Seconds for a pure-Python evaluation of the first `limit` gt lines."""
    t0 = time.perf_counter()
    preds = dict(line.split("\t")[:2] for line in pred_path.read_text("utf-8").splitlines())
    gts = [line.split("\t")[:2] for line in gt_path.read_text("utf-8").splitlines()][:limit]
    by_group: dict[str, list[tuple[int, int, int, float]]] = {}
    for key, g in gts:
        p = " ".join(unicodedata.normalize("NFC", preds.get(key, "")).split())
        g = " ".join(unicodedata.normalize("NFC", g).split())
        ed = naive_ed(p, g)
        m = max(len(p), len(g))
        ned = 1 - ed / m if m else 1.0
        by_group.setdefault(detect_group(g) or "OTHER", []).append((p == g, ed, len(g), ned))
    for rows in by_group.values():
        sum(r[0] for r in rows) / len(rows)
        1 - sum(r[1] for r in rows) / max(1, sum(r[2] for r in rows))
    return time.perf_counter() - t0


def _best(fn, repeat: int = 3) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of `repeat` calls (CPU time is the fairer
    figure on a shared machine)."""
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--naive", type=int, default=5000, help="naive subset size")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pred, gt = make_files(Path(tmp), args.n, args.seed)
        rep = evaluate_files(pred, gt).report
        print(f"samples {rep.pooled.n:,}  groups {len(rep.groups)}  WRR {rep.pooled.wrr:.4f}")
        t_cp = _best(lambda: evaluate_files(pred, gt))
        t_gr = _best(lambda: evaluate_files(pred, gt, unit="grapheme"))
        t_sa = _best(lambda: evaluate_files(pred, gt, script_acc=True))
        cmd = [sys.executable, "-m", "strtool", "eval", "--pred", str(pred), "--gt", str(gt)]
        t0 = time.perf_counter()
        subprocess.run([*cmd, "--json", "-q"], check=True, capture_output=True)
        t_cli = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import strtool.cli"], check=True)
        t_start = time.perf_counter() - t0
        k = min(args.naive, args.n)
        t_naive = naive_pipeline(pred, gt, k) * args.n / k
    for name, (wall, cpu) in (("codepoint", t_cp), ("grapheme", t_gr), ("+ script acc", t_sa)):
        print(f"library evaluate_files, {name:13s}: wall {wall:.3f} s, cpu {cpu:.3f} s")
    print(f"CLI subprocess end to end (with start) : wall {t_cli:.3f} s")
    print(f"  of which interpreter + 'import strtool.cli': wall {t_start:.3f} s")
    print(f"naive pure Python (extrapolated {k:,}->{args.n:,}): {t_naive:.3f} s")
    print(f"speed-up library vs naive (wall)        : {t_naive / t_cp[0]:.1f}x")


if __name__ == "__main__":
    main()
