"""DistributedDataParallel with gloo: two CPU processes under torchrun end with
identical weights, and only rank 0 writes checkpoints and logs."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # two processes start torch and train


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(db: Path, out: Path, *overrides: str, procs: int = 2, **env_extra: str) -> None:
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1", **env_extra}
    # `torchrun` is torch.distributed.run: run it from this interpreter (never skipped)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(procs),
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           str(worker), str(db), str(out), *overrides]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _same_weights_on_both_ranks(tmp_path: Path) -> dict[str, torch.Tensor]:
    """Assert that the two ranks saved identical parameters; rank 0's weights."""
    w0 = torch.load(tmp_path / "weights-rank0.pt", weights_only=True)
    w1 = torch.load(tmp_path / "weights-rank1.pt", weights_only=True)
    params = [k for k in w0 if "running_" not in k and "num_batches" not in k]
    assert len(params) > 10
    for k in params:  # BN running stats are per-rank (DDP broadcasts rank 0's each step)
        torch.testing.assert_close(w1[k], w0[k], rtol=0, atol=0, msg=k)
    return w0


def test_two_process_gloo_training(tiny_lmdb: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    _torchrun(tiny_lmdb, out)
    w0 = _same_weights_on_both_ranks(tmp_path)
    files = sorted(p.name for p in out.iterdir())
    assert files == ["best.pt", "config.yaml", "curves.png", "last.pt", "metrics.jsonl"], files
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["step"] == 6
    for k, v in w0.items():  # rank 0 saved what it trained
        torch.testing.assert_close(ckpt["model"][k], v, rtol=0, atol=0, msg=k)


def test_one_process_under_torchrun_joins_a_group_and_trains_with_ddp(
    tiny_lmdb: Path, tmp_path: Path
) -> None:
    """`torchrun --nproc_per_node 1` runs the cluster code path (process group, DDP),
    as on a one-GPU node (NCCL there, gloo here), and says so in the log."""
    out = tmp_path / "run"
    _torchrun(tiny_lmdb, out, procs=1)
    setup = json.loads((out / "metrics.jsonl").read_text().splitlines()[0])
    assert setup["kind"] == "setup" and setup["processes"] == 1 and setup["ddp"] == "gloo"
    w = torch.load(tmp_path / "weights-rank0.pt", weights_only=True)
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["step"] == 6
    for k, v in w.items():  # the unwrapped model, not DDP's `module.` names
        torch.testing.assert_close(ckpt["model"][k], v, rtol=0, atol=0, msg=k)


def test_two_process_gloo_semi_training(tiny_lmdb: Path, tmp_path: Path) -> None:
    """Consistency + contrastive under DDP: the student (recogniser and projection
    head) stays identical on both ranks, and rank 0 checkpoints the EMA teacher."""
    out = tmp_path / "run"
    _torchrun(tiny_lmdb, out, f"data.unlabeled=[{tiny_lmdb}]", "data.unlabeled_ratio=0.5",
              "semi.method=contrastive+consistency", "semi.threshold=0.5")  # fmt: skip
    _same_weights_on_both_ranks(tmp_path)
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["step"] == 6 and ckpt["semi"]["method"] == "contrastive+consistency"
    assert set(ckpt["semi"]["teacher"]) == set(ckpt["model"]) and ckpt["semi"]["proj"]
    # each rank drew its own 2 unlabeled crops per micro-batch (16 = 32 // 2 ranks per epoch)
    assert ckpt["semi"]["drawn"] == 6 * 2


def test_two_process_gloo_img2seq_consistency(tiny_lmdb: Path, tmp_path: Path) -> None:
    """Per-token consistency of an img2seq model under DDP (teacher readings outside the
    DDP module, one student forward): both ranks end with the same weights, and a hybrid
    CTC head trains alongside."""
    out = tmp_path / "run"
    _torchrun(tiny_lmdb, out, "model.arch=img2seq_tiny", "model.height=32",
              "model.width=128", "img2seq.max_len=10", "img2seq.ctc_weight=0.3",
              f"data.unlabeled=[{tiny_lmdb}]", "data.unlabeled_ratio=0.5",
              "semi.method=consistency", "semi.threshold=0.0")  # fmt: skip
    _same_weights_on_both_ranks(tmp_path)
    ckpt = torch.load(out / "last.pt", weights_only=False)
    assert ckpt["family"] == "img2seq" and ckpt["semi"]["method"] == "consistency"
    assert set(ckpt["semi"]["teacher"]) == set(ckpt["model"]) and ckpt["semi"]["drawn"] == 12


def test_two_process_gloo_training_with_the_synth_stream(tiny_lmdb: Path, tmp_path: Path) -> None:
    """Half of every batch from the `data.synth` stream under DDP: a real 2-process run
    ends with the same weights on both ranks, and rank 0 logs the stream's skip counts
    (which items each rank draws is tested on the sampler, test_stream.py)."""
    from .conftest import FONT

    corpus = tmp_path / "words.txt"
    corpus.write_text("cab\nbad\nface\nbead\ndeaf\nfade\n", encoding="utf-8")
    out = tmp_path / "run"
    _torchrun(tiny_lmdb, out, "data.synth.weight=0.5", "data.synth.langs=en",
              f"data.synth.fonts=[{FONT}]", f"data.synth.corpus=[{corpus}]")  # fmt: skip
    _same_weights_on_both_ranks(tmp_path)
    assert torch.load(out / "last.pt", weights_only=False)["step"] == 6
    logs = (out / "metrics.jsonl").read_text(encoding="utf-8")
    assert '"stream_skipped"' in logs


def test_sigterm_on_one_rank_stops_both_at_the_same_step(tiny_lmdb: Path, tmp_path: Path) -> None:
    """Only rank 1 is signalled (after step 4): the ranks agree on the step, rank 0
    saves it (between the periodic checkpoints at 3 and 6) and both stop cleanly."""
    out = tmp_path / "run"
    _torchrun(tiny_lmdb, out, SIGTERM_RANK1_AT="4")
    for rank in (0, 1):
        msg = (tmp_path / f"stopped-rank{rank}.txt").read_text()
        assert "stopped by SIGTERM after step 4 of 6" in msg, msg
    assert torch.load(out / "last.pt", weights_only=False)["step"] == 4
