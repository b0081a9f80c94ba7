"""`strtool train`: one command for every model family."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from strtool.cli.common import (
    JsonOpt,
    QuietOpt,
    handle_errors,
    info,
    make_progress,
    print_json,
    print_table,
    warn,
)


@handle_errors
def train_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="Run folder.")],
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config (a preset in configs/).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override, e.g. train.lr=3e-4.")
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUTPUT/last.pt.")] = False,
    init: Annotated[
        Path | None,
        typer.Option(
            "--init", help="Start from this checkpoint's weights ('default': the shipped model)."
        ),
    ] = None,
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train any model family (CTC: CRNN, SVTR, h8; mSTR: mCLIP, Spotter, Refiner;
    img2seq line and page models): the family comes from model.arch. Resumable; DDP
    under torchrun."""
    from strtool.engine.config import load_run_config
    from strtool.engine.loop import train
    from strtool.engine.reader import resolve_model
    from strtool.engine.setup import resume_config

    init = resolve_model(init) if init is not None else None
    overrides = list(set_ or [])
    if resume and config is None and (output / "last.pt").is_file():
        cfg = resume_config(output, overrides)
    else:
        cfg = load_run_config(config, overrides)
    result = run_with_progress(
        f"train {cfg.model.arch}",
        cfg.train.steps,
        lambda on_event: train(cfg, output, resume=resume, init=init, on_event=on_event),
        quiet,
    )
    print_training_summary(result, json_, family=cfg.family)


def run_with_progress(
    label: str, total: int, run: Callable[[Callable[[dict[str, Any]], None]], Any], quiet: bool
) -> Any:
    """Call `run(on_event)` under a progress bar fed by the engine's train/val events;
    returns what `run` returns. The bar vanishes when `run` raises, so a bad input
    leaves its one error line only."""
    with make_progress(quiet) as progress:
        task = progress.add_task(label, total=total, rate="")

        def on_event(e: dict[str, Any]) -> None:
            if e["kind"] == "train":
                rate = f"loss {e['loss']:.3f} lr {e['lr']:.2e} {e['img_s']:.0f} img/s"
                progress.update(task, completed=e["step"], rate=rate)
            elif e["kind"] == "val":
                info(f"step {e['step']}: WRR {e['wrr']:.4f} CRR {e['crr']:.4f}", quiet)
            elif e["kind"] == "init":
                rows = f" ({e['rows']} classifier rows by character)" if "rows" in e else ""
                info(f"--init: copied {e['copied']} tensors{rows}, {e['skipped']} left as "
                     "initialised", quiet)  # fmt: skip
            elif e["kind"] == "resume":
                info(f"--resume: the config differs from the stored run's in "
                     f"{', '.join(e['changed'])}", quiet)  # fmt: skip
            elif e["kind"] == "bad_sample":
                warn(f"skipped an unreadable training sample: {e['where']}: {e['reason']}")

        return run(on_event)  # a failing run leaves its error line alone (`Bar`)


def print_training_summary(result: Any, json_: bool, **extra: Any) -> None:
    """The run summary of a `TrainResult` (table, or JSON); `extra` fields follow
    `output`."""
    summary = {
        "output": str(result.output), **extra, "step": result.step, "best": result.best,
        "best_step": result.best_step, "data": result.data_report,
        "val": {k: v for k, v in result.last_val.items()
                if k not in ("report", "alternatives")},
    }  # fmt: skip
    if json_:
        print_json(summary)  # best and val rates as fractions in [0, 1]
        return
    rows: list[list[Any]] = []
    for k, v in summary.items():
        if k == "best":  # the value of eval.metric (a rate), shown in %
            rows.append(["best val % (eval.metric)", "-" if v is None else f"{100 * v:.2f}"])
        elif not isinstance(v, dict):
            rows.append([k, v])
    val = summary["val"]
    rows += [[f"val {name} %", f"{100 * val[k]:.2f}"] for k, name in _VAL_RATES.items()
             if val.get(k) is not None]  # fmt: skip
    print_table(rows, ["run", "value"], title="training (rates in %)")


#: Validation rates (fractions in `TrainResult.last_val`) the summary table shows in %.
_VAL_RATES = {"wrr": "WRR", "wrr_nocase": "WRR-nocase", "crr": "CRR", "ned": "1-NED",
              "accuracy": "accuracy", "script_acc": "script acc", "cer": "CER",
              "wer": "WER"}  # fmt: skip
