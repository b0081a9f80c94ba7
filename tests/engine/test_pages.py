"""Pages read line by line (`strtool.engine.pages`, `predict --segment`, `eval
--segment`): the shipped model reads three-line pages drawn here, line by line, with
the line structure intact; bad files get their error row."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from img2seq.conftest import render_text
from PIL import Image
from typer.testing import CliRunner, Result

from strtool.cli import app
from strtool.data.layout import rotate
from strtool.data.lmdb_writer import LmdbWriter
from strtool.engine.pages import read_pages
from strtool.engine.reader import open_reader
from strtool.evaluation.lines import score_lines

PAGES = ["OPEN 24 HOURS\nStation Road\nexit 7", "Coffee\nfresh bread\nPLATFORM 3",
         "Guten Tag\nMaß 1,50\nzone B"]  # fmt: skip


def page_png(text: str, pad: int = 16) -> bytes:
    """Black on white, one rendered row per line, left-aligned (DejaVu Sans, 28 px)."""
    return render_text(text, size=28, pad=pad, gap=14)


def cli(*args: object, code: int = 0) -> Result:
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == code, (res.stdout, res.stderr)
    return res


def test_the_shipped_model_reads_pages_line_by_line() -> None:
    rec = open_reader("default", "cpu")
    arrays = [np.asarray(Image.open(io.BytesIO(page_png(t))).convert("L")) for t in PAGES]
    pages = read_pages(rec, arrays, batch_size=4)
    assert [p.text.count("\n") for p in pages] == [2, 2, 2]
    report = score_lines([p.text for p in pages], PAGES, ["en"] * 3)
    pooled = next(r for r in report.rows if r.name == "pooled")
    assert pooled.cer <= 0.1 and pooled.merged == pooled.dropped == 0
    for page in pages:
        assert page.confidence == min(x["confidence"] for x in page.lines) > 0


@pytest.mark.slow  # three model loads through the CLI
def test_predict_and_eval_segment(tmp_path: Path) -> None:
    for i, text in enumerate(PAGES):
        (tmp_path / f"p{i}.png").write_bytes(page_png(text))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    grey = np.asarray(Image.open(io.BytesIO(page_png(PAGES[0]))).convert("L"))
    Image.fromarray(rotate(grey, 2.0)).save(tmp_path / "p3.png")  # a page 2 degrees off
    res = cli("predict", "-m", "default", tmp_path, "--segment", "--json", "--quiet", code=1)
    rows = json.loads(res.stdout)
    assert rows[0]["path"].endswith("bad.png") and rows[0]["error"] and "bad.png" in res.stderr
    assert rows[0]["skew"] is None and rows[-1]["path"].endswith("p3.png")
    assert rows[1]["skew"] == 0.0 and abs(rows[-1]["skew"] - 2.0) <= 0.3  # turned back
    for r in rows[1:]:
        assert len(r["lines"]) == 3 and r["text"] == "\n".join(x["text"] for x in r["lines"])
        tops = [x["box"]["top"] for x in r["lines"]]
        assert tops == sorted(tops) and all(
            x["box"]["right"] > x["box"]["left"] for x in r["lines"]
        )
    tsv = cli("predict", tmp_path / "p0.png", "--segment", "--quiet").stdout
    assert tsv.count("\\n") == 2 and tsv.count("\n") == 1  # escaped line breaks, one row
    lmdb = tmp_path / "pages.lmdb"
    with LmdbWriter(lmdb, meta={"source": "test"}) as w:
        for text in PAGES:
            w.add(page_png(text), text, "en")
    rep = json.loads(
        cli("eval", "--model", "default", "--data", lmdb, "--segment", "--json").stdout
    )
    lines = next(r for r in rep["lines"]["rows"] if r["group"] == "pooled")
    assert lines["cer"] <= 0.1 and lines["gt_lines"] == 9 and lines["pred_lines"] == 9
    res = cli("eval", "--pred", lmdb, "--gt", lmdb, "--segment", code=1)
    assert "--segment reads pages with a model" in res.stderr


def test_predict_flags_pages_read_as_one_crop(tmp_path: Path) -> None:
    # a page read without --segment is read as one crop: its row says it holds several
    # lines and one warning points to --segment; a word crop, even a large one, does not
    (tmp_path / "page.png").write_bytes(page_png(PAGES[0]))
    (tmp_path / "word.png").write_bytes(render_text("Station", size=90, pad=20))
    # a column of glyphs one above the other (as vertical CJK crops are): square bands
    (tmp_path / "column.png").write_bytes(render_text("H\nO\nT\nE\nL", size=28, pad=6))
    res = cli("predict", tmp_path, "--json", "--quiet")
    rows = {Path(r["path"]).name: r for r in json.loads(res.stdout)}
    assert rows["page.png"]["page_lines"] == 3 and rows["word.png"]["page_lines"] is None
    assert rows["column.png"]["page_lines"] is None
    assert "1 image(s) hold several text lines" in res.stderr and "--segment" in res.stderr
    res = cli("predict", tmp_path / "word.png", "--quiet")
    assert "several text lines" not in res.stderr
