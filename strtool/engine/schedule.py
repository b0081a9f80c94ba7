"""Optimiser and learning-rate schedule: AdamW (no decay on biases, norms and
embeddings) with a one-cycle schedule stepped once per optimiser step."""

from __future__ import annotations

import torch
from torch import nn
from torch.optim.lr_scheduler import OneCycleLR


def param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    """Two groups: matrices/kernels with `weight_decay`, 1-D params and position
    embeddings without. Frozen parameters are left out."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim <= 1 or name.endswith("pos_embed"):
            no_decay.append(p)
        else:
            decay.append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over the trainable parameters of `model`."""
    return torch.optim.AdamW(param_groups(model, weight_decay), lr=lr, betas=(0.9, 0.99))


def build_scheduler(
    optimizer: torch.optim.Optimizer, lr: float, total_steps: int, pct_start: float
) -> OneCycleLR:
    """One-cycle: cosine warm-up from lr/25 to `lr` over `pct_start` of the steps,
    then cosine annealing to lr/2.5e5 (torch: initial lr / final_div_factor 1e4). Call
    `step()` after each optimiser step.

    Very short runs keep both phases at least one step long (torch's OneCycleLR divides
    by the phase length), so any `total_steps` >= 1 and `pct_start` in (0, 1) work."""
    total = max(total_steps, 3)
    pct = min(max(pct_start, 2.0 / total), 1.0 - 1.0 / total)
    return OneCycleLR(
        optimizer,
        max_lr=lr,
        total_steps=total,
        pct_start=pct,
        anneal_strategy="cos",
        cycle_momentum=False,
    )
