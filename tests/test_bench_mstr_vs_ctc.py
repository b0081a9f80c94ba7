"""bench/mstr_vs_ctc.py: step calibration ignores warm-up (it once measured 10x slow)."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from strtool.paths import REPO_ROOT


def _bench() -> Any:
    path = REPO_ROOT / "bench" / "mstr_vs_ctc.py"
    spec = importlib.util.spec_from_file_location("mstr_vs_ctc", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_steps_for_excludes_setup_and_slow_first_steps() -> None:
    def fake_train(steps: int, output: Path, on_event: Any = None) -> None:
        time.sleep(0.3)  # setup (model build, loader start)
        for i in range(steps):
            time.sleep(0.2 if i < 2 else 0.01)  # slow first batches, then steady
            on_event({"kind": "train", "step": i + 1})

    steps = _bench().steps_for(fake_train, seconds=10.0, probe_steps=12, warmup=4)
    assert 500 <= steps <= 1000  # ~0.01 s/step; a mean over the probe gives ~100
