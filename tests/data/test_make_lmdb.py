import json
import os

import pytest
from conftest import png_bytes, raw_lmdb
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.build import make_lmdb, tag_for
from strtool.data.gt_formats import detect_format
from strtool.data.lmdb_io import LmdbReader, release
from strtool.data.lmdb_writer import LmdbWriter
from strtool.errors import DataError, InputError

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def err(r) -> str:
    """stderr without rich's line wrapping."""
    return r.stderr.replace("\n", "")


def write_gt(path, text, bom=False):
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


def test_tsv_with_every_kind_of_issue(images_dir):
    gt = write_gt(
        images_dir / "gt.txt",
        "ok0.png\thello  world\nok.jpg\tcafe\u0301\ntrunc.png\tx\nempty.png\ty\n"
        "missing.png\tz\nno tab here\nok1.png\t   \nok2.png\ta\tb\n\nok3.png\tlast\r\n",
        bom=True,
    )
    res = make_lmdb(gt, images_dir / "out", check=True, lang="fr", workers=2)
    assert res.written == 3
    assert res.skipped == {
        "missing": 1,
        "corrupt": 2,
        "empty_label": 1,
        "malformed": 2,
        "duplicate": 0,
        "suspicious_label": 0,
        "segmentation_err": 0,
    }
    kinds = {(i.kind, i.line) for i in res.issues}
    assert kinds == {("corrupt", 3), ("corrupt", 4), ("missing", 5), ("malformed", 6),
                     ("empty_label", 7), ("malformed", 8)}  # fmt: skip
    r = LmdbReader(images_dir / "out")
    assert [s.label for s in r] == ["hello world", "caf\u00e9", "last"]
    assert r.langs() == ["fr"] * 3
    assert r[0].image == (images_dir / "ok0.png").read_bytes()
    report = json.loads(res.report.read_text(encoding="utf-8"))
    assert report["written"] == 3 and len(report["issues"]) == 6
    assert any("tab" in i["message"] for i in report["issues"])


def test_without_check_the_header_check_still_runs(images_dir):
    (images_dir / "fake.png").write_text("not an image\n", encoding="utf-8")
    gt = write_gt(images_dir / "gt.txt", "trunc.png\tx\nempty.png\ty\nok0.png\tz\nfake.png\tw\n")
    res = make_lmdb(gt, images_dir / "out")
    assert res.written == 1 and res.skipped["corrupt"] == 3
    why = {i.image.rsplit("/", 1)[-1]: i.message for i in res.issues}
    assert "truncated PNG" in why["trunc.png"] and why["empty.png"] == "empty image file"
    assert why["fake.png"] == "not an image (text)"


def test_mlt_format(images_dir):
    gt = write_gt(
        images_dir / "mlt.txt",
        "ok0.png,Arabic,مرحبا, يا\nok1.png,Latin,Hi,there\nok2.png,Bangla,বাংলা\n"
        "ok3.png,Klingon,x\nok.jpg,Symbols,$\nok1.png,Latin\n",
        bom=True,
    )
    assert detect_format(gt) == "mlt"
    res = make_lmdb(gt, images_dir / "out", fmt="auto")
    assert res.format == "mlt" and res.written == 4 and res.skipped["malformed"] == 2
    r = LmdbReader(images_dir / "out")
    assert [s.label for s in r] == ["مرحبا, يا", "Hi,there", "বাংলা", "$"]
    assert r.langs() == ["ar", "LAT", "bn", None]
    res = make_lmdb(gt, images_dir / "ara", lang="ar,bn")
    assert res.written == 3 and res.filtered == 1  # Symbols have no group: kept


def test_folder_input_and_images_root(tmp_path, images_dir):
    write_gt(images_dir / "gt.txt", "ok0.png\ta\n")
    assert make_lmdb(images_dir, tmp_path / "o1").written == 1
    gt = write_gt(tmp_path / "labels.tsv", "ok0.png\ta\nok1.png\tb\n")
    assert make_lmdb(gt, tmp_path / "o2", images=images_dir).written == 2


def test_lang_tags():
    assert tag_for("fr") == "fr" and tag_for("ARA") == "ar" and tag_for("LAT") == "LAT"
    assert tag_for(None) is None
    with pytest.raises(InputError):
        tag_for("en,ar")


def test_all_bad_writes_nothing(images_dir):
    gt = write_gt(images_dir / "gt.txt", "missing.png\tx\nempty.png\ty\n")
    with pytest.raises(DataError, match="no usable sample"):
        make_lmdb(gt, images_dir / "out")
    assert not (images_dir / "out").exists()
    assert not [p for p in images_dir.iterdir() if ".tmp-" in p.name]
    r = run("make-lmdb", gt, images_dir / "out")
    assert r.exit_code == 1 and "no usable sample" in err(r)


def test_cli_success_json_and_overwrite(images_dir):
    gt = write_gt(images_dir / "gt.txt", "ok0.png\ta\ntrunc.png\tb\n")
    out = images_dir / "out"
    r = run("make-lmdb", gt, out, "--check", "--json", "--quiet")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["written"] == 1 and data["skipped"]["corrupt"] == 1
    assert data["issues"][0]["line"] == 2
    r = run("make-lmdb", gt, out)
    assert r.exit_code == 1 and "--overwrite" in err(r)
    r = run("make-lmdb", gt, out, "--overwrite", "--check")
    assert r.exit_code == 0 and "corrupt" in r.stdout


@pytest.mark.parametrize(
    "args,msg",
    [
        (["make-lmdb", "{d}/nope.txt", "{d}/o"], "no such gt file"),
        (["make-lmdb", "{d}/gt.txt", "{d}/o", "--lang", "xx"], "unknown language"),
        (["make-lmdb", "{d}/gt.txt", "{d}/o", "--format", "csv"], "unknown gt format"),
        (["make-lmdb", "{d}/gt.txt", "{d}/o", "--compat", "abc"], "unknown --compat"),
        (["make-lmdb", "{d}/bad.txt", "{d}/o"], "cannot detect"),
        (["make-lmdb", "{d}/latin1.txt", "{d}/o"], "not UTF-8"),
        (["lmdb", "info", "{d}"], "no data.mdb"),
        (["lmdb", "info", "{d}/empty_db"], "empty LMDB"),
        (["lmdb", "validate", "{d}/nope"], "no such LMDB"),
    ],
)
def test_cli_errors(images_dir, args, msg):
    write_gt(images_dir / "gt.txt", "ok0.png\ta\n")
    write_gt(images_dir / "bad.txt", "just words\n")
    (images_dir / "latin1.txt").write_bytes("ok0.png\tcaf\xe9\n".encode("latin-1"))
    raw_lmdb(images_dir / "empty_db", {b"num-samples": b"0"})
    r = run(*[a.format(d=images_dir) for a in args])
    assert r.exit_code == 1
    assert msg in err(r) and "Traceback" not in r.output


def test_cli_truncated_lmdb(tmp_path):
    with LmdbWriter(tmp_path / "db") as w:
        for _ in range(30):
            w.add(os.urandom(4000), "x")
    release(tmp_path / "db")
    data = tmp_path / "db" / "data.mdb"
    os.truncate(data, data.stat().st_size // 3)
    for cmd in (["lmdb", "info"], ["lmdb", "validate"], ["lmdb", "export"]):
        r = run(*cmd, tmp_path / "db", *([tmp_path / "x"] if cmd[1] == "export" else []))
        assert r.exit_code == 1 and "truncated" in err(r)


def test_export_make_lmdb_roundtrip(tmp_path):
    samples = [
        (png_bytes(20 + i), lab) for i, lab in enumerate(["abc", "مرحبا", "क्षत्रिय", "日本語 x"])
    ]
    with LmdbWriter(tmp_path / "db") as w:
        for img, lab in samples:
            w.add(img, lab, "en")
    w2 = tmp_path / "dbj"
    with LmdbWriter(w2) as w:
        w.add(b"\xff\xd8\xff\xe0fakejpeg", "j")
        w.add(b"x", "tab\tinside")
    r = run("lmdb", "export", tmp_path / "db", tmp_path / "exp")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "exp" / "images" / "000000001.png").is_file()
    r = run("make-lmdb", tmp_path / "exp", tmp_path / "db2", "--check")
    assert r.exit_code == 0, r.output
    assert [(s.image, s.label) for s in LmdbReader(tmp_path / "db2")] == samples
    r = run("lmdb", "export", w2, tmp_path / "exp2", "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["skipped"][0][0] == 2
    assert (tmp_path / "exp2" / "images" / "000000001.jpg").is_file()


def test_merge_info_validate_grid(tmp_path):
    with LmdbWriter(tmp_path / "a") as w:
        w.add(png_bytes(), "hello", "en")
        w.add(png_bytes(), "hallo", "de")
    raw_lmdb(tmp_path / "b", {b"num-samples": b"1", b"image-000000001": png_bytes(),
                              b"label-000000001": "مرحبا".encode()})  # fmt: skip
    r = run("lmdb", "merge", tmp_path / "m", tmp_path / "a", tmp_path / "b", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["langs"] == {"en": 1, "de": 1, "unknown": 1}
    m = LmdbReader(tmp_path / "m")
    assert [s.label for s in m] == ["hello", "hallo", "مرحبا"]
    assert [s["path"] for s in m.meta["sources"]] == [str(tmp_path / "a"), str(tmp_path / "b")]
    r = run("lmdb", "info", tmp_path / "b", "--json", "--grid", tmp_path / "g.png")
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout)
    assert info["langs"] == {"ARA": 1} and info["langs_source"] == "detected"
    assert info["length_hist"] == {"5-8": 1}
    assert (tmp_path / "g.png").stat().st_size > 100
    assert run("lmdb", "validate", tmp_path / "m").exit_code == 0


def test_validate_lists_problems(tmp_path):
    raw_lmdb(tmp_path / "v", {b"num-samples": b"3", b"image-000000001": png_bytes()[:-20],
                              b"label-000000001": b"ok", b"label-000000002": b"\xff",
                              b"image-000000003": png_bytes(),
                              b"label-000000003": "e\u0301".encode()})  # fmt: skip
    r = run("lmdb", "validate", tmp_path / "v", "--json")
    assert r.exit_code == 1
    probs = {(p["index"], p["key"]) for p in json.loads(r.stdout)["problems"]}
    assert probs == {(1, "image-000000001"), (2, "image-000000002"),
                     (2, "label-000000002"), (3, "label-000000003")}  # fmt: skip
    from strtool.data.inspect import validate

    calls = []
    assert len(validate(tmp_path / "v", progress=lambda d, t: calls.append((d, t)))) == 4
    assert calls == [(3, 3)]  # every 1,000 samples and at the end


def test_info_charset_coverage(tmp_path, monkeypatch):
    """Coverage via strtool.text.charset.load_charsets (a stand-in honouring the
    documented contract is used while that module does not exist yet)."""
    import importlib.util
    import sys
    import types
    from dataclasses import dataclass

    if importlib.util.find_spec("strtool.text.charset") is None:

        @dataclass(frozen=True)
        class FakeCharset:
            lang: str
            chars: tuple

        fake = types.ModuleType("strtool.text.charset")
        fake.load_charsets = lambda spec: [FakeCharset("en", tuple("abcdefghijklmnopqrstuvwxyz"))]
        monkeypatch.setitem(sys.modules, "strtool.text.charset", fake)
    with LmdbWriter(tmp_path / "db") as w:
        for lab in ["hello", "world", "naïve", "ok"]:
            w.add(png_bytes(), lab, "en")
    r = run("lmdb", "info", tmp_path / "db", "--lang", "en", "--json")
    assert r.exit_code == 0, r.output
    (cov,) = json.loads(r.stdout)["coverage"]
    assert cov["lang"] == "en" and cov["sample_coverage"] == 0.75
    assert cov["missing"] == {"ï": 1} and cov["char_coverage"] == round(1 - 1 / 17, 4)
