"""mSTR behind the shared commands: `strtool train` routes mCLIP / Spotter / Refiner
configs here (`is_mstr_run`), `strtool predict` routes mSTR checkpoints here
(`is_mstr_model`), and `strtool mstr eval` scores a Spotter or Spotter + Refiner
checkpoint on LMDBs (WRR/CRR per language for both, script detection accuracy)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from strtool.cli.common import (
    JsonOpt,
    LangsOpt,
    QuietOpt,
    handle_errors,
    info,
    print_json,
    print_table,
    warn,
)

mstr_app = typer.Typer(help="mSTR (mCLIP -> bank -> Spotter -> Refiner) evaluation.")


def is_mstr_run(config: Path | None, overrides: list[str], output: Path, resume: bool) -> bool:
    """True if `strtool train` should run an mSTR stage: the config (or the run being
    resumed) is an mCLIP / Spotter / Refiner one."""
    if resume and config is None and (output / "last.pt").is_file():
        from strtool.engine.checkpoint import load_checkpoint
        from strtool.mstr.infer import is_mstr_checkpoint

        return is_mstr_checkpoint(load_checkpoint(output / "last.pt"))
    from strtool.mstr.config import is_mstr_config

    return config is not None and is_mstr_config(config, overrides)


def train_mstr_cmd(
    output: Path, config: Path | None, overrides: list[str], resume: bool, json_: bool, quiet: bool
) -> None:
    """The body of `strtool train` for mSTR stages (same progress and summary)."""
    from strtool.cli.train import print_training_summary, run_with_progress
    from strtool.mstr.config import load_mstr_config
    from strtool.mstr.train import resume_config, train_mstr

    if resume and config is None:
        cfg = resume_config(output, overrides)
    else:
        cfg = load_mstr_config(config, overrides)
    result = run_with_progress(
        f"train {cfg.stage}",
        cfg.train.steps,
        lambda on_event: train_mstr(cfg, output, resume=resume, on_event=on_event),
        quiet,
    )
    print_training_summary(result, json_, stage=cfg.stage)


def is_mstr_model(path: Path) -> bool:
    """True if checkpoint `path` is an mSTR one (task mclip/spotter/refiner)."""
    from strtool.engine.checkpoint import load_checkpoint
    from strtool.mstr.infer import is_mstr_checkpoint

    return is_mstr_checkpoint(load_checkpoint(path))


def predict_mstr_cmd(
    files: list[Path], model: Path, batch_size: int, device: str, json_: bool, quiet: bool
) -> None:
    """`path<TAB>text<TAB>confidence` (Refiner output when the checkpoint has one; the
    Spotter's alone otherwise); JSON gives both."""
    from strtool.mstr.infer import load_mstr, predict_images

    mm = load_mstr(model, device)
    stage = "spotter + refiner" if mm.refiner is not None else "spotter"
    info(f"{len(files)} images, mSTR {stage}, bank of {len(mm.bank)} rows", quiet)
    results, failed = [], 0
    for f in files:
        try:
            data = f.read_bytes()
            res = predict_images(mm, [data], batch_size)[0]
            results.append({"path": str(f), **res, "error": None})
        except Exception as e:  # noqa: BLE001 - one unreadable image must not stop the run
            results.append({"path": str(f), "error": f"{f}: {type(e).__name__}: {e}"})
    key = "refined" if mm.refiner is not None else "spotter"
    if json_:
        print_json(results)
    for r in results:
        if r["error"]:
            failed += 1
            warn(r["error"])
        elif not json_:
            sys.stdout.write(f"{r['path']}\t{r[key]}\t{r[key + '_conf']:.4f}\n")
    if failed:
        warn(f"{failed} image(s) could not be read")


@mstr_app.command("eval")
@handle_errors
def eval_cmd(
    model: Annotated[Path, typer.Option("--model", "-m", help="Spotter or Refiner checkpoint.")],
    data: Annotated[list[Path], typer.Option("--data", "-d", help="LMDB(s) to score.")],
    langs: LangsOpt = None,
    profile: Annotated[str, typer.Option("--profile", help="Metric profile.")] = "mstr",
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1)] = 128,
    max_samples: Annotated[int | None, typer.Option("--max-samples", help="Per language.")] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda.")] = "auto",
    json_: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """WRR / CRR per language of the Spotter alone and of Spotter + Refiner, and script
    detection accuracy (majority script of the prediction vs the sample's script)."""
    from strtool.mstr.infer import evaluate_mstr

    info(f"evaluating {model} on {len(data)} LMDB(s)", quiet)
    report = evaluate_mstr(model, data, langs, batch_size, profile, device, max_samples)
    if json_:
        print_json(report)
        return
    for key in ("spotter", "refined"):
        if key not in report:
            continue
        rep = report[key]
        rows = [[r["group"], r["n"], r["wrr"], r["crr"],
                 "-" if r.get("script_acc") is None else r["script_acc"]]
                for r in rep.get("rows", [])]  # fmt: skip
        title = f"{'Spotter' if key == 'spotter' else 'Spotter + Refiner'} ({profile})"
        print_table(rows, ["group", "n", "WRR", "CRR", "script acc"], title=title)
        sc = rep["script"]
        print_table([["script accuracy", sc["accuracy"]], ["n", sc["n"]]], ["", "value"])
    print_table([["images/s", report["img_s"]], ["bank rows", report["bank_rows"]]], ["", ""])
