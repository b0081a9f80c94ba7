"""Reading pred/gt files: formats, matching by key, and errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from strtool.errors import InputError
from strtool.evaluation.files import evaluate_files
from strtool.evaluation.io import read_gt, read_preds


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_tsv_gt_with_lang_bom_crlf_and_blank_lines(tmp_path):
    gt = write(tmp_path / "gt.tsv", "\ufeffa\tHello \r\n\r\nb\tمرحبا\tar\r\n c \t\t\n")
    t = read_gt(gt)
    assert t.keys == ["a", "b", "c"]
    assert t.texts == ["Hello ", "مرحبا", ""]  # texts verbatim, keys stripped
    assert t.langs == [None, "ar", None]
    assert read_gt(write(tmp_path / "g2.tsv", "a\tx\n")).langs is None


def test_mlt_gt(tmp_path):
    gt = write(tmp_path / "gt.txt", "w1.jpg,Arabic,سلام\nw2.jpg,Latin,a,b\nw3.jpg,Symbols,#\n")
    t = read_gt(gt)
    assert t.keys == ["w1.jpg", "w2.jpg", "w3.jpg"]
    assert t.texts == ["سلام", "a,b", "#"]
    assert t.langs == ["ARA", "LAT", None]
    bad = write(tmp_path / "bad.txt", "w1.jpg,Latin,a\nw2.jpg,Klingon,b\n")
    with pytest.raises(InputError, match=r"bad.txt:2: unknown MLT Script 'Klingon'"):
        read_gt(bad)


def test_preds_with_confidence_and_empty(tmp_path):
    p = read_preds(write(tmp_path / "p.tsv", "a\thello\t0.9\nb\t\nc\tx\t\n"))
    assert p.texts == {"a": "hello", "b": "", "c": "x"}
    assert p.confidences == {"a": 0.9}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a\tx\nb\ty\na\tz\n", r"p.tsv:3: duplicate key 'a' \(first on line 1\)"),
        ("a\tx\n\nb y\n", r"p.tsv:3: expected 'key<TAB>text"),
        ("a\tx\nb\ty\t0.5\textra\n", r"p.tsv:2: 4 tab-separated columns"),
        ("a\tx\tnot-a-number\n", r"p.tsv:1: confidence 'not-a-number' is not a number"),
        ("a\tx\n \ty\n", r"p.tsv:2: empty key"),
        ("\n\n", r"p.tsv: no samples \(empty file\)"),
        ("", r"p.tsv: no samples"),
    ],
)
def test_pred_errors_name_file_and_line(tmp_path, content, message):
    with pytest.raises(InputError, match=message):
        read_preds(write(tmp_path / "p.tsv", content))


def test_bad_utf8_names_line(tmp_path):
    p = write(tmp_path / "p.tsv", b"a\tok\nb\tok\nc\t\xff\xfe\n")
    with pytest.raises(InputError, match=r"p.tsv:3: not valid UTF-8"):
        read_preds(p)
    with pytest.raises(InputError, match=r"g.tsv:3: not valid UTF-8"):
        read_gt(write(tmp_path / "g.tsv", b"a\tok\nb\tok\nc\t\xc3\n"))


def test_gt_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_gt(tmp_path / "nope.tsv")
    with pytest.raises(InputError, match="not a file"):
        read_gt(tmp_path)
    with pytest.raises(InputError, match=r"g.tsv:1: expected 'key<TAB>text' or"):
        read_gt(write(tmp_path / "g.tsv", "just text\n"))
    with pytest.raises(InputError, match=r"g.tsv:2: expected 'key<TAB>text\[<TAB>lang\]'"):
        read_gt(write(tmp_path / "g.tsv", "a\tx\nno tab\n"), fmt="tsv")
    with pytest.raises(InputError, match=r"g.tsv:2: duplicate key 'a'"):
        read_gt(write(tmp_path / "g.tsv", "a\tx\na \ty\n"))
    with pytest.raises(InputError, match="unknown gt format"):
        read_gt(write(tmp_path / "g.tsv", "a\tx\n"), fmt="csv")


def test_evaluate_files_missing_and_extra(tmp_path):
    gt = write(tmp_path / "gt.tsv", "a\tabc\nb\tabd\nc\txyz\n")
    pred = write(tmp_path / "p.tsv", "a\tabc\nb\tabc\nz\tq\n")
    res = evaluate_files(pred, gt)
    assert res.missing == ["c"] and res.extra == ["z"]
    r = res.report
    assert (r.missing_preds, r.extra_preds) == (1, 1)
    assert r.pooled.n == 3 and r.pooled.empty_preds == 1
    assert r.pooled.crr == pytest.approx(1 - 4 / 9)
    assert r.to_dict()["missing_preds"] == 1


def test_evaluate_files_no_common_key(tmp_path):
    gt = write(tmp_path / "gt.tsv", "a\tabc\n")
    pred = write(tmp_path / "p.tsv", "x\tabc\n")
    with pytest.raises(InputError, match="no prediction key is in"):
        evaluate_files(pred, gt)
