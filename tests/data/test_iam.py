"""`make-lmdb --format iam`: words, lines and pages of an IAM-shaped fixture, from the
ascii files and from the XML alone; `err` rows counted and reported; page crops."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from iam_fixture import FORMS, line_text, make_iam, page_text, word_box
from typer.testing import CliRunner

from strtool.cli import app
from strtool.data.build import make_lmdb
from strtool.data.build_inputs import InputOpts
from strtool.data.iam import PAGE_MARGIN, parse_ascii
from strtool.data.lmdb_io import LmdbReader

runner = CliRunner()


def _words(keep_err: bool) -> list[str]:
    return [
        w
        for lines in FORMS.values()
        for line_ok, words in lines
        for w, _, ok in words
        if ok or keep_err
    ]


@pytest.mark.parametrize("source", ["ascii", "xml"])
def test_words_labels_counts_and_err_rows(tmp_path: Path, source: str) -> None:
    root = make_iam(tmp_path / "iam", with_ascii=source == "ascii", with_xml=source == "xml")
    res = make_lmdb(root, tmp_path / "w", fmt="iam", input_opts=InputOpts("words"), workers=1)
    r = LmdbReader(tmp_path / "w")
    if source == "ascii":  # words.txt: the word's own ok/err; one malformed row
        assert list(r.labels()) == _words(False)
        assert res.skipped["segmentation_err"] == 1 and res.skipped["malformed"] == 1
    else:  # XML: a word is err when its line is
        assert list(r.labels()) == ["A", "MOVE", "to", "from", ",", "nominating",
                                    '"', "Labour", "life", "peers", "&", "more"]  # fmt: skip
        assert res.skipped["segmentation_err"] == 3
    assert set(r.langs()) == {"en"}
    err = [i for i in res.issues if i.kind == "segmentation_err"]
    assert err[0].image is not None and err[0].image.endswith("a01-000u-01-00.png")
    # the crop is the word image of the form
    img = cv2.imdecode(np.frombuffer(r.image(0), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img.shape == (word_box(0, 0)[3], word_box(0, 0)[2]) and int(img[0, 0]) == 40


def test_cli_keep_err_writes_err_rows(tmp_path: Path) -> None:
    root = make_iam(tmp_path / "iam")
    r = runner.invoke(app, ["make-lmdb", str(root), str(tmp_path / "w"), "--format", "iam",
                            "--level", "words", "--keep-err", "-q", "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert list(LmdbReader(tmp_path / "w").labels()) == _words(True)
    res = json.loads(r.stdout)
    assert res["skipped"]["segmentation_err"] == 0 and res["skipped"]["malformed"] == 1


@pytest.mark.parametrize("source", ["ascii", "xml"])
def test_lines(tmp_path: Path, source: str) -> None:
    root = make_iam(tmp_path / "iam", with_ascii=source == "ascii", with_xml=source == "xml")
    res = make_lmdb(root, tmp_path / "l", fmt="iam", input_opts=InputOpts("lines"), workers=1)
    ok_lines = [line_text(ws) for lines in FORMS.values() for ok, ws in lines if ok]
    assert list(LmdbReader(tmp_path / "l").labels()) == ok_lines
    assert res.skipped["segmentation_err"] == 1 and res.written == 4


@pytest.mark.parametrize("source", ["ascii", "xml"])
def test_pages_are_cropped_forms_with_line_breaks(tmp_path: Path, source: str) -> None:
    root = make_iam(tmp_path / "iam", with_ascii=source == "ascii", with_xml=source == "xml")
    res = make_lmdb(root, tmp_path / "p", fmt="iam", input_opts=InputOpts("pages"), workers=1)
    r = LmdbReader(tmp_path / "p")
    assert list(r.labels()) == [page_text("a01-000u"), page_text("b02-011")]
    assert r.label(0).count("\n") == 2 and r.label(1).count("\n") == 1
    assert res.written == 2 and res.skipped["segmentation_err"] == 0
    img = cv2.imdecode(np.frombuffer(r.image(0), np.uint8), cv2.IMREAD_GRAYSCALE)
    x0, y0, _, _ = word_box(0, 0)
    x1 = word_box(0, 2)[0] + word_box(0, 2)[2]
    y1 = word_box(2, 0)[1] + word_box(2, 0)[3]
    pad = round(PAGE_MARGIN * 600)
    assert img.shape == (y1 - y0 + 2 * pad, x1 - x0 + 2 * pad)
    assert int(img[pad, pad]) == 40  # the first word's grey at the crop's inner corner


def test_cli_iam_pages_then_export_and_back(tmp_path: Path) -> None:
    root = make_iam(tmp_path / "iam")
    out = tmp_path / "p"
    r = runner.invoke(app, ["make-lmdb", "--format", "iam", "--level", "pages", str(root),
                            str(out), "-q", "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["written"] == 2
    r = runner.invoke(app, ["lmdb", "validate", str(out), "-q"])
    assert r.exit_code == 0, r.output  # line breaks are not flagged
    r = runner.invoke(app, ["make-lmdb", "--format", "iam", str(root), str(tmp_path / "w"),
                            "-q"])  # fmt: skip
    assert r.exit_code == 0 and "segmentation_err" in r.output


def test_auto_format_and_bad_root(tmp_path: Path) -> None:
    root = make_iam(tmp_path / "iam")
    res = make_lmdb(root, tmp_path / "w", input_opts=InputOpts("lines"), workers=1)
    assert res.format == "iam"
    (tmp_path / "empty").mkdir()
    r = runner.invoke(app, ["make-lmdb", "--format", "iam", str(tmp_path / "empty"),
                            str(tmp_path / "x")])  # fmt: skip
    assert r.exit_code == 1 and "not an IAM root" in r.output
    r = runner.invoke(app, ["make-lmdb", "--format", "iam", "--level", "paragraphs", str(root),
                            str(tmp_path / "y")])  # fmt: skip
    assert r.exit_code == 1 and "--level" in r.output


def test_ascii_rows_parse_the_real_formats(tmp_path: Path) -> None:
    f = tmp_path / "lines.txt"
    f.write_text(
        "# comment\na01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop|Mr.|Gaitskell|from\n"
        "a01-000u-01 err 156 19 395 932 1850 105 nominating|any|more\nbad\n",
        encoding="utf-8",
    )
    rows = list(parse_ascii(f, "lines"))
    assert rows[0].text == "A MOVE to stop Mr. Gaitskell from"  # type: ignore[union-attr]
    assert rows[0].box == (408, 746, 1661, 89) and rows[0].ok  # type: ignore[union-attr]
    assert not rows[1].ok and rows[1].line == 3  # type: ignore[union-attr]
    assert rows[2].kind == "malformed" and rows[2].line == 4  # type: ignore[union-attr]
