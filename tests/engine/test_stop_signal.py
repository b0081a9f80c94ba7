"""Stopping a run on SIGTERM / Ctrl-C: the step in progress finishes, `last.pt` is
saved at that step boundary, and `--resume` continues exactly; a second signal stops
at once; SIGINT or SIGTERM to the whole process group (loader workers included) ends
`strtool train` with exit 130 / 143 and a line saying where the run stands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.config import load_run_config
from strtool.engine.loop import train
from strtool.errors import Interrupted

EXTRA = ("train.steps=30", "train.lr=3e-3", "train.ckpt_every=10", "train.log_every=1",
         "train.val_every=1000")  # fmt: skip


def _cfg(db: Path) -> Any:
    return load_run_config(None, [
        f"data.train=[{db}]", "data.workers=0", "model.arch=crnn_tiny", "train.threads=2",
        "train.batch_size=16", "train.weight_decay=0.0", *EXTRA,
    ])  # fmt: skip


def _signal_at(step: int, times: int = 1) -> Any:
    def on_event(e: dict[str, Any]) -> None:
        if e["kind"] == "train" and e["step"] == step:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGTERM)

    return on_event


@pytest.mark.slow  # three tiny training runs
def test_sigterm_saves_the_step_and_resume_matches_a_straight_run(
    tiny_lmdb: Path, tmp_path: Path
) -> None:
    straight = train(_cfg(tiny_lmdb), tmp_path / "a")
    with pytest.raises(Interrupted, match="stopped by SIGTERM after step 17 of 30") as e:
        train(_cfg(tiny_lmdb), tmp_path / "b", on_event=_signal_at(17))
    assert e.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 17  # not 10
    resumed = train(_cfg(tiny_lmdb), tmp_path / "b", resume=True)
    assert resumed.step == straight.step == 30
    a = load_checkpoint(tmp_path / "a" / "last.pt")["model"]
    b = load_checkpoint(tmp_path / "b" / "last.pt")["model"]
    for k, v in a.items():
        torch.testing.assert_close(b[k], v, rtol=0, atol=0, msg=k)
    # a second signal does not wait for the step: the last periodic checkpoint stays
    with pytest.raises(KeyboardInterrupt) as e2:
        train(_cfg(tiny_lmdb), tmp_path / "c", on_event=_signal_at(17, times=2))
    assert not isinstance(e2.value, Interrupted)
    assert load_checkpoint(tmp_path / "c" / "last.pt")["step"] == 10


def _start_training(cmd: list[str], metrics: Path) -> subprocess.Popen[str]:
    """Start a training subprocess in its own process group and return it once it
    has logged 3 steps (still running)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if metrics.is_file() and len(metrics.read_text().splitlines()) >= 3:
            break
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()
    return proc


@pytest.mark.slow  # a training subprocess with a loader worker
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_the_process_group_stops_strtool_train_cleanly(
    tiny_lmdb: Path, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    """Ctrl-C at a terminal, `pkill -f` or a batch scheduler signal every process of the
    job, the loader worker included."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "strtool", "train", "-o", str(out), "-q",
           "--set", f"data.train=[{tiny_lmdb}]", "--set", "data.workers=1",
           "--set", "model.arch=crnn_tiny", "--set", "train.threads=1",
           "--set", "train.batch_size=8", "--set", "train.steps=100000",
           "--set", "train.log_every=1", "--set", "train.ckpt_every=100000",
           "--set", "train.val_every=100000"]  # fmt: skip
    proc = _start_training(cmd, out / "metrics.jsonl")
    os.killpg(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["step"]
    assert f"stopped by {sig.name} after step {last} of 100000" in " ".join(err.split())
    assert "Traceback" not in err
    assert load_checkpoint(out / "last.pt")["step"] == last


@pytest.mark.slow  # a training subprocess with a loader worker
def test_a_library_caller_that_lets_interrupted_propagate_still_exits(
    tiny_lmdb: Path, tmp_path: Path
) -> None:
    """`train()` stops its loader workers itself: a script that does not catch
    `Interrupted` prints its traceback and exits, instead of waiting at interpreter exit
    for workers that ignore the SIGTERM multiprocessing sends them."""
    out = tmp_path / "run"
    script = (
        "import sys\n"
        "from strtool.engine.config import load_run_config\n"
        "from strtool.engine.loop import train\n"
        "cfg = load_run_config(None, sys.argv[2:])\n"
        "train(cfg, sys.argv[1])\n"
    )
    cmd = [sys.executable, "-c", script, str(out), f"data.train=[{tiny_lmdb}]",
           "data.workers=1", "model.arch=crnn_tiny", "train.threads=1", "train.batch_size=8",
           "train.steps=100000", "train.log_every=1", "train.ckpt_every=100000",
           "train.val_every=100000"]  # fmt: skip
    proc = _start_training(cmd, out / "metrics.jsonl")
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("the process did not exit after its run was saved")
    assert proc.returncode == 1 and "Interrupted: stopped by SIGTERM" in err, err
    assert load_checkpoint(out / "last.pt")["step"] >= 3
