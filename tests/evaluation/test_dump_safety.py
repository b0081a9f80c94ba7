"""`strtool eval --dump` never overwrites an input or a file it did not write, and
fails before scoring with one line when the path cannot be written."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from strtool.cli import app

runner = CliRunner()
GT = "a\tHello\nb\tworld\n"
PRED = "a\thello\nb\tworld\n"


def tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
            for p in sorted(root.rglob("*"))}  # fmt: skip


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    gt, pred = tmp_path / "gt.tsv", tmp_path / "pred.tsv"
    gt.write_text(GT, encoding="utf-8")
    pred.write_text(PRED, encoding="utf-8")
    return pred, gt


def test_dump_replaces_its_own_dump(files, tmp_path):
    pred, gt = files
    out = tmp_path / "worst.tsv"
    for _ in range(2):
        r = runner.invoke(app, ["eval", "--pred", str(pred), "--gt", str(gt), "--dump", str(out)])
        assert r.exit_code == 0, r.output
    assert out.read_text(encoding="utf-8").startswith("key\tgroup\tedits")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt.tsv", "pred.tsv", "worst.tsv"]


@pytest.mark.parametrize("target", ["pred.tsv", "gt.tsv", "notes.tsv", "folder", "afile/x.tsv"])
def test_dump_refuses_inputs_and_foreign_files(files, tmp_path, target):
    pred, gt = files
    (tmp_path / "notes.tsv").write_text("my notes\n", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    before = tree(tmp_path)
    dump = tmp_path / target
    r = runner.invoke(app, ["eval", "--pred", str(pred), "--gt", str(gt), "--dump", str(dump)])
    assert r.exit_code == 1 and r.stdout == ""  # refused before scoring
    lines = r.stderr.strip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert str(tmp_path / target.split("/")[0]) in lines[0]
    assert tree(tmp_path) == before
