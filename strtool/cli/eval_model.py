"""Model mode of `strtool eval`: `--model CKPT --data LMDB...`.

`strtool.cli.evaluate.eval_cmd` owns the options and dispatches here. CTC checkpoints
(CRNN, SVTR) are scored by `strtool.engine.evaluate.evaluate_model`, which returns the
shared metrics `Report` (printed by `print_report`, with `--errors` / `--dump` as in
file mode) plus ms per image and parameters; mSTR checkpoints (Spotter / Refiner) are
routed to `strtool mstr eval`.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from strtool.cli.common import info, out_console, print_json
from strtool.errors import InputError
from strtool.text.langs import resolve_langs

_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


def check_device(device: str) -> str:
    """`auto`, `cpu`, `cuda` or `cuda:N`; CUDA asked for but absent -> `InputError`."""
    if not _DEVICE.match(device):
        raise InputError(f"--device '{device}': use auto, cpu, cuda or cuda:N")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: CUDA is not available on this machine")
    return device


def eval_model(
    model: Path,
    data: list[Path],
    langs: str | None,
    profile: str,
    unit: str,
    script_acc: bool,
    batch_size: int,
    device: str,
    max_samples: int | None,
    errors: int,
    dump: Path | None,
    json_out: bool,
    quiet: bool,
) -> None:
    """Evaluate a checkpoint on LMDBs and print the per-language table (or JSON)."""
    from strtool.cli.evaluate import dump_worst, print_report, print_worst
    from strtool.cli.mstr import is_mstr_model

    if not data:
        raise InputError("--model needs at least one --data LMDB")
    for d in data:
        if not Path(d).exists():
            raise InputError(f"--data {d}: no such LMDB")
    check_device(device)
    lang_list = [x for x in langs.split(",") if x.strip()] if langs else None
    if lang_list:
        resolve_langs(lang_list)  # unknown codes fail before any work
    if is_mstr_model(model):
        from strtool.cli.mstr import eval_cmd as mstr_eval

        return mstr_eval(
            model=model, data=data, langs=langs, profile=profile, batch_size=batch_size,
            max_samples=max_samples, device=device, json_=json_out, quiet=quiet,
        )  # fmt: skip
    from strtool.engine.evaluate import evaluate_model

    info(f"evaluating {model} on {len(data)} LMDB(s)", quiet)
    ev = evaluate_model(
        model, data, lang_list, batch_size, profile, device, 0, max_samples, unit, script_acc
    )
    if json_out:
        print_json(ev.to_dict())
    else:
        print_report(ev.report)
        out_console.print(
            f"model {ev.arch}, {ev.params:,} parameters, {ev.ms_per_image:.3f} ms per image "
            f"(batch {batch_size}, {ev.device}, model + decode)",
            highlight=False,
        )
    if ev.filtered:
        removed = ", ".join(f"{v} {k}" for k, v in ev.filtered.items())
        info(f"samples not evaluated: {removed}", quiet)
    if errors:
        print_worst(ev.report.worst(errors))
    if dump is not None:
        worst = ev.report.worst(errors or ev.report.pooled.n)
        dump_worst(worst, dump)
        info(f"wrote {len(worst)} samples to {dump}", quiet)
