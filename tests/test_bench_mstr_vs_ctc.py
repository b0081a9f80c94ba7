"""bench/mstr_vs_ctc.py: step calibration ignores warm-up (it once measured 10x slow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench_modules import load_bench


def test_steps_for_excludes_setup_and_slow_first_steps(monkeypatch: Any) -> None:
    """A fake CPU clock (no real work): setup 0.3 s, two slow 0.2 s steps, then 0.01 s
    steps. The calibrated step time must be the steady 0.01 s (10 s -> 1000 steps); a
    mean over the whole probe would give about 0.04 s (250 steps)."""
    bench = load_bench("mstr_vs_ctc")
    clock = {"t": 100.0}
    monkeypatch.setattr(bench, "tree_cpu_seconds", lambda: clock["t"])

    def fake_train(steps: int, output: Path, on_event: Any = None) -> None:
        clock["t"] += 0.3  # setup (model build, loader start)
        for i in range(steps):
            clock["t"] += 0.2 if i < 2 else 0.01  # slow first batches, then steady
            on_event({"kind": "train", "step": i + 1})

    steps = bench.steps_for(fake_train, seconds=10.0, probe_steps=12, warmup=4)
    assert 990 <= steps <= 1000  # float rounding of the 0.01 s gaps
