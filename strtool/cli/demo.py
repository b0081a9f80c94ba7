"""`strtool demo`: render a small seven-script set, train a tiny model on the CPU,
evaluate it per language and write a report folder (see `strtool.demo`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, TaskID
from rich.table import Table
from rich.text import Text

from strtool.cli.common import (
    JsonOpt,
    QuietOpt,
    handle_errors,
    info,
    make_progress,
    out_console,
    print_json,
    whole_numbers,
)
from strtool.errors import InputError


class _Progress:
    """Turns demo events into progress bars and info lines on stderr."""

    def __init__(self, progress: Progress, quiet: bool) -> None:
        self.p, self.quiet = progress, quiet
        self.tasks: dict[str, TaskID] = {}

    def _bar(self, name: str, total: int) -> TaskID:
        if name not in self.tasks:
            self.tasks[name] = self.p.add_task(name, total=total, rate="")
        return self.tasks[name]

    def __call__(self, e: dict[str, Any]) -> None:
        kind = e["kind"]
        if kind == "stage":
            info(e["message"], self.quiet)
        elif kind == "synth":
            self.p.update(self._bar(f"render {e['set']}", e["total"]), completed=e["done"])
        elif kind == "synth_done" and e.get("reused"):
            info(f"{e['set']}: reusing the finished LMDB", self.quiet)
        elif kind == "train_start":
            verb = "resuming" if e["resume"] else "training"
            how = (
                f"{e['threads']} thread(s), {'bf16 autocast' if e['amp'] == 'bf16' else 'float32'}"
            )
            info(f"{verb}: {e['steps']} steps ({how})", self.quiet)
        elif kind == "train":
            rate = f"loss {e['loss']:.3f} {e['img_s']:.0f} img/s"
            self.p.update(self._bar("train", e["total_steps"]), completed=e["step"], rate=rate)
        elif kind == "val":
            info(f"step {e['step']}: val WRR {e['wrr']:.3f} CRR {e['crr']:.3f}", self.quiet)


def _table(result: Any) -> Table:
    table = Table(title="strtool demo: per-language results (best checkpoint)")
    cols = ["lang", "val n", "WRR", "WRR-nc", "CRR", "1-NED", "unseen n", "WRR", "CRR"]
    for i, c in enumerate(cols):
        table.add_column(c, justify="left" if i == 0 else "right")
    unseen = {r.name: r for r in result.unseen.rows}
    for r in result.val.rows:
        if r.name == "pooled":
            table.add_section()
        u = unseen.get(r.name)
        cells = [f"{100 * v:.1f}" for v in (r.wrr, r.wrr_nocase, r.crr, r.ned)]
        ucells = [str(u.n), f"{100 * u.wrr:.1f}", f"{100 * u.crr:.1f}"] if u else ["-"] * 3
        table.add_row(Text(r.name), str(r.n), *cells, *ucells)
    return table


def _summary(result: Any) -> str:
    t = result.seconds
    early = " (stopped by the time guard)" if result.stopped_early else ""
    return (
        f"model {result.params:,} parameters, {result.steps}/{result.total_steps} steps"
        f"{early}, {result.samples_seen:,} samples seen at {result.train_img_s:.0f} img/s, "
        f"{result.ms_per_image:.2f} ms per image\n"
        f"time: data {t['data']:.0f} s, training {t['train']:.0f} s, report "
        f"{t['report']:.0f} s; report in {result.output / 'report'}"
    )


@handle_errors
def demo_cmd(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Demo folder (re-run to resume).")
    ] = Path("strtool-demo"),
    minutes: Annotated[
        float, typer.Option("--minutes", "-m", help="Training budget in minutes.")
    ] = 6.0,
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Synthesise a small seven-script set (100 words per language) with the shipped
    fonts, train a tiny CRNN on the CPU for a few minutes, evaluate it per language
    and write a report (curves, contact sheet, metrics.json, predictions.tsv, model)."""
    from strtool.demo import DemoSettings, run_demo

    if not 0.1 <= minutes <= 600:
        raise InputError(f"--minutes {minutes}: use a value between 0.1 and 600")
    with make_progress(quiet) as progress:
        result = run_demo(output, DemoSettings(minutes=minutes), _Progress(progress, quiet))
    if json_:
        print_json(result.metrics | {"report": {k: str(v) for k, v in result.files.items()}})
        return
    out_console.print(whole_numbers(_table(result)))
    out_console.print(_summary(result), highlight=False)
