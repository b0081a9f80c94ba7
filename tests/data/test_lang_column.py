"""The optional tsv language column and the export -> make-lmdb round trip of langs."""

import json

import lmdb
import pytest
from conftest import jpg_bytes, png_bytes
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.build import make_lmdb
from strtool.data.gt_formats import GtEntry, GtIssue, line_lang, parse_tsv
from strtool.data.lmdb_io import LmdbReader, release
from strtool.data.lmdb_tools import export
from strtool.data.lmdb_writer import LmdbWriter
from strtool.errors import InputError

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def all_keys(path) -> dict[bytes, bytes]:
    """Every key of an LMDB except `meta` (creation time and source differ)."""
    release(path)
    env = lmdb.open(str(path), readonly=True, lock=False)
    with env.begin() as txn:
        items = {bytes(k): bytes(v) for k, v in txn.cursor() if k != b"meta"}
    env.close()
    return items


@pytest.mark.parametrize(
    "value,tag",
    [("fr", "fr"), ("FR", "fr"), (" de ", "de"), ("LAT", "LAT"), ("lat", "LAT"),
     ("ARA", "ar"), ("CHI", "zh"), ("ja", "ja"), ("Arabic", None), ("xx", None),
     ("", None), ("en,fr", None), ("all", None)],
)  # fmt: skip
def test_line_lang(value, tag):
    assert line_lang(value) == tag


def test_parse_tsv_lang_column(tmp_path):
    gt = tmp_path / "gt.txt"
    gt.write_text(
        "a.png\thello\tfr\nb.png\tمرحبا\tARA\nc.png\tword\tlat\nd.png\tplain\n"
        "e.png\tx\tklingon\nf.png\tx\tfr\textra\ng.png\tx\t\n",
        encoding="utf-8",
    )
    out = list(parse_tsv(gt))
    ok = [(e.label, e.lang, e.group) for e in out if isinstance(e, GtEntry)]
    assert ok == [("hello", "fr", "LAT"), ("مرحبا", "ar", "ARA"), ("word", "LAT", "LAT"),
                  ("plain", None, None)]  # fmt: skip
    bad = [(e.line, e.kind) for e in out if isinstance(e, GtIssue)]
    assert bad == [(5, "malformed"), (6, "malformed"), (7, "malformed")]
    assert all("tab" in e.message for e in out if isinstance(e, GtIssue))
    (cll,) = [e for e in parse_tsv(gt, allow_tabs=True) if e.line == 1]
    assert cll.label == "hello\tfr" and cll.lang is None  # CLL labels have no lang column


@pytest.fixture
def tagged(images_dir):
    """A tsv gt with per-line languages (and one line without)."""
    gt = images_dir / "gt.txt"
    gt.write_text(
        "ok0.png\tbonjour\tfr\nok1.png\tمرحبا\tARA\nok2.png\thallo\tde\n"
        "ok3.png\tplain\nok.jpg\tx\tnope\n",
        encoding="utf-8",
    )
    return gt


def test_per_line_lang_overrides_lang_tag(tagged, tmp_path):
    # fr/de lines keep their own tag under --lang en (same group); the ar line is
    # outside LAT and filtered; the untagged line gets --lang's tag
    res = make_lmdb(tagged, tmp_path / "a", lang="en")
    assert res.skipped["malformed"] == 1 and res.written == 3 and res.filtered == 1
    assert LmdbReader(tmp_path / "a").langs() == ["fr", "de", "en"]
    assert res.langs == {"de": 1, "en": 1, "fr": 1}
    assert LmdbReader(tmp_path / "a").meta["languages"] == res.langs
    res = make_lmdb(tagged, tmp_path / "b")  # no --lang: untagged lines stay untagged
    assert LmdbReader(tmp_path / "b").langs() == ["fr", "ar", "de", None]


def test_lang_selects_tagged_lines(tagged, tmp_path):
    res = make_lmdb(tagged, tmp_path / "a", lang="ar")  # fr/de lines are outside ARA
    assert res.filtered == 2 and res.written == 2
    assert LmdbReader(tmp_path / "a").langs() == ["ar", "ar"]  # untagged line: --lang tag
    with pytest.raises(InputError, match="one language or one group"):
        make_lmdb(tagged, tmp_path / "b", lang="fr,ar")  # the untagged line needs a tag
    every = tagged.with_name("all.txt")
    every.write_text("ok0.png\tbonjour\tfr\nok1.png\tمرحبا\tar\nok2.png\t日本\tja\n", "utf-8")
    res = make_lmdb(every, tmp_path / "c", lang="fr,ar")  # all lines tagged: fine
    assert res.written == 2 and res.filtered == 1
    assert LmdbReader(tmp_path / "c").langs() == ["fr", "ar"]


def test_make_export_make_roundtrip_every_key(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rows = [("a.png", png_bytes(30, 16, (1, 2, 3)), "hello world", "en"),
            ("b.jpg", jpg_bytes(), "مرحبا", "ar"),
            ("c.png", png_bytes(31, 16), "क्षत्रिय", "HIN"),
            ("d.png", png_bytes(32, 16), "Straße", "LAT"),
            ("e.png", png_bytes(33, 16, (9, 9, 9)), "日本語 x", "ja"),
            ("f.png", png_bytes(34, 16), "sans langue", None)]  # fmt: skip
    lines = []
    for name, data, label, lang in rows:
        (src / name).write_bytes(data)
        lines.append(f"{name}\t{label}" + (f"\t{lang}" if lang else ""))
    (src / "gt.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run("make-lmdb", src, tmp_path / "db1", "--check", "-q")
    assert r.exit_code == 0, r.output
    assert LmdbReader(tmp_path / "db1").langs() == ["en", "ar", "hi", "LAT", "ja", None]
    r = run("lmdb", "export", tmp_path / "db1", tmp_path / "exp", "-q")
    assert r.exit_code == 0, r.output
    gt_lines = (tmp_path / "exp" / "gt.txt").read_text(encoding="utf-8").splitlines()
    assert gt_lines[1] == "images/000000002.jpg\tمرحبا\tar"
    assert gt_lines[5] == "images/000000006.png\tsans langue"
    r = run("make-lmdb", tmp_path / "exp", tmp_path / "db2", "--check", "-q")
    assert r.exit_code == 0, r.output
    first, second = all_keys(tmp_path / "db1"), all_keys(tmp_path / "db2")
    assert len(first) == 6 * 3 - 1 + 1  # images, labels, 5 langs, num-samples
    assert first == second
    m1, m2 = LmdbReader(tmp_path / "db1").meta, LmdbReader(tmp_path / "db2").meta
    assert m1["languages"] == m2["languages"]


def test_export_lists_unknown_tags(tmp_path):
    with LmdbWriter(tmp_path / "db") as w:
        w.add(png_bytes(), "one", "klingon")
        w.add(png_bytes(), "two", "ARA")
        w.add(png_bytes(), "three", "fr")
    res = export(tmp_path / "db", tmp_path / "exp")
    assert res.written == 3 and res.lang_dropped == [(1, "klingon")]
    text = (tmp_path / "exp" / "gt.txt").read_text(encoding="utf-8")
    assert text.splitlines() == ["images/000000001.png\tone", "images/000000002.png\ttwo\tar",
                                 "images/000000003.png\tthree\tfr"]  # fmt: skip
    r = run("lmdb", "export", tmp_path / "db", tmp_path / "exp2", "--json", "-q")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["lang_dropped"] == [[1, "klingon"]]
    assert "klingon" in r.stderr
