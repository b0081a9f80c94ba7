"""CTC targets in visual order, end to end: a tiny CRNN trained on shaped Arabic words
(and a number phrase) stores `order: visual` in its checkpoint and reads the words back
in logical order; checkpoints written before the setting keep decoding in logical
order; a resumed run can be switched over with an override."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw, ImageFont, features

from strtool.data.lmdb_writer import LmdbWriter
from strtool.engine.checkpoint import load_checkpoint
from strtool.engine.config import config_from_dict, config_to_dict, load_run_config
from strtool.engine.predict import predict_paths
from strtool.engine.reader import open_reader
from strtool.paths import fonts_dir
from strtool.tasks.ctc import CtcTask

FONT = fonts_dir() / "noto-naskh-arabic" / "NotoNaskhArabic-Regular.ttf"
WORDS = ["سلام", "كتاب", "مدرسة", "بيت", "قلم", "شمس", "قمر", "باب", "نور", "ورد",
         "سعر 25", "ماء"]  # fmt: skip

pytestmark = pytest.mark.skipif(not features.check("raqm"), reason="needs libraqm shaping")


def _render(text: str) -> bytes:
    font = ImageFont.truetype(str(FONT), 22, layout_engine=ImageFont.Layout.RAQM)
    img = Image.new("L", (100, 32), 255)
    d = ImageDraw.Draw(img)
    box = d.textbbox((0, 0), text, font=font, direction="rtl")
    x = (100 - (box[2] - box[0])) // 2 - box[0]
    y = (32 - (box[3] - box[1])) // 2 - box[1]
    d.text((x, y), text, fill=0, font=font, direction="rtl")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def arabic_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from strtool.engine.loop import train

    root = tmp_path_factory.mktemp("ctc_order")
    with LmdbWriter(root / "ar", meta={"source": "test"}) as w:
        for word in WORDS:
            w.add(_render(word), word, "ar")
    torch.manual_seed(0)
    cfg = load_run_config(None, [
        f"data.train=[{root / 'ar'}]", "data.workers=0", "data.space=true",
        "model.arch=crnn_tiny", "model.channels=1", "train.threads=2",
        "train.batch_size=12", "train.weight_decay=0.0", "train.log_every=50",
        "train.steps=500", "train.lr=1e-2", "train.pct_start=0.15", "train.ckpt_every=500",
    ])  # fmt: skip
    train(cfg, root / "run")
    imgs = root / "imgs"
    imgs.mkdir()
    for i, word in enumerate(WORDS):
        (imgs / f"{i:02d}.png").write_bytes(_render(word))
    return root / "run" / "last.pt", imgs


def test_visual_order_run_reads_arabic_in_logical_order(arabic_run: tuple[Path, Path]) -> None:
    ckpt, imgs = arabic_run
    stored = load_checkpoint(ckpt)
    assert stored["tokenizer"]["order"] == "visual"
    assert stored["config"]["data"]["ctc_order"] == "visual"
    reader = open_reader(ckpt, "cpu")
    preds = predict_paths(reader, sorted(imgs.iterdir()))
    got = [p.text for p in preds]
    exact = [g for g, w in zip(got, WORDS, strict=True) if g == w]
    assert len(exact) >= 10, list(zip(got, WORDS, strict=True))


def test_old_checkpoints_decode_in_logical_order_and_resume_can_switch() -> None:
    cfg = load_run_config(None, ["model.arch=crnn_tiny", "data.train=[x]"])
    old_tok = {"type": "ctc", "chars": list("سلام"), "unit": "codepoint", "unk": False,
               "space": False}  # fmt: skip
    old_cfg = config_to_dict(cfg)
    del old_cfg["data"]["ctc_order"]
    as_read = CtcTask(config_from_dict(old_cfg), {"tokenizer": old_tok, "charset": list("سلام")})
    assert as_read.tokenizer.order == "logical"
    assert as_read.payload()["tokenizer"]["order"] == "logical"
    old_cfg["data"]["ctc_order"] = "visual"  # resume with --set data.ctc_order=visual
    switched = CtcTask(config_from_dict(old_cfg), {"tokenizer": old_tok, "charset": list("سلام")})
    assert switched.tokenizer.order == "visual"
