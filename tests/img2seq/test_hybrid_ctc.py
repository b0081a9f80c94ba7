"""Hybrid CTC/attention training of img2seq line models (`img2seq.ctc_weight`): the
loss is the stated weighted sum (checked against torch's concatenated-target CTC), the CTC
head trains and is stored, reading ignores it, and a page model initialised from a
hybrid line model leaves the head behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from strtool.data.lmdb_io import LmdbReader
from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.config import load_run_config
from strtool.models.img2seq import Img2Seq
from strtool.tasks.img2seq import Img2SeqTask

from .conftest import LINES, cli, train_line


def test_hybrid_loss_is_the_weighted_sum(line_lmdb: Path) -> None:
    cfg = load_run_config("img2seq_line_tiny", ["img2seq.ctc_weight=0.4", "data.charset=en"])
    task = Img2SeqTask(cfg)
    model = task.model
    assert isinstance(model, Img2Seq) and model.ctc is not None
    db = LmdbReader(line_lmdb)
    images = torch.stack([task.transform(db.image(i)) for i in range(len(db))])
    labels = [db.label(i) for i in range(len(db))]
    model.eval()  # no dropout: the two computations see the same network
    with torch.no_grad():
        loss = task.loss(model, (images, labels, [None] * len(labels)), torch.device("cpu"))
        enc = task.tokenizer.encode(labels)
        logits, ctc = model(images, enc.targets[:, :-1], with_ctc=True)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), enc.targets[:, 1:].reshape(-1),
                             ignore_index=task.tokenizer.pad)  # fmt: skip
        # each row's tokens, concatenated (torch's other target form), taken by length
        flat = torch.cat([enc.targets[i, 1 : 1 + int(n)] for i, n in enumerate(enc.lengths)])
        lp = ctc.log_softmax(-1).transpose(0, 1)
        frames = torch.full((len(labels),), ctc.shape[1], dtype=torch.long)
        by_hand = F.ctc_loss(lp, flat, frames, enc.lengths, blank=task.tokenizer.pad)
    assert ctc.shape == (len(labels), 2 * 256 // 8, task.tokenizer.num_classes)
    torch.testing.assert_close(loss, 0.6 * ce + 0.4 * by_hand)


def test_hybrid_ctc_targets_of_right_to_left_lines_are_visual() -> None:
    """The CTC head reads columns left to right, so an Arabic line's CTC target is its
    visual order; the attention decoder keeps the logical order."""
    cfg = load_run_config("img2seq_line_tiny", ["img2seq.ctc_weight=0.5", "data.charset=en,ar"])
    task = Img2SeqTask(cfg)
    model = task.model
    labels = ["سلام 25 نور", "abc 12"]
    torch.manual_seed(0)
    images = torch.rand(2, 1, cfg.model.height, cfg.model.width)
    model.eval()
    with torch.no_grad():
        loss = task.loss(model, (images, labels, [None, None]), torch.device("cpu"))
        enc = task.tokenizer.encode(labels)
        logits, ctc = model(images, enc.targets[:, :-1], with_ctc=True)
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), enc.targets[:, 1:].reshape(-1),
                             ignore_index=task.tokenizer.pad)  # fmt: skip
        visual = ["رون 25 مالس", "abc 12"]  # as the image shows them, left to right
        vis = task.tokenizer.encode(visual)
        flat = torch.cat([vis.targets[i, 1 : 1 + int(n)] for i, n in enumerate(vis.lengths)])
        lp = ctc.log_softmax(-1).transpose(0, 1)
        frames = torch.full((2,), ctc.shape[1], dtype=torch.long)
        by_hand = F.ctc_loss(lp, flat, frames, vis.lengths, blank=task.tokenizer.pad)
    torch.testing.assert_close(loss, 0.5 * ce + 0.5 * by_hand)


@pytest.mark.slow  # trains a tiny line model (~10 s) and a page model from it
def test_hybrid_line_model_trains_reads_and_hands_on_its_encoder(
    line_lmdb: Path, page_lmdb: Path, tmp_path: Path
) -> None:
    out = tmp_path / "line"
    assert train_line(line_lmdb, out, "img2seq.ctc_weight=0.3")["best"] >= 0.95  # CRR
    ckpt = load_checkpoint(out / "best.pt")
    assert ckpt["config"]["img2seq"]["ctc_weight"] == 0.3
    assert {"ctc.weight", "ctc.bias"} <= set(ckpt["model"])
    pred = cli("predict", "--model", out / "best.pt", "--json", "-q", *_line_images(tmp_path))
    assert [r["text"] for r in json.loads(pred.stdout)] == LINES
    # joint CTC/attention decoding, chosen at read time, reads them too
    for opts in (["--joint-ctc", "0.5"], ["--joint-ctc", "0.3", "--beam", "3"]):
        pred = cli("predict", "--model", out / "best.pt", "--json", "-q", *opts,
                   *_line_images(tmp_path))  # fmt: skip
        assert [r["text"] for r in json.loads(pred.stdout)] == LINES, opts
    ev = cli("eval", "--model", out / "best.pt", "--data", line_lmdb, "--json", "-q",
             "--joint-ctc", "0.5")  # fmt: skip
    pooled = next(r for r in json.loads(ev.stdout)["rows"] if r["group"] == "pooled")
    assert pooled["crr"] >= 0.95
    # the page stage (no CTC: pages are 2-D) takes everything but the head
    page = tmp_path / "page"
    cli("train", "-c", "img2seq_page_tiny", "-o", page, "--quiet", "--init", out / "best.pt",
        "--set", f"data.train=[{page_lmdb}]", "--set", "train.steps=2",
        "--set", "train.batch_size=2", "--set", "train.threads=1")  # fmt: skip
    assert not any(k.startswith("ctc.") for k in load_checkpoint(page / "last.pt")["model"])


def _line_images(tmp_path: Path) -> list[Path]:
    from .conftest import render_text

    paths = []
    for i, text in enumerate(LINES):
        p = tmp_path / f"line{i}.png"
        p.write_bytes(render_text(text))
        paths.append(p)
    return paths


def test_read_time_decoding_options_are_refused_where_they_do_not_apply(
    line_run: tuple[Path, dict], tmp_path: Path
) -> None:
    """`--joint-ctc` needs a CTC head; a CTC checkpoint has neither option. One line,
    exit 1."""
    image = _line_images(tmp_path)[0]
    res = cli("predict", "--model", line_run[0] / "last.pt", "--joint-ctc", "0.5", image, code=1)
    assert "--joint-ctc: this img2seq model has no CTC head" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = cli("predict", "--beam", "4", image, code=1)  # the shipped CTC model
    assert "--beam / --joint-ctc: a ctc checkpoint has no such decoding options" in res.stderr
    res = cli("predict", "--model", line_run[0] / "last.pt", "--beam", "2", "--json", image)
    assert json.loads(res.stdout)[0]["text"] == LINES[0]
