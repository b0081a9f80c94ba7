"""The Spotter is a CTC model: with `data.ctc_order: visual` (the default) it trains on
right-to-left labels in the order the image shows them and reads them back in logical
order; Spotters from before the setting keep logical order. Checked without training:
a bank of a few Arabic letters and digits, and Spotter logits that spell a sequence
of rows frame by frame."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from strtool.engine.config import config_from_dict, config_to_dict, load_run_config
from strtool.mstr.bank import BankEntry, PrototypeBank
from strtool.tasks.spotter import SpotterTask, read_spotter
from strtool.text.bidi import frame_order

CHARS = "سلامكتب0123456789"
WORD = "سلام"  # logical order; the image shows م ا ل س from left to right
PHRASE = "كتب 25"  # visual: 25 stays left to right, left of the word (read as بتك)


@pytest.fixture(scope="module")
def bank_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    entries = [BankEntry(c, None, "ARA" if not c.isdigit() else "COMMON", ("ar",), "letter", "ar")
               for c in CHARS]  # fmt: skip
    emb = F.normalize(torch.randn(len(CHARS), 16, generator=torch.Generator().manual_seed(0)), 1)
    bank = PrototypeBank(emb, entries, {"langs": ["ar"]})
    return bank.save(tmp_path_factory.mktemp("bank") / "bank.pt")[0]


def spelled(bank: PrototypeBank, texts: list[str], frames: int = 24) -> Tensor:
    """Logits (N, frames, 1 + K) whose greedy CTC reading is each text's characters in
    the given order (a blank between characters)."""
    out = torch.full((len(texts), frames), 0, dtype=torch.long)
    for i, text in enumerate(texts):
        for j, ch in enumerate(text.replace(" ", "")):
            row = bank.row_of(ch)
            assert row is not None
            out[i, 2 * j + 1] = row + 1
    return F.one_hot(out, 1 + len(bank)).float() * 20


class Spells(nn.Module):
    """A stand-in Spotter: always outputs the given logits."""

    def __init__(self, logits: Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, images: Tensor) -> Tensor:
        return self.logits


def task(bank_file: Path, *extra: str) -> SpotterTask:
    cfg = load_run_config(None, ["model.arch=spotter_tiny", f"mstr.bank={bank_file}",
                                 "data.train=[x]", *extra])  # fmt: skip
    return SpotterTask(cfg)


def test_frame_order_is_visual_and_self_inverse() -> None:
    assert frame_order(WORD, "visual") == "مالس"
    for text in (WORD, PHRASE):
        assert frame_order(frame_order(text, "visual"), "visual") == text
    assert frame_order(WORD, "logical") == WORD


def test_visual_spotter_learns_the_image_order_and_reads_logical(bank_file: Path) -> None:
    t = task(bank_file)
    assert t.order == "visual"
    labels = [WORD.replace(" ", "")]
    images = torch.zeros(1, 1, 32, 128)
    as_shown = Spells(spelled(t.bank, [frame_order(x, "visual") for x in labels]))
    as_stored = Spells(spelled(t.bank, labels))
    batch = (images, labels, ["ar"])
    # the loss is low for frames that spell the word as the image shows it
    assert float(t.loss(as_shown, batch, torch.device("cpu"))) < 0.05
    assert float(t.loss(as_stored, batch, torch.device("cpu"))) > 5
    assert t.read(as_shown, images).texts == [WORD]
    texts, _ = read_spotter(t.bank, spelled(t.bank, [frame_order(PHRASE, "visual")]), "visual")
    assert [x.replace(" ", "") for x in texts] == [PHRASE.replace(" ", "")]


def test_spotters_from_before_the_setting_stay_logical(bank_file: Path) -> None:
    t = task(bank_file)
    old = config_to_dict(t.cfg)
    del old["data"]["ctc_order"]
    cfg = config_from_dict(old)
    assert cfg.data.ctc_order == "logical"
    t_old = SpotterTask(cfg)
    labels = [WORD]
    batch = (torch.zeros(1, 1, 32, 128), labels, ["ar"])
    as_stored = Spells(spelled(t_old.bank, labels))
    assert float(t_old.loss(as_stored, batch, torch.device("cpu"))) < 0.05
    assert t_old.read(as_stored, batch[0]).texts == [WORD]
    _, meta = t.onnx_module()
    assert meta["strtool_ctc_order"] == "visual"
