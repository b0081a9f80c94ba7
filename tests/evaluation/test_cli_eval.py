"""`strtool eval --pred --gt`: table, JSON, worst samples, dump, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from strtool.cli import app

runner = CliRunner()

GT = "a\tHello\tLAT\nb\tworld\tLAT\nc\tمرحبا\tARA\nd\tकिताब\tHIN\ne\tabc\tLAT\n"
PRED = "a\thello\t0.4\nb\tworld\t0.9\nc\tمرحب\t0.8\nd\tकताब\t0.7\nx\tjunk\t0.1\n"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    gt, pred = tmp_path / "gt.tsv", tmp_path / "pred.tsv"
    gt.write_text(GT, encoding="utf-8")
    pred.write_text(PRED, encoding="utf-8")
    return pred, gt


def run(*args: str):
    return runner.invoke(app, ["eval", *args])


def test_table(files):
    pred, gt = files
    r = run("--pred", str(pred), "--gt", str(gt))
    assert r.exit_code == 0, r.output
    for word in ("ARA", "HIN", "LAT", "pooled", "macro", "WRR-nc", "1-NED"):
        assert word in r.stdout
    assert "1 gt keys have no prediction" in r.stderr and "'e'" in r.stderr
    assert "1 prediction keys are not in the gt" in r.stderr and "'x'" in r.stderr


def test_json_values(files):
    pred, gt = files
    r = run("--pred", str(pred), "--gt", str(gt), "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    rows = {row["group"]: row for row in d["rows"]}
    assert d["grouping"] == "lang" and d["missing_preds"] == 1 and d["extra_preds"] == 1
    # LAT: Hello/hello (case), world ok, abc missing -> WRR 1/3, WRR-nocase 2/3
    assert rows["LAT"]["wrr"] == pytest.approx(1 / 3)
    assert rows["LAT"]["wrr_nocase"] == pytest.approx(2 / 3)
    assert rows["LAT"]["crr"] == pytest.approx(1 - 4 / 13)
    assert rows["ARA"]["1-ned"] == pytest.approx(0.8)
    assert rows["pooled"]["wrr"] == pytest.approx(1 / 5)
    assert rows["macro"]["wrr"] == pytest.approx((1 / 3 + 0 + 0) / 3)
    g = json.loads(run("--pred", str(pred), "--gt", str(gt), "--json", "--unit", "grapheme").stdout)
    hin = next(row for row in g["rows"] if row["group"] == "HIN")
    assert g["unit"] == "grapheme" and hin["gt_units"] == 3 and hin["crr"] == pytest.approx(2 / 3)


def test_profiles_listed():
    r = run("--list-profiles")
    assert r.exit_code == 0
    for name in ("default", "mstr", "cll", "NFKD"):
        assert name in r.stdout
    d = json.loads(run("--list-profiles", "--json").stdout)
    assert d["cll"]["both_empty_ned"] == 0.0


def test_errors_and_dump(files, tmp_path):
    pred, gt = files
    out = tmp_path / "worst.tsv"
    r = run("--pred", str(pred), "--gt", str(gt), "--errors", "2", "--dump", str(out), "-q")
    assert r.exit_code == 0, r.output
    assert "2 worst samples" in r.stderr and "abc" in r.stderr
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["key", "group", "edits", "1-ned", "gt", "prediction"]
    assert [x.split("\t")[0] for x in lines[1:]] == ["e", "a"]  # 1-NED 0.0, then 0.8 ...
    all_wrong = tmp_path / "all.tsv"
    run("--pred", str(pred), "--gt", str(gt), "--dump", str(all_wrong))
    assert len(all_wrong.read_text(encoding="utf-8").splitlines()) == 1 + 4


def test_profile_changes_result(tmp_path):
    gt, pred = tmp_path / "g.tsv", tmp_path / "p.tsv"
    gt.write_text("k\tfish\n", encoding="utf-8")
    pred.write_text("k\tﬁsh\n", encoding="utf-8")
    base = json.loads(run("--pred", str(pred), "--gt", str(gt), "--json").stdout)
    mstr = json.loads(run("--pred", str(pred), "--gt", str(gt), "--json", "-p", "mstr").stdout)
    assert base["rows"][-2]["wrr"] == 0.0 and mstr["rows"][-2]["wrr"] == 1.0


def one_line_error(r) -> str:
    assert r.exit_code == 1, r.output
    lines = r.stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "Traceback" not in r.output
    return lines[0]


def test_bad_inputs_exit_1(files, tmp_path):
    pred, gt = files
    assert "does not exist" in one_line_error(run("--pred", str(tmp_path / "no"), "--gt", str(gt)))
    dup = tmp_path / "dup.tsv"
    dup.write_text("a\tx\nb\ty\na\tz\n", encoding="utf-8")
    assert "dup.tsv:3: duplicate key 'a'" in one_line_error(
        run("--pred", str(dup), "--gt", str(gt))
    )
    bad = tmp_path / "bad.tsv"
    bad.write_bytes(b"a\tok\n\xff\n")
    assert "bad.tsv:2: not valid UTF-8" in one_line_error(run("--pred", str(bad), "--gt", str(gt)))
    empty = tmp_path / "empty.tsv"
    empty.write_text("", encoding="utf-8")
    assert "empty file" in one_line_error(run("--pred", str(pred), "--gt", str(empty)))
    malformed = tmp_path / "m.tsv"
    malformed.write_text("a\tx\nno-tab-here\n", encoding="utf-8")
    assert "m.tsv:2:" in one_line_error(run("--pred", str(malformed), "--gt", str(gt)))
    assert "profile 'x'" in one_line_error(run("--pred", str(pred), "--gt", str(gt), "-p", "x"))
    assert "unit 'word'" in one_line_error(
        run("--pred", str(pred), "--gt", str(gt), "--unit", "word")
    )
    assert "--pred and --gt" in one_line_error(run("--pred", str(pred)))
    other = tmp_path / "other.tsv"
    other.write_text("zz\tx\n", encoding="utf-8")
    assert "no prediction key" in one_line_error(run("--pred", str(other), "--gt", str(gt)))


def test_brackets_are_not_markup(tmp_path):
    gt, pred = tmp_path / "g.tsv", tmp_path / "p.tsv"
    gt.write_text("k[bold]\tx[red]y\tL[i]\nb\tz\n", encoding="utf-8")
    pred.write_text("k[bold]\tq\nb\tz\nc[x]\tr\n", encoding="utf-8")
    r = run("--pred", str(pred), "--gt", str(gt), "--errors", "1")
    assert r.exit_code == 0, r.output
    assert "L[i]" in r.stdout
    assert "k[bold]" in r.stderr and "x[red]y" in r.stderr and "'c[x]'" in r.stderr


def _table_cells(stdout: str, first: str) -> list[str]:
    line = next(ln for ln in stdout.splitlines() if ln.strip("│┃ ").startswith(first))
    return [c.strip() for c in line.replace("┃", "│").split("│") if c.strip()]


def test_table_header_states_percent_and_json_holds_fractions(files):
    """The table and --json show the same rates on a stated scale: a "%" in each rate
    heading of the table, fractions in [0, 1] in JSON (README: Commands)."""
    pred, gt = files
    r = runner.invoke(app, ["eval", "--pred", str(pred), "--gt", str(gt)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    head = _table_cells(r.stdout, "group")
    assert head == ["group", "n", "WRR %", "WRR-nc %", "CRR %", "1-NED %", "empty pred"]
    lat = _table_cells(r.stdout, "LAT")
    d = json.loads(run("--pred", str(pred), "--gt", str(gt), "--json").stdout)
    row = next(x for x in d["rows"] if x["group"] == "LAT")
    keys = ("wrr", "wrr_nocase", "crr", "1-ned")
    assert all(0 <= row[k] <= 1 for k in keys)
    assert lat[2:6] == [f"{100 * row[k]:.2f}" for k in keys]  # 33.33 in the table, 0.333 JSON


def test_a_narrow_terminal_folds_headings_but_never_cuts_a_number(tmp_path):
    """At 60 columns (narrower than the line table) every figure and group name is
    printed whole; rich used to cut them (`47.…`, `pool…`)."""
    gt = tmp_path / "gt.tsv"
    gt.write_text("a\thello\tLAT\nb\twor\\nld\tLAT\nc\tcity\tLAT\n", encoding="utf-8")
    pred = tmp_path / "pred.tsv"
    pred.write_text("a\thello\nb\twor\\nlx\nc\tx\n", encoding="utf-8")
    r = runner.invoke(app, ["eval", "--pred", str(pred), "--gt", str(gt)], env={"COLUMNS": "60"})
    assert r.exit_code == 0, r.output
    assert "…" not in r.stdout
    d = json.loads(run("--pred", str(pred), "--gt", str(gt), "--json").stdout)
    pooled = next(x for x in d["rows"] if x["group"] == "pooled")
    lines = [ln for ln in r.stdout.splitlines() if ln.strip("│ ").startswith("pooled")]
    assert len(lines) >= 3  # the rates, the intervals and the line tables
    assert f"{100 * pooled['crr']:.2f}" in lines[0] and f"{100 * pooled['wrr']:.2f}" in lines[0]
