"""Scoring of the img2seq benches (lines and pages): a checkpoint read on a test LMDB,
scored by `strtool.evaluation.lines.score_lines` (the metrics `strtool eval` prints:
CER and WER on strings, WER not for CJK, line CER and dropped / merged / split /
inserted lines), with a 95 % interval of each CER over the test samples
(`strtool.evaluation.intervals.ratio_rate`, delta method) and ms per image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from strtool.data.dataset import LmdbDataset
from strtool.engine.evaluate import read_pages_dataset
from strtool.engine.reader import open_reader
from strtool.evaluation.intervals import ratio_rate
from strtool.evaluation.lines import score_lines
from strtool.tasks.base import DecodingOptions


def evaluate(
    ckpt: Path,
    test: Path,
    batch: int,
    examples: int = 3,
    decoding: DecodingOptions | None = None,
    segment: bool = False,
) -> dict[str, Any]:
    """Rows per language and `pooled` (`LineRow.to_dict` plus `cer_95` and
    `line_count_ok`: the share of samples read with their gt's number of lines),
    `ms_per_image`, parameters, arch and the first `examples` readings; `decoding`
    replaces the checkpoint's beam width / joint CTC weight; `segment`: the samples
    are pages, cut into lines and read line by line (`strtool.engine.pages`)."""
    rec = open_reader(ckpt, "cpu", decoding=decoding)
    if segment:
        ds = LmdbDataset([test], transform=rec.transform.to_array)
        res = read_pages_dataset(rec, ds, batch)
    else:
        res = rec.read_dataset(LmdbDataset([test], transform=rec.transform), batch)
    report = score_lines(res.preds, res.gts, res.langs)
    rows: dict[str, Any] = {}
    for row in report.rows:
        idx = [i for i, g in enumerate(res.langs) if row.name in ("pooled", g)]
        samples = [report.samples[i] for i in idx]
        edits = np.array([s.edits for s in samples])
        units = np.array([s.gt_units for s in samples])
        lo, hi = ratio_rate(edits, units)
        ok = sum(s.gt_lines == s.pred_lines for s in samples)
        rows[row.name] = {**row.to_dict(), "cer_95": [1.0 - hi, 1.0 - lo],
                          "line_count_ok": ok / max(len(samples), 1)}  # fmt: skip
    pairs = list(zip(res.gts, res.preds, strict=True))[:examples]
    return {"rows": rows, "ms_per_image": res.ms_per_image, "params": rec.params,
            "arch": rec.config.model.arch,
            "examples": [{"gt": g, "pred": p} for g, p in pairs]}  # fmt: skip
