"""Formatting of the figures the benches print."""

from __future__ import annotations

from typing import Any


def wrr_crr(s: dict[str, Any]) -> str:
    """`WRR [95 % CI] / CRR [95 % CI]` in percent from an eval summary (`wrr`, `wrr_95`,
    `crr`, `crr_95` as fractions, as `strtool eval --json` and `evaluate_model` give)."""
    (lo, hi), (clo, chi) = s["wrr_95"], s["crr_95"]
    return (f"{100 * s['wrr']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] / "
            f"{100 * s['crr']:.1f} [{100 * clo:.1f}, {100 * chi:.1f}]")  # fmt: skip
