"""Semi-supervised training of the img2seq family: per-token teacher targets by hand;
consistency and pseudo-label runs of a tiny line model with unlabeled line crops (the
unlabeled labels never reach a loss; one student forward per step); a killed
consistency run resumes bit-identically; contrastive learning is refused."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from strtool.data.unlabeled import make_unlabeled_lmdb
from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.config import load_run_config
from strtool.engine.loop import train
from strtool.errors import ConfigError
from strtool.models.img2seq_search import Decoded
from strtool.semi.tokens import (
    masked_token_ce,
    pad_cat,
    target_probs,
    teacher_rows,
    token_mask,
)
from strtool.text.tokenizer import AttnTokenizer

from .conftest import LINES, render_text

PAD, BOS, EOS = 0, 1, 2


class Kill(Exception):
    pass


def test_teacher_rows_and_masks_by_hand() -> None:
    rows = [
        Decoded([5, 6], [0.95, 0.5, 0.99], True),  # two tokens and EOS
        Decoded([7], [0.97, 0.8], True),
        Decoded([5, 5, 5], [0.99, 0.99, 0.99], False),
    ]  # ran on: teaches nothing
    t, p = teacher_rows(rows, BOS, EOS, PAD)
    assert t.tolist() == [[1, 5, 6, 2, 0], [1, 7, 2, 0, 0], [1, 5, 5, 5, 0]]
    assert torch.allclose(p, torch.tensor([[0.95, 0.5, 0.99, 0], [0.97, 0.8, 0, 0],
                                           [0, 0, 0, 0]]))  # fmt: skip
    real = t[:, 1:] != PAD
    cons = token_mask(p, real, 0.9, per_row=False)
    assert cons.tolist() == [[True, False, True, False], [True, False, False, False],
                             [False] * 4]  # fmt: skip
    # pseudo: row confidence = mean over tokens and EOS (0.813, 0.885, unended)
    assert token_mask(p, real, 0.85, per_row=True).tolist() == [
        [False] * 4,
        [True, True, False, False],
        [False] * 4,
    ]
    assert token_mask(p, real, 0.8, per_row=True)[0].tolist() == [True, True, True, False]
    unk = torch.tensor([False, True, False])  # e.g. row 1 holds UNK: never a pseudo-label
    assert not token_mask(p, real, 0.8, per_row=True, exclude=unk)[1].any()
    # the loss: -log p(target) on masked positions, over real positions or kept ones
    logits = torch.zeros(3, 4, 8)
    logits[0, 0, 5] = math.log(3.0)  # p(5) = 3 / 10 at position 0 of row 0
    ce0 = -math.log(3 / 10)
    ce = -math.log(1 / 8)
    n_real = 3 + 2 + 3
    got = masked_token_ce(logits, t[:, 1:], cons, real, "position")
    assert got.item() == pytest.approx((ce0 + ce + ce) / n_real)
    got = masked_token_ce(logits, t[:, 1:], cons, real, "kept")
    assert got.item() == pytest.approx((ce0 + ce + ce) / 3)
    assert masked_token_ce(logits, t[:, 1:], torch.zeros_like(cons), real, "kept").item() == 0
    # ignored ids (-100, as Refiner targets pad) outside the mask are harmless
    ignored = torch.where(real, t[:, 1:], torch.full_like(t[:, 1:], -100))
    assert masked_token_ce(logits, ignored, cons, real, "position").item() == pytest.approx(
        (ce0 + ce + ce) / n_real
    )
    # a teacher's probability of the ids it is forced on
    probs = target_probs(logits, ignored, real)
    assert probs[0, 0].item() == pytest.approx(0.3) and probs[0, 3].item() == 0
    assert probs[1, 1].item() == pytest.approx(1 / 8)
    assert pad_cat(t[:1, :3], t, PAD).shape == (4, 5)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Labeled lines, and unlabeled crops of other lines (a labeled LMDB read as
    unlabeled, whose labels must stay unread, and a folder made unlabeled)."""
    from .conftest import write_lmdb

    root = tmp_path_factory.mktemp("semi_i2s")
    folder = root / "crops"
    folder.mkdir()
    for i, line in enumerate(LINES):
        (folder / f"{i}.png").write_bytes(render_text(line[::-1]))
    return {"train": write_lmdb(root / "train", LINES),
            "secret": write_lmdb(root / "secret", ["zzz qq", "qzq zz"] * 3),
            "bare": make_unlabeled_lmdb(folder, root / "bare").output}  # fmt: skip


def _cfg(data: dict[str, Path], method: str, *extra: str):  # type: ignore[no-untyped-def]
    return load_run_config("img2seq_line_tiny", [
        f"data.train=[{data['train']}]", f"data.unlabeled=[{data['secret']},{data['bare']}]",
        "data.workers=0", "train.threads=1", "train.batch_size=6", "train.log_every=1",
        "train.val_every=1000", "train.ckpt_every=3", f"semi.method={method}",
        "semi.rampup=2", "semi.threshold=0.0", "semi.pseudo_threshold=0.0",
        "semi.ema_decay=0.9", "semi.refresh_every=2", "data.unlabeled_ratio=0.5",
        "img2seq.max_len=12", *extra,
    ])  # fmt: skip


@pytest.mark.parametrize("method", ["consistency", "pseudo"])
def test_img2seq_semi_runs_read_labels_of_the_labeled_set_only(
    method: str, data: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    encode = AttnTokenizer.encode

    def spy(self: AttnTokenizer, labels: list[str]):  # type: ignore[no-untyped-def]
        seen.extend(labels)
        return encode(self, labels)

    monkeypatch.setattr(AttnTokenizer, "encode", spy)
    rows: list[int] = []
    from strtool.models.img2seq import Img2Seq

    forward = Img2Seq.forward

    def counting(self: Img2Seq, images: torch.Tensor, *a, **k):  # type: ignore[no-untyped-def]
        rows.append(images.shape[0])
        return forward(self, images, *a, **k)

    monkeypatch.setattr(Img2Seq, "forward", counting)
    train(_cfg(data, method, "train.steps=3"), tmp_path / "run")
    assert set(seen) <= set(LINES) and len(seen) == 3 * 6
    assert rows == [6 + 3] * 3  # one student forward: 6 labeled + 3 unlabeled rows
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ckpt["semi"]["method"] == method and ckpt["semi"]["drawn"] == 9
    logs = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train_logs = [r for r in logs if r["kind"] == "train"]
    # threshold 0: every position (consistency) or crop (pseudo) of the teacher's readings
    # that ended is learned; an untrained teacher may run on to the length limit (nothing
    # to learn), the refreshed or averaged one of the last step ends its readings
    kept = [r["semi_kept"] for r in train_logs]
    assert all(0 <= k <= 1 for k in kept) and kept[-1] > 0, kept
    assert all(r["semi_loss"] >= 0 and math.isfinite(r["semi_loss"]) for r in train_logs)


@pytest.mark.slow  # two tiny runs of 6 steps
def test_img2seq_consistency_resumes_bit_identically(data: dict[str, Path], tmp_path: Path) -> None:
    def killer(e: dict) -> None:
        if e["kind"] == "train" and e["step"] == 4:
            raise Kill

    cfg = lambda: _cfg(data, "consistency", "train.steps=6", "img2seq.ctc_weight=0.3")  # noqa: E731
    train(cfg(), tmp_path / "a")
    with pytest.raises(Kill):
        train(cfg(), tmp_path / "b", on_event=killer)
    assert load_checkpoint(tmp_path / "b" / "last.pt")["step"] == 3
    train(cfg(), tmp_path / "b", resume=True)
    a, b = (load_checkpoint(tmp_path / r / "last.pt") for r in "ab")
    for k, v in a["model"].items():
        torch.testing.assert_close(b["model"][k], v, rtol=0, atol=0, msg=k)
    for k, v in a["semi"]["teacher"].items():
        torch.testing.assert_close(b["semi"]["teacher"][k], v, rtol=0, atol=0, msg=k)


def test_contrastive_is_for_ctc_recognisers(data: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="CTC recognisers only"):
        _cfg(data, "contrastive+consistency")
