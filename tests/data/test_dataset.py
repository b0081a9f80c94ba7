import io
import pickle
from collections import Counter

import numpy as np
import pytest
import torch
from conftest import jpg_bytes, png_bytes
from PIL import Image
from torch.utils.data import DataLoader

from strtool.data.dataset import LmdbDataset, collate
from strtool.data.lmdb_writer import LmdbWriter
from strtool.data.transforms import ResizeNormalize, decode_image, resize_pad
from strtool.errors import DataError

torch.set_num_threads(1)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "db"
    with LmdbWriter(path) as w:
        for i in range(12):
            w.add(png_bytes(20 + i), f"en{i}", "en")
        for i in range(4):
            w.add(png_bytes(), f"ar{'ب' * i}", "ar")
        w.add(png_bytes(), "toolongtoolong", "en")
        w.add(png_bytes(), "ünïcode", "de")
    return path


def test_filters_and_report(db):
    ds = LmdbDataset(db, langs="en,ar", max_len=8, charset="abcdefghijklmnopqrstuvwxyz0123456789ب")
    assert len(ds) == 16
    assert ds.report.removed["other_lang"] == 1 and ds.report.removed["too_long"] == 1
    assert ds.report.total == 18 and ds.report.kept == 16
    ds2 = LmdbDataset(db, charset="abcdefghijklmnopqrstuvwxyz0123456789")
    assert ds2.report.removed["out_of_charset"] == 4  # 3 Arabic + ünïcode
    assert ds2.report.unknown_chars == Counter({"ب": 6, "ü": 1, "ï": 1})
    assert "out_of_charset" in ds2.report.summary()


def test_group_filter_and_detected_langs(tmp_path, db):
    untagged = tmp_path / "u"
    with LmdbWriter(untagged) as w:
        w.add(png_bytes(), "مرحبا")
        w.add(png_bytes(), "hello")
    ds = LmdbDataset([db, untagged], langs="LAT")
    assert set(ds.langs) == {"en", "de", "LAT"} and len(ds) == 15
    assert LmdbDataset(untagged, langs="ar").langs == ["ar"]


def test_caps_first_and_random(db):
    first = LmdbDataset(db, caps={"en": 3})
    assert [first[i][1] for i in range(3)] == ["en0", "en1", "en2"]
    assert first.report.removed["cap"] == 10 and len(first) == 8
    r1 = LmdbDataset(db, caps=3, cap_mode="random", seed=1)
    r2 = LmdbDataset(db, caps=3, cap_mode="random", seed=1)
    labels = [r1[i][1] for i in range(len(r1))]
    assert labels == [r2[i][1] for i in range(len(r2))]
    assert Counter(r1.langs) == {"en": 3, "ar": 3, "de": 1}
    picks = {
        tuple(x[1] for x in LmdbDataset(db, caps=3, cap_mode="random", seed=s)) for s in range(5)
    }
    assert len(picks) > 1


def test_getitem_transform_and_dataloader(db):
    ds = LmdbDataset(db, langs="en", max_len=5, transform=ResizeNormalize(32, 64, 1))
    img, label, lang = ds[0]
    assert img.shape == (1, 32, 64) and img.dtype == torch.float32
    assert label == "en0" and lang == "en"
    ds2 = pickle.loads(pickle.dumps(ds))
    assert ds2[1][1] == "en1"
    dl = DataLoader(ds, batch_size=4, num_workers=2, collate_fn=collate)
    batches = list(dl)
    assert sum(len(b[1]) for b in batches) == len(ds)
    assert batches[0][0].shape == (4, 1, 32, 64)


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def test_decode_modes():
    rgba = Image.new("RGBA", (10, 6), (0, 0, 0, 0))
    assert decode_image(_encode(rgba, "PNG"), 3).min() == 255  # transparent -> white
    grey16 = Image.fromarray(np.full((6, 10), 65535, dtype=np.uint16))
    assert decode_image(_encode(grey16, "PNG"), 1).min() == 255
    pal = Image.new("P", (10, 6), 1)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    assert tuple(decode_image(_encode(pal, "PNG"), 3)[0, 0]) == (255, 0, 0)
    assert decode_image(jpg_bytes(40, 16), 3).shape == (16, 40, 3)
    assert decode_image(png_bytes(40, 16, 128, "L"), 1).shape == (16, 40)
    with pytest.raises(
        DataError, match=r"^not an image format PIL or OpenCV can read \(7 bytes\)$"
    ):
        decode_image(b"garbage", 3)  # no repr of a BytesIO in the message
    with pytest.raises(DataError, match=r"^cannot decode image \(\d+ bytes\): "):
        noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 200), np.uint8))
        decode_image(_encode(noise, "PNG")[:200], 1)  # a cut PNG: PIL's reason


def test_exif_orientation_jpeg_and_png():
    im = Image.new("RGB", (40, 10), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees
    for fmt in ("JPEG", "PNG"):
        arr = decode_image(_encode(im, fmt, exif=exif.tobytes()), 3)
        assert arr.shape[:2] == (40, 10), fmt


def test_resize_keep_ratio_and_plain():
    arr = np.full((16, 40, 3), 255, np.uint8)
    out = resize_pad(arr, 32, 100, keep_ratio=True, pad=0)
    assert out.shape == (32, 100, 3) and out[:, :80].min() == 255 and out[:, 80:].max() == 0
    assert resize_pad(arr, 32, 100, keep_ratio=False).min() == 255
    t = ResizeNormalize(32, 100, 3)(png_bytes(40, 16, (255, 255, 255)))
    assert t.shape == (3, 32, 100) and t.max() == 1.0 and t[:, :, 90:].abs().max() < 0.01
    t = ResizeNormalize(32, 100, 3, pad_value=-1.0)(Image.new("L", (400, 16), 0))
    assert t.shape == (3, 32, 100) and t.min() == -1.0 and t.max() == -1.0
