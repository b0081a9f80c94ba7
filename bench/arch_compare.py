"""Accuracy per CPU-hour of candidate recognisers, trained on the same streamed data.

Each variant (an architecture, optionally with `--set` overrides such as bf16 autocast)
is trained with `strtool train` from the same preset, seed and sample stream, and
validated on the same held-out set every `--val-every` steps. While a run goes, the
CPU time of its whole process tree (trainer plus its stream-rendering workers, read from
/proc) is sampled, so every validation point is placed at the CPU-seconds spent to reach
it. The comparison is therefore at equal CPU time, not equal wall time: other processes
on the machine slow a run down but do not change the CPU it consumed (apart from cache
effects). The report prints, per variant, each validation point (step, CPU-minutes,
pooled WRR +- 95 % interval, CRR, per-language WRR) and the WRR reached within the
smallest total CPU budget of all variants.

    .venv/bin/python bench/arch_compare.py --data VAL.lmdb --out ~/runs/arch \
        --variant crnn_small --variant svtr_nano --variant h8_small \
        --variant "crnn_small_bf16=crnn_small:train.amp=bf16" \
        [--preset bench/arch_compare.yaml] [--steps 800] [--val-every 200] [--parallel 2]
    .venv/bin/python bench/arch_compare.py --quick --data VAL.lmdb  # smoke run (tiny models)

A variant is `ARCH` or `NAME=ARCH:key=value,key=value` (`--set` overrides). Runs already
finished in `--out` are read back, not retrained, so an interrupted comparison resumes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cputime import tree_cpu_seconds

from strtool.evaluation.intervals import wilson

HERE = Path(__file__).resolve().parent


@dataclass
class Variant:
    name: str
    arch: str
    sets: list[str] = field(default_factory=list)


def parse_variant(spec: str) -> Variant:
    name, _, rest = spec.partition("=")
    if not rest:
        return Variant(name, name)
    arch, _, sets = rest.partition(":")
    return Variant(name, arch, [s for s in sets.split(",") if s])


def val_records(run: Path) -> list[dict[str, Any]]:
    path = run / "metrics.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("kind") == "val":
            out.append(rec)
    return out


def launch(v: Variant, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    run = args.out / v.name
    cmd = [
        str(Path(sys.executable).with_name("strtool")),
        "train",
        "-c",
        str(args.preset),
        "-o",
        str(run),
        "--quiet",
        "--set",
        f"model.arch={v.arch}",
        "--set",
        f"train.steps={args.steps}",
        "--set",
        f"train.val_every={args.val_every}",
        "--set",
        f"train.threads={args.threads}",
        "--set",
        f"data.workers={args.workers}",
        "--set",
        f"data.val=[{args.data}]",
    ]
    for s in [*args.set, *v.sets]:
        cmd += ["--set", s]
    if (run / "last.pt").exists():
        cmd += ["--resume"]
        cmd = [c for c in cmd if c not in ("-c", str(args.preset))]
    log = open(args.out / f"{v.name}.log", "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def run_all(variants: list[Variant], args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    """Train every unfinished variant (`--parallel` at a time); return CPU-placed points."""
    args.out.mkdir(parents=True, exist_ok=True)
    points_file = args.out / "cpu_points.json"
    points: dict[str, list[dict[str, float]]] = (
        json.loads(points_file.read_text()) if points_file.exists() else {}
    )
    todo = [v for v in variants if not (args.out / v.name / "DONE").exists()]
    running: dict[str, tuple[subprocess.Popen[bytes], Variant, float]] = {}
    while todo or running:
        while todo and len(running) < args.parallel:
            v = todo.pop(0)
            pts = points.setdefault(v.name, [])
            base = pts[-1]["cpu_s"] if pts else 0.0  # a resumed run adds to what was spent
            running[v.name] = (launch(v, args), v, base)
        time.sleep(args.poll)
        for name, (proc, _v, base) in list(running.items()):
            cpu = base + tree_cpu_seconds(proc.pid)
            pts = points[name] = [p for p in points[name] if p["step"] >= 0]
            have = {int(p["step"]) for p in pts}
            for rec in val_records(args.out / name):
                if int(rec["step"]) not in have:  # type: ignore[call-overload]
                    pts.append(point(rec, cpu))
            pts.append({"step": -1, "cpu_s": cpu})  # running total, replaced next poll
            if proc.poll() is not None:
                pts.pop()
                if proc.returncode == 0:
                    (args.out / name / "DONE").write_text(f"{cpu:.1f}\n")
                else:
                    print(f"{name}: strtool train exited {proc.returncode}, see its log")
                del running[name]
        points_file.write_text(json.dumps(points, indent=1))
    for name in points:
        points[name] = [p for p in points[name] if p["step"] >= 0]
    return points


def point(rec: dict[str, Any], cpu: float) -> dict[str, float]:
    """A validation record placed at `cpu` CPU-seconds: step, pooled WRR with its 95 %
    Wilson interval, CRR, and WRR per language."""
    report = rec.get("report") or {}
    rows = {row["group"]: row for row in report.get("rows", [])}
    n = int(rows.get("pooled", {}).get("n", 0))
    wrr = float(rec["wrr"])
    lo, hi = wilson(round(wrr * n), n)
    out = {"step": float(rec["step"]), "cpu_s": cpu, "n": float(n), "wrr": wrr}
    out |= {"wrr_lo": lo, "wrr_hi": hi, "crr": float(rec["crr"])}
    for group, row in rows.items():
        if group not in ("pooled", "macro"):
            out[f"lang_{group}"] = float(row["wrr"])
    return out


def report(points: dict[str, list[dict[str, float]]]) -> None:
    finished = [p for p in points.values() if p]
    if not finished:
        print("no validation points")
        return
    budget = min(p[-1]["cpu_s"] for p in finished)
    print(f"equal-CPU budget: {budget / 60:.1f} CPU-minutes (the smallest total of all variants)")
    for name, pts in points.items():
        print(f"\n{name}")
        for p in pts:
            langs = " ".join(f"{k[5:]}={v:.3f}" for k, v in p.items() if k.startswith("lang_"))
            print(
                f"  step {int(p['step']):>6}  {p['cpu_s'] / 60:7.1f} CPU-min  "
                f"WRR {p['wrr']:.3f} [{p['wrr_lo']:.3f}, {p['wrr_hi']:.3f}]  "
                f"CRR {p['crr']:.3f}  {langs}"
            )
        within = [p for p in pts if p["cpu_s"] <= budget * 1.02]
        if within:
            b = within[-1]
            rate = b["wrr"] / (b["cpu_s"] / 3600)
            print(
                f"  within budget: WRR {b['wrr']:.3f} [{b['wrr_lo']:.3f}, {b['wrr_hi']:.3f}] "
                f"({rate:.2f} WRR per CPU-hour)"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, help="held-out validation LMDB")
    ap.add_argument("--out", type=Path, default=Path("arch_compare_runs"))
    ap.add_argument("--preset", type=Path, default=HERE / "arch_compare.yaml")
    ap.add_argument("--variant", action="append", default=[])
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--val-every", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--poll", type=float, default=5.0)
    ap.add_argument("--report-only", action="store_true", help="print the saved comparison")
    ap.add_argument("--set", action="append", default=[], help="override for every variant")
    ap.add_argument("--quick", action="store_true", help="smoke run with tiny models")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.val_every, args.poll, args.parallel = 30, 15, 1.0, 2
        args.set = [*args.set, "train.batch_size=16", "eval.batch_size=64"]
        args.variant = args.variant or ["crnn_tiny", "h8_tiny"]
        if args.data is None:
            sys.exit("--quick still needs --data (any small labelled LMDB)")
    if args.data is None or not args.variant:
        sys.exit("give --data and at least one --variant")
    variants = [parse_variant(s) for s in args.variant]
    if args.report_only:
        saved = json.loads((args.out / "cpu_points.json").read_text())
        points = {}
        for v in variants:
            recs = {int(r["step"]): r for r in val_records(args.out / v.name)}
            cpu = {int(p["step"]): p["cpu_s"] for p in saved.get(v.name, []) if p["step"] >= 0}
            points[v.name] = [point(recs[s], cpu[s]) for s in sorted(cpu) if s in recs]
    else:
        points = run_all(variants, args)
    report(points)


if __name__ == "__main__":
    main()
