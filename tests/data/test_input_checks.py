"""Nothing stored or dropped silently by make-lmdb / lmdb validate: duplicate gt
entries, files that are not images (or are truncated) without --check, and labels
with invisible or broken characters."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import jpg_bytes, png_bytes
from PIL import Image
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.build import make_lmdb
from strtool.data.imgcheck import header_problem
from strtool.data.lmdb_io import LmdbReader
from strtool.data.lmdb_writer import LmdbWriter
from strtool.text.suspicious import find_suspicious

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def report(out: Path) -> dict:
    return json.loads(Path(f"{out}.report.json").read_text(encoding="utf-8"))


def write(d: Path, files: dict[str, bytes], gt: str) -> Path:
    d.mkdir(exist_ok=True)
    for name, data in files.items():
        (d / name).write_bytes(data)
    (d / "gt.txt").write_text(gt, encoding="utf-8")
    return d / "gt.txt"


# ---- duplicates ---------------------------------------------------------------------


def test_same_image_listed_again_first_line_wins(tmp_path):
    gt = write(tmp_path / "d", {"a.png": png_bytes(10), "b.png": png_bytes(11)},
               "a.png\tcat\nb.png\tdog\na.png\tCAT\n./a.png\tcat\n")  # fmt: skip
    out = tmp_path / "out"
    r = run("make-lmdb", gt, out)
    assert r.exit_code == 0, r.output
    assert [s.label for s in LmdbReader(out)] == ["cat", "dog"]
    rep = report(out)
    assert rep["skipped"]["duplicate"] == 2
    dups = {i["line"]: i["message"] for i in rep["issues"] if i["kind"] == "duplicate"}
    assert dups == {3: "same image as line 1, other label (kept 'cat')",
                    4: "same image and label as line 1"}  # fmt: skip
    assert "skipped: duplicate" in r.stdout
    assert f"{gt}:3: duplicate: same image as line 1, other label" in r.stderr


# ---- image header check without --check ----------------------------------------------


def _img(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (30, 12), (9, 99, 199)).save(buf, fmt)
    return buf.getvalue()


BAD_IMAGES = {
    "svg.png": (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
    "text.png": (b"this is a caption, not an image\n", "not an image (text)"),
    "html.jpg": (b"<html><body>404 Not Found</body></html>", "HTML"),
    "trunc.png": (png_bytes(60, 20)[:-20], "truncated PNG"),
    "trunc.jpg": (jpg_bytes(60, 20)[:-20], "truncated JPEG"),
    "trunc.gif": (_img("GIF")[:-10], "truncated GIF"),
    "trunc.bmp": (_img("BMP")[:-10], "truncated BMP"),
    "noise.png": (bytes(range(256)) * 4, "not an image"),
    "empty.png": (b"", "empty image file"),
}


@pytest.mark.parametrize("check", [False, True])
def test_non_images_and_truncated_images_are_skipped(tmp_path, check):
    good = {"ok.png": png_bytes(), "ok.jpg": jpg_bytes(), "ok.gif": _img("GIF"),
            "ok.bmp": _img("BMP"), "ok.webp": _img("WEBP"), "ok.tif": _img("TIFF")}  # fmt: skip
    files = {**good, **{k: v for k, (v, _) in BAD_IMAGES.items()}}
    gt = write(tmp_path / "d", files, "".join(f"{n}\tw\n" for n in files))
    res = make_lmdb(gt, tmp_path / "out", check=check)
    assert res.written == len(good)
    why = {Path(i.image).name: i.message for i in res.issues}
    assert set(why) == set(BAD_IMAGES)
    if not check:  # the header check's own messages
        for name, (_, msg) in BAD_IMAGES.items():
            assert msg in why[name], (name, why[name])


def test_header_check_sizes():
    assert header_problem(png_bytes(1, 1)) is None
    zero = bytearray(png_bytes(3, 3))
    zero[16:20] = b"\x00\x00\x00\x00"  # width 0 (the IHDR CRC is not checked here)
    assert header_problem(bytes(zero)) == "image size 0x3"
    huge = bytearray(png_bytes(3, 3))
    huge[16:24] = (100000).to_bytes(4, "big") * 2
    assert "too large" in header_problem(bytes(huge))


# ---- suspicious labels --------------------------------------------------------------


@pytest.mark.parametrize(
    "label,reason",
    [
        ("ab\u202ecd", "bidi control"),
        ("\u2067abc\u2069", "bidi control"),
        ("ab\u200bcd", "zero-width space"),
        ("ab\ufffd", "replacement character"),
        ("a\x07b", "control character"),
        ("ab\ufeffcd", "byte order mark"),
        ("a\u200db", "zero-width joiner outside a word"),
        ("\u200cक", "zero-width joiner outside a word"),
        ("soft\u00adhyphen", "invisible format character"),
    ],
)
def test_suspicious_characters(label, reason):
    found = find_suspicious(label)
    assert found and found[0].reason == reason


@pytest.mark.parametrize(
    "label",
    [
        "hello",
        "कि\u094d\u200dष",
        "क्\u200cष",
        "می\u200cخواهم",
        "বাংলা",
        "日本語",
        "a b",
        "١٢٣",
        "\u0600١",
    ],
)
def test_legitimate_labels_are_not_flagged(label):
    assert find_suspicious(label) == []


def _suspicious_set(tmp_path: Path) -> Path:
    labels = ["plain", "rl\u202eo", "zw\u200bsp", "bad\ufffd", "می\u200cخواهم"]
    files = {f"{i}.png": png_bytes(10 + i) for i in range(len(labels))}
    gt = "".join(f"{i}.png\t{lab}\n" for i, lab in enumerate(labels))
    return write(tmp_path / "d", files, gt)


def test_make_lmdb_flags_suspicious_labels_and_strict_skips_them(tmp_path):
    gt = _suspicious_set(tmp_path)
    r = run("make-lmdb", gt, tmp_path / "flag", "--json")
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["written"] == 5 and res["skipped"]["suspicious_label"] == 0
    assert [f["line"] for f in res["flagged"]] == [2, 3, 4]
    assert "U+202E (bidi control) at 2" in res["flagged"][0]["message"]
    assert report(tmp_path / "flag")["flagged"] == res["flagged"]
    r = run("make-lmdb", gt, tmp_path / "flag2")
    assert "flagged: suspicious_label (written)" in r.stdout
    assert f"{gt}:2: suspicious_label:" in r.stderr
    r = run("make-lmdb", gt, tmp_path / "strict", "--strict", "--json")
    res = json.loads(r.stdout)
    assert res["written"] == 2 and res["skipped"]["suspicious_label"] == 3
    assert [s.label for s in LmdbReader(tmp_path / "strict")] == ["plain", "می\u200cخواهم"]


def test_validate_flags_suspicious_labels(tmp_path):
    db = tmp_path / "db"
    with LmdbWriter(db) as w:
        w.add(png_bytes(), "fine")
        w.add(png_bytes(), "zero\u200bwidth")
    r = run("lmdb", "validate", db, "--json")
    assert r.exit_code == 0, r.output
    probs = json.loads(r.stdout)["problems"]
    assert [(p["index"], p["kind"]) for p in probs] == [(2, "flag")]
    assert "U+200B (zero-width space)" in probs[0]["message"]
    assert "1 flagged label" in r.stderr
    r = run("lmdb", "validate", db, "--strict")
    assert r.exit_code == 1 and "1 flagged label(s)" in r.stderr
