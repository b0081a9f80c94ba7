"""Model mode of `strtool eval`: `--model CKPT --data LMDB...`, for every model family.

`strtool.cli.evaluate.eval_cmd` owns the options and the printing; this module checks
the model-mode options and runs `strtool.engine.evaluate.evaluate_model` (one reader
for every checkpoint), returning its `CheckpointEvaluation`.
"""

from __future__ import annotations

from pathlib import Path

from strtool.cli.common import check_device, info
from strtool.engine.evaluate import CheckpointEvaluation, evaluate_reader
from strtool.engine.reader import open_reader
from strtool.errors import InputError
from strtool.tasks.base import DecodingOptions
from strtool.text.langs import resolve_langs


def run_model_eval(
    model: Path,
    data: list[Path],
    langs: str | None,
    profile: str | None,
    unit: str,
    script_acc: bool,
    batch_size: int,
    device: str,
    max_samples: int | None,
    quiet: bool,
    decoding: DecodingOptions | None = None,
    segment: bool = False,
) -> CheckpointEvaluation:
    """Check the options, evaluate checkpoint `model` on LMDBs `data`, report what was
    filtered out on stderr, and return the evaluation."""
    if not data:
        raise InputError("--model needs at least one --data LMDB")
    for d in data:
        if not Path(d).exists():
            raise InputError(f"--data {d}: no such LMDB")
    check_device(device)
    lang_list = [x for x in langs.split(",") if x.strip()] if langs else None
    if lang_list:
        resolve_langs(lang_list)  # unknown codes fail before any work
    reader = open_reader(model, device, decoding=decoding)
    how = ", pages read line by line" if segment else ""
    info(f"evaluating {model} ({reader.family}) on {len(data)} LMDB(s){how}", quiet)
    ev = evaluate_reader(
        reader, data, lang_list, batch_size, profile, 0, max_samples, unit, script_acc, segment
    )
    if ev.filtered:
        removed = ", ".join(f"{v} {k}" for k, v in ev.filtered.items())
        info(f"samples not evaluated: {removed}", quiet)
    return ev
