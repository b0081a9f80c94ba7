"""Mixed precision of a training run: which autocast dtype, and whether a GradScaler."""

from __future__ import annotations

import torch

from strtool.engine.config import RunConfig


def amp_settings(cfg: RunConfig, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, use GradScaler).

    `auto` is bf16 (or fp16 + GradScaler) on CUDA and fp32 elsewhere. bf16 on CPU is
    opt-in (`train.amp=bf16`): on this project's 2-core AVX512-BF16 machine it made
    tiny-CRNN steps 1.42x faster, but a CTC run that reached val WRR 24.3% / CRR 47.7%
    after 3,000 steps in fp32 stayed at loss 5.07 (WRR 0.1%) in bf16 (same data, seed
    and schedule; `bench/mstr_vs_ctc.py` demo data, batch 32, channels_last), also with
    the BiLSTM and head kept in fp32. One seed each: not yet a proof that bf16 cannot
    work here, but reason enough not to make it the default."""
    mode = cfg.train.amp
    if mode == "auto":
        if device.type != "cuda":
            return None, False
        mode = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if mode == "none":
        return None, False
    return (torch.bfloat16, False) if mode == "bf16" else (torch.float16, device.type == "cuda")
