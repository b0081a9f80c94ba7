"""Sample preparation in worker processes, the PNG check's completeness, file reads."""

import random
import struct
import zlib

import pytest
from conftest import jpg_bytes, png_bytes, raw_lmdb

from strtool.data import build_prep, inflate
from strtool.data.build import make_lmdb
from strtool.data.build_prep import Rules, prepared_chunks, read_image
from strtool.data.gt_formats import parse_tsv
from strtool.data.imgcheck import image_problem
from strtool.data.lmdb_io import LmdbReader
from strtool.data.lmdb_writer import LmdbWriter
from strtool.errors import DataError


def chunk(ctype: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + ctype
        + payload
        + struct.pack(">I", zlib.crc32(ctype + payload))
    )


def png(raw: bytes, w: int = 2, h: int = 2, split: int = 0, zdata: bytes | None = None) -> bytes:
    """An 8-bit grey PNG with correct CRCs around `raw` rows (or given zlib data)."""
    z = zlib.compress(raw) if zdata is None else zdata
    parts = [z[:split], z[split:]] if split else [z]
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    body = b"".join(chunk(b"IDAT", p) for p in parts)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + body + chunk(b"IEND", b"")


BACKENDS = ["zlib"] + (["libdeflate"] if inflate._LIB is not None else [])


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    monkeypatch.setattr(inflate, "BACKEND", request.param)
    return request.param


def test_png_check_is_complete(backend):
    good = b"\x00\x10\x20\x01\x05\x05"
    assert image_problem(png(good)) is None
    assert image_problem(png(good, split=3)) is None  # several IDAT chunks
    bad_stream = zlib.compress(good)[:-4] + b"\x00\x00\x00\x00"  # valid CRCs, bad adler
    assert "bad image data" in image_problem(png(good, zdata=bad_stream))
    assert "expected 6" in image_problem(png(good[:-1]))
    assert "filter" in image_problem(png(b"\x00\x10\x20\x07\x05\x05"))
    flipped = bytearray(png(good))
    flipped[45] ^= 0x40
    assert "CRC" in image_problem(bytes(flipped))
    assert "truncated" in image_problem(png(good)[:-5])
    assert image_problem(jpg_bytes()) is None
    assert "JPEG" in image_problem(jpg_bytes()[:-200])
    assert image_problem(png(good), decode=False) is None
    assert image_problem(b"") == "empty image file"
    assert "bytes, expected 6" in image_problem(png(good + b"\x00\x01\x02"))
    assert image_problem(png(good, zdata=zlib.compress(good) + b"junk")) is None  # as zlib
    big = bytes(range(256)) * 4
    rows = b"".join(b"\x00" + big for _ in range(300))  # larger than the first buffer
    assert image_problem(png(rows, w=len(big), h=300)) is None
    assert image_problem(png_bytes(300, 200)) is None and image_problem(png_bytes(3, 2)) is None


def test_backends_agree_on_damaged_streams(monkeypatch):
    """Random damage to the zlib stream (CRCs recomputed, so only inflation can tell)."""
    rng = random.Random(0)
    good = b"".join(bytes([rng.randrange(5)]) + rng.randbytes(30) for _ in range(20))
    z = zlib.compress(good)
    verdicts = {b: [] for b in BACKENDS}
    for _ in range(300):
        bad = bytearray(z)
        for _ in range(rng.randrange(1, 4)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        for b in BACKENDS:
            monkeypatch.setattr(inflate, "BACKEND", b)
            verdicts[b].append(image_problem(png(good, w=30, h=20, zdata=bytes(bad))) is None)
    assert len({tuple(v) for v in verdicts.values()}) == 1
    assert sum(verdicts["zlib"]) < 30  # nearly every damage is caught


def test_read_image(tmp_path):
    (tmp_path / "f").write_bytes(b"abc" * 1000)
    assert read_image(str(tmp_path / "f")) == (b"abc" * 1000, None)
    assert read_image(str(tmp_path / "nope")) == (None, "image file not found")
    data, why = read_image(str(tmp_path))
    assert data is None and why.startswith("cannot read image")


def summary(chunks):
    done, samples, issues, filtered = [], [], [], 0
    for d, p in chunks:
        done.append(d)
        samples += p.samples
        issues += [(i.kind, i.line) for i in p.issues]
        filtered += p.filtered
    return done, samples, issues, filtered


def test_workers_give_the_same_chunks_in_order(images_dir):
    lines = []
    for i in range(40):  # good, corrupt, missing, empty label, malformed, other group
        name = ["ok0.png", "trunc.png", "missing.png", "ok1.png", "ok.jpg", "ok2.png"][i % 6]
        label = " " if i % 6 == 3 else f"w{i}"
        extra = "\tar" if i % 6 == 5 else ("\tx" if i % 7 == 0 else "")
        lines.append(f"{name}\t{label}{extra}")
    gt = images_dir / "gt.txt"
    gt.write_text("\n".join(lines) + "\n", encoding="utf-8")
    items = list(parse_tsv(gt))
    rules = Rules(decode=True, allowed=frozenset({"LAT"}), tag="en")
    one = summary(prepared_chunks(items, len(items), rules, workers=1, chunk=3))
    for workers in (2, 3):
        assert summary(prepared_chunks(items, len(items), rules, workers, chunk=3)) == one
    done, samples, issues, filtered = one
    assert done == list(range(3, 40, 3)) + [40]
    assert {k for k, _ in issues} == {"corrupt", "missing", "empty_label", "malformed"}
    assert [line for _, line in issues] == sorted(line for _, line in issues)
    assert filtered > 0 and all(lang == "en" for _, _, lang in samples)


def test_workers_on_lmdb_source_and_errors(tmp_path):
    with LmdbWriter(tmp_path / "db") as w:
        for i in range(30):
            w.add(png_bytes(20 + i) if i != 7 else png_bytes()[:-9], f"s{i}", "de")
    rules = Rules(decode=True)
    one = summary(prepared_chunks(tmp_path / "db", 30, rules, workers=1, chunk=4))
    two = summary(prepared_chunks(tmp_path / "db", 30, rules, workers=2, chunk=4))
    assert one == two and one[2] == [("corrupt", 8)] and len(one[1]) == 29
    raw_lmdb(tmp_path / "bad", {b"num-samples": b"12", **{
        b"image-%09d" % i: png_bytes() for i in range(1, 13)}, **{
        b"label-%09d" % i: (b"\xff" if i == 11 else b"ok") for i in range(1, 13)}})  # fmt: skip
    with pytest.raises(DataError, match="label-000000011 is not UTF-8"):
        summary(prepared_chunks(tmp_path / "bad", 12, rules, workers=2, chunk=2))


def test_make_lmdb_workers_identical_output(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    lines = []
    for i in range(600):  # > 2 chunks of 256: the worker path of make_lmdb
        name = f"{i}.png"
        (src / name).write_bytes(png_bytes(8 + i % 5, 8, (i % 256, 0, 0)) if i != 300 else b"")
        lines.append(f"{name}\tw{i}" + ("\tfr" if i % 2 else ""))
    (src / "gt.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    a = make_lmdb(src, tmp_path / "a", check=True, workers=1)
    b = make_lmdb(src, tmp_path / "b", check=True, workers=2)
    assert a.written == b.written == 599 and a.issues == b.issues and a.langs == b.langs
    ra, rb = LmdbReader(tmp_path / "a"), LmdbReader(tmp_path / "b")
    assert list(ra) == list(rb)


@pytest.mark.parametrize(
    "cores,load,expected",
    [
        (2, 0.1, 2),
        (2, 1.5, 2),
        (2, 2.2, 1),
        (2, 6.5, 1),
        (8, 1.0, 4),
        (8, 6.0, 3),
        (1, 0.0, 1),
    ],  # fmt: skip
)
def test_auto_workers(monkeypatch, cores, load, expected):
    monkeypatch.setattr(build_prep.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(build_prep.os, "getloadavg", lambda: (load, load, load))
    assert build_prep.auto_workers() == expected


def test_auto_workers_default_path(images_dir, monkeypatch):
    monkeypatch.setattr(build_prep, "auto_workers", lambda: 2)
    gt = images_dir / "gt.txt"
    gt.write_text("".join(f"ok{i % 4}.png\tw{i}\n" for i in range(20)), encoding="utf-8")
    items = list(parse_tsv(gt))
    auto = summary(prepared_chunks(items, 20, Rules(), workers=0, chunk=3))
    assert auto == summary(prepared_chunks(items, 20, Rules(), workers=1, chunk=3))
