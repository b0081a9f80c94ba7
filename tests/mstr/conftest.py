"""Fixtures for mSTR tests: tiny character-crop and word LMDBs rendered with PIL."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

from strtool.data.lmdb_writer import LmdbWriter
from strtool.paths import fonts_dir

FONTS = [  # shipped in the repo
    fonts_dir() / "dejavu-sans" / "DejaVuSans.ttf",
    fonts_dir() / "dejavu-serif" / "DejaVuSerif.ttf",
]
CHARS = "abcdef0123"
WORDS = ["ab", "cafe", "bad", "dec", "fade", "12", "30", "a1", "bed", "face",
         "ace", "db", "0f", "cab", "2e", "dd"]  # fmt: skip

torch.set_num_threads(1)


def render(text: str, size: tuple[int, int], font: Path, pt: int, dx: int = 0) -> bytes:
    f = ImageFont.truetype(str(font), pt)
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    box = d.textbbox((0, 0), text, font=f)
    x = (size[0] - (box[2] - box[0])) // 2 - box[0] + dx
    y = (size[1] - (box[3] - box[1])) // 2 - box[1]
    d.text((x, y), text, fill="black", font=f)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def char_lmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 crops: every character of CHARS in 2 fonts x 2 offsets, language en."""
    path = tmp_path_factory.mktemp("mstr") / "chars"
    with LmdbWriter(path, meta={"source": "test"}) as w:
        for font in FONTS:
            for dx in (-2, 2):
                for ch in CHARS:
                    w.add(render(ch, (32, 32), font, 22, dx), ch, "en")
    return path


@pytest.fixture(scope="session")
def word_lmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """32 word images (16 words x 2 fonts), 32 x 128, language en."""
    path = tmp_path_factory.mktemp("mstr") / "words"
    with LmdbWriter(path, meta={"source": "test"}) as w:
        for font in FONTS:
            for word in WORDS:
                w.add(render(word, (128, 32), font, 22), word, "en")
    return path
