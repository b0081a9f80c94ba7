"""Checkpoints: atomic writes, loading with clear errors, RNG state capture, and
cascade initialisation across charsets.

A checkpoint is a `torch.save` dict (see docs/internal-api.md): `family`, `model`,
`config`, `arch`, `versions`, the family's own entries (`tokenizer` + `charset`, `bank`,
`spotter`, `prompt_tokens`), and for resume `step`, `epoch`, `cursor`, `optimizer`,
`scheduler`, `scaler`, `rng`, `best`. Every family's checkpoints are read here
(`load_checkpoint`, `checkpoint_family`), including those written before `family`
was stored.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import strtool
from strtool.errors import InputError
from strtool.outputs import atomic_file


def versions() -> dict[str, str]:
    """Versions recorded in every checkpoint."""
    return {"strtool": strtool.__version__, "torch": torch.__version__}


def save_atomic(payload: dict[str, Any], path: str | Path) -> Path:
    """`torch.save` through `strtool.outputs.atomic_file`: a crash at any point leaves
    either the old or the new file, never a torn one."""
    with atomic_file(path) as f:
        torch.save(payload, f)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint on CPU; missing or unreadable files raise `InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
        raise InputError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise InputError(f"{path}: not a strtool checkpoint (no model/config entries)")
    if checkpoint_family(ckpt) is None:
        raise InputError(f"{path}: not a strtool checkpoint (no family/task/tokenizer entry)")
    return ckpt


def checkpoint_family(ckpt: dict[str, Any]) -> str | None:
    """The model family of a checkpoint dict: its `family` entry; for checkpoints
    written before it existed, the mSTR `task` entry or `ctc` for a CTC tokenizer."""
    if isinstance(ckpt.get("family"), str):
        return str(ckpt["family"])
    if ckpt.get("task") in ("mclip", "spotter", "refiner"):
        return str(ckpt["task"])
    tok = ckpt.get("tokenizer")
    if isinstance(tok, dict) and tok.get("type", "ctc") == "ctc" and "kind" not in tok:
        return "ctc"
    return None


def weights_only_copy(ckpt: dict[str, Any], half: bool = True) -> dict[str, Any]:
    """A checkpoint without optimiser/scheduler/RNG state (for shipping or warm starts),
    floating-point weights in fp16 when `half`. It still loads for reading and `--init`."""
    drop = {"optimizer", "scheduler", "scaler", "rng", "cursor", "semi"}  # semi: teacher
    out = {k: v for k, v in ckpt.items() if k not in drop}

    def conv(sd: dict[str, Any]) -> dict[str, Any]:
        return {k: (v.half() if half and torch.is_floating_point(v) else v) for k, v in sd.items()}

    out["model"] = conv(ckpt["model"])
    if isinstance(out.get("spotter"), dict) and "model" in out["spotter"]:
        out["spotter"] = {**out["spotter"], "model": conv(out["spotter"]["model"])}
    return out


def capture_rng() -> dict[str, Any]:
    """Python, NumPy, torch CPU (and CUDA) generator states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of `capture_rng`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def init_from(
    model: nn.Module, ckpt: dict[str, Any], new_chars: list[str], head: str = "head.fc"
) -> dict[str, int]:
    """Cascade initialisation: copy every weight of `ckpt` whose name and shape match;
    for the CTC classifier `head` (rows = blank, chars..., [UNK]), copy the rows of
    characters present in both charsets and keep the fresh init for the others.
    Returns counts: `copied` tensors, `skipped` tensors, `rows` classifier rows copied."""
    src = ckpt["model"]
    dst = model.state_dict()
    old_index = {c: i + 1 for i, c in enumerate(ckpt.get("charset", []))}
    copied = skipped = rows = 0
    for name, tensor in dst.items():
        if name not in src:
            skipped += 1
            continue
        value = src[name]
        if value.shape == tensor.shape and not name.startswith(head):
            dst[name] = value.clone()
            copied += 1
        elif name.startswith(head):
            rows = _copy_rows(tensor, value, old_index, new_chars)
            copied += 1
        else:
            skipped += 1
    model.load_state_dict(dst)
    return {"copied": copied, "skipped": skipped, "rows": rows}


def _copy_rows(
    dst: torch.Tensor, src: torch.Tensor, old_index: dict[str, int], new_chars: list[str]
) -> int:
    """Copy classifier rows (dim 0) by character; row 0 (blank) always. In place."""
    if src.shape[1:] != dst.shape[1:]:
        return 0
    pairs = [(0, 0)] + [(j + 1, old_index[c]) for j, c in enumerate(new_chars) if c in old_index]
    pairs = [(j, i) for j, i in pairs if j < dst.shape[0] and i < src.shape[0]]
    for j, i in pairs:
        dst[j] = src[i]
    return len(pairs)
