"""bench/img2seq_eval.py on the overfit page model: the figures `strtool eval` gives
(score_lines), with a CER interval and the line-count share."""

from __future__ import annotations

from pathlib import Path

from bench_modules import load_bench


def test_bench_eval_of_the_overfit_page_model(page_run: tuple[Path, dict], page_lmdb: Path):
    res = load_bench("img2seq_eval").evaluate(page_run[0] / "last.pt", page_lmdb, batch=2)
    assert set(res["rows"]) == {"en", "pooled"}
    row = res["rows"]["pooled"]
    assert row["n"] == 2 and row["gt_lines"] == 4  # two pages of two lines
    assert row["cer"] == 0.0 and row["cer_95"] == [0.0, 0.0]  # read exactly
    assert row["line_count_ok"] == 1.0 and row["dropped_lines"] == row["merged_lines"] == 0
    assert res["ms_per_image"] > 0 and res["params"] > 0
    assert res["examples"][0]["gt"] == res["examples"][0]["pred"]
