"""Multi-line (line and page) labels survive every tool: LMDB write/read, `lmdb info`
and `validate`, `lmdb export` (escaped `\\n` and `\\\\`), `make-lmdb` back (labels
byte-identical), and the normalisation that keeps line breaks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import png_bytes
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.lmdb_io import LmdbReader
from strtool.data.lmdb_writer import LmdbWriter
from strtool.text.escape import escape_text, unescape_text
from strtool.text.normalize import normalize_label, normalize_lines
from strtool.text.suspicious import find_suspicious

runner = CliRunner()

LABELS = [
    "first line\nsecond line\nthird",
    "back\\slash \\n not a break\nمرحبا بالعالم\nनमस्ते दुनिया",
    "one line",
    "a\\\\b\nc\\",
]


def _lmdb(path: Path, labels: list[str]) -> Path:
    with LmdbWriter(path, meta={"source": "test"}) as w:
        for i, label in enumerate(labels):
            w.add(png_bytes(20 + i, 10), label, "en")
    return path


def test_normalize_multiline_keeps_breaks_and_collapses_inside_lines() -> None:
    raw = "  Hello   world \r\n\r\n\tsecond\u2028line  two \n"
    assert normalize_label(raw, multiline=True) == "Hello world\nsecond\nline two"
    assert normalize_lines(raw) == normalize_label(raw, multiline=True)
    assert normalize_label(raw) == "Hello world second line two"  # default unchanged
    assert normalize_label("e\u0301 x", multiline=True) == "é x"


def test_line_breaks_are_not_suspicious_between_lines() -> None:
    assert find_suspicious("one\ntwo") == []
    assert [s.reason for s in find_suspicious("\none")] == ["control character"]
    assert [s.reason for s in find_suspicious("one \ntwo")] == ["control character"]
    assert [s.reason for s in find_suspicious("one\n\ntwo")] == ["control character"] * 2


@given(st.text())
def test_escape_round_trip(text: str) -> None:
    esc = escape_text(text)
    assert "\n" not in esc and "\t" not in esc and unescape_text(esc) == text


def test_unescape_keeps_unknown_escapes() -> None:
    assert unescape_text("a\\qb\\") == "a\\qb\\"
    assert unescape_text("a\\tb") == "a\tb"  # as strtool predict writes a tab
    assert unescape_text("x\\\\ny\\nz") == "x\\ny\nz"


def test_export_then_make_lmdb_round_trip(tmp_path: Path) -> None:
    src = _lmdb(tmp_path / "src", LABELS)
    r = runner.invoke(app, ["lmdb", "info", str(src), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["multiline"] == 3 and json.loads(r.stdout)["max_lines"] == 3
    r = runner.invoke(app, ["lmdb", "validate", str(src), "-q"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "exp"
    r = runner.invoke(app, ["lmdb", "export", str(src), str(out), "-q", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["written"] == len(LABELS)
    marker = json.loads((out / ".strtool.json").read_text("utf-8"))
    assert marker["escapes"] == "backslash-n"
    gt_lines = (out / "gt.txt").read_text("utf-8").split("\n")
    assert len(gt_lines) == len(LABELS) + 1  # one line per sample
    assert gt_lines[0].split("\t")[1] == "first line\\nsecond line\\nthird"
    assert gt_lines[3].split("\t")[1] == "a\\\\\\\\b\\nc\\\\"
    back = tmp_path / "back"
    r = runner.invoke(app, ["make-lmdb", str(out), str(back), "-q", "--json"])
    assert r.exit_code == 0, r.output
    rb = LmdbReader(back)
    stored = [rb.get_raw(b"label-%09d" % (i + 1)) for i in range(len(rb))]
    assert stored == [x.encode("utf-8") for x in LABELS]  # byte-identical labels
    assert json.loads(r.stdout)["flagged"] == []


def test_other_tsv_is_read_verbatim_unless_escaped(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png_bytes())
    gt = tmp_path / "gt.txt"
    gt.write_text("a.png\tC:\\new\\dir\n", encoding="utf-8")
    make = ["make-lmdb", str(gt), "-q"]
    assert runner.invoke(app, [*make[:2], str(tmp_path / "v"), "-q"]).exit_code == 0
    assert LmdbReader(tmp_path / "v").label(0) == "C:\\new\\dir"
    r = runner.invoke(app, [*make[:2], str(tmp_path / "e"), "--escaped", "-q"])
    assert r.exit_code == 0, r.output
    assert LmdbReader(tmp_path / "e").label(0) == "C:\new\\dir"


@pytest.mark.parametrize("bad", ["tab\tinside", "carriage\rreturn"])
def test_export_skips_tabs_and_carriage_returns(tmp_path: Path, bad: str) -> None:
    src = _lmdb(tmp_path / "src", ["ok\nfine", bad])
    r = runner.invoke(app, ["lmdb", "export", str(src), str(tmp_path / "x"), "--json", "-q"])
    assert r.exit_code == 0 and json.loads(r.stdout)["skipped"][0][0] == 2
