"""Line-aware metrics (hand-checked values) and `strtool eval` on multi-line files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strtool.cli import app
from strtool.evaluation.lines import align_lines, score_lines, score_sample
from strtool.text.escape import escape_text, unescape_text

runner = CliRunner()


def test_alignment_events() -> None:
    gt = ["the cat sat", "on the mat", "today"]
    assert align_lines(gt, gt).cost == 0 and align_lines(gt, gt).matched == 3
    dropped = align_lines(["the cat sat", "today"], gt)
    assert (dropped.dropped, dropped.merged, dropped.cost) == (1, 0, 10)
    merged = align_lines(["the cat sat on the mat", "today"], gt)
    assert (merged.merged, merged.dropped, merged.cost) == (1, 0, 0)
    split = align_lines(["the cat", "sat", "on the mat", "today"], gt)
    assert (split.split, split.cost) == (1, 0)
    extra = align_lines([*gt, "noise"], gt)
    assert (extra.inserted, extra.cost) == (1, 5)
    assert align_lines([], gt).dropped == 3 and align_lines(gt, []).inserted == 3


def test_page_cer_wer_by_hand() -> None:
    # gt page "ab cd\nef" = 8 units; pred "ab cx ef": one substitution (d->x) and the
    # line break read as a space (one substitution) -> CER 2/8.
    s = score_sample("ab cx ef", "ab cd\nef", "LAT")
    assert (s.edits, s.gt_units) == (2, 8) and s.cer == pytest.approx(0.25)
    # words: gt [ab, cd, ef], pred [ab, cx, ef] -> WER 1/3
    assert (s.word_edits, s.gt_words) == (1, 3) and s.wer == pytest.approx(1 / 3)
    # one pred line for two gt lines: a merge, line cost ED("ab cd ef", "ab cx ef") = 1
    assert (s.gt_lines, s.pred_lines, s.merged, s.dropped, s.line_edits) == (2, 1, 1, 0, 1)
    assert s.line_cer == pytest.approx(1 / 7)


def test_cjk_cer_only_and_pooled() -> None:
    rep = score_lines(["今天\n好", "a b"], ["今天\n天气", "a c"], ["zh", "en"])
    en, zh, pooled = rep.rows
    assert zh.name == "zh" and zh.wer is None
    # zh: gt "今天\n天气" (5 units), pred "今天\n好": 2 edits
    assert (zh.edits, zh.gt_units) == (2, 5)
    assert en.wer == pytest.approx(0.5) and pooled.wer == pytest.approx(0.5)  # en words only
    assert pooled.cer == pytest.approx(3 / 8)


def test_whitespace_inside_lines_is_normalised_and_blank_lines_ignored() -> None:
    s = score_sample("hello   world\n\n  next \n", "hello world\nnext", "LAT")
    assert s.edits == 0 and s.pred_lines == 2 and s.inserted == 0


def test_eval_cli_multiline_files(tmp_path: Path) -> None:
    gt = tmp_path / "gt.tsv"
    pred = tmp_path / "pred.tsv"
    gt.write_text("p1\tthe cat sat\\non the mat\\ntoday\ten\np2\tone line\ten\n", "utf-8")
    pred.write_text("p1\tthe cat sat on the mat\\ntoday\np2\tone line\n", "utf-8")
    r = runner.invoke(app, ["eval", "--pred", str(pred), "--gt", str(gt), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    pooled = data["lines"]["rows"][-1]
    assert pooled["merged_lines"] == 1 and pooled["dropped_lines"] == 0
    assert pooled["gt_lines"] == 4 and pooled["pred_lines"] == 3
    # page CER: the merge costs one edit (line break -> space) of 31 + 8 gt units
    assert pooled["edits"] == 1 and pooled["gt_units"] == len("the cat sat\non the mat\ntoday") + 8
    assert pooled["wer"] == 0.0
    r = runner.invoke(app, ["eval", "--pred", str(pred), "--gt", str(gt)])
    assert r.exit_code == 0 and "lines: profile default" in r.stdout
    # verbatim: no line breaks, so no line table; texts keep the backslashes
    r = runner.invoke(app, ["eval", "--pred", str(pred), "--gt", str(gt), "--no-escapes",
                            "--json"])  # fmt: skip
    assert r.exit_code == 0 and "lines" not in json.loads(r.stdout)


def test_eval_cli_word_files_unchanged(tmp_path: Path) -> None:
    gt = tmp_path / "gt.tsv"
    pred = tmp_path / "pred.tsv"
    gt.write_text("a\thello\nb\tworld\n", "utf-8")
    pred.write_text("a\thello\nb\tword\n", "utf-8")
    r = runner.invoke(app, ["eval", "--pred", str(pred), "--gt", str(gt)])
    assert r.exit_code == 0 and "lines: profile" not in r.stdout


def test_synth_pages_export_is_a_gt_for_eval(tmp_path: Path) -> None:
    """Pages rendered, exported (escaped gt.txt) and scored: a prediction file that
    merges two lines of one page and drops the last line of another."""
    pages, exp = tmp_path / "pages", tmp_path / "exp"
    r = runner.invoke(app, ["synth", "pages", "-o", str(pages), "--lang", "en", "--num", "2",
                            "--set", "page.lines=[3,3]", "--width", "200", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert runner.invoke(app, ["lmdb", "export", str(pages), str(exp), "-q"]).exit_code == 0
    rows = [x.split("\t") for x in (exp / "gt.txt").read_text("utf-8").splitlines()]
    first = unescape_text(rows[0][1]).split("\n")
    second = unescape_text(rows[1][1]).split("\n")
    assert len(first) == len(second) == 3
    merged = escape_text(" ".join(first[:2]) + "\n" + first[2])
    dropped = escape_text("\n".join(second[:2]))
    pred = tmp_path / "pred.tsv"
    pred.write_text(f"{rows[0][0]}\t{merged}\n{rows[1][0]}\t{dropped}\n", "utf-8")
    r = runner.invoke(app, ["eval", "--pred", str(pred), "--gt", str(exp / "gt.txt"), "--json"])
    assert r.exit_code == 0, r.output
    pooled = json.loads(r.stdout)["lines"]["rows"][-1]
    assert (pooled["gt_lines"], pooled["pred_lines"]) == (6, 4)
    assert (pooled["merged_lines"], pooled["dropped_lines"]) == (1, 1)
    assert pooled["edits"] == 1 + len(second[2]) + 1  # a break -> space; a line and its break
