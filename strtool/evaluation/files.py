"""Score a prediction file against a gt file (`strtool eval --pred --gt`); texts with
line breaks (escaped as `\\n`) also get the line-aware figures of
`strtool.evaluation.lines`."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from strtool.errors import InputError
from strtool.evaluation.io import read_gt, read_preds
from strtool.evaluation.lines import LineReport, has_multiline, score_lines
from strtool.evaluation.metrics import Profile, score
from strtool.evaluation.report import Report
from strtool.text.escape import unescape_text
from strtool.text.normalize import Unit


@dataclass
class FileEvaluation:
    """A report plus the keys that did not match: `missing` gt keys (scored as empty
    predictions) and `extra` prediction keys (ignored), both in file order."""

    report: Report
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    #: Line-aware figures (`strtool.evaluation.lines`), when a gt or prediction has
    #: more than one line.
    lines: LineReport | None = None


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: bulk parsing creates ~10^5 containers and
    would otherwise trigger repeated full collections (about 40 % of the run time).
    Reference counting still frees everything; the collector resumes afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def evaluate_files(
    pred_path: Path,
    gt_path: Path,
    profile: str | Profile = "default",
    unit: Unit = "codepoint",
    gt_format: str = "auto",
    script_acc: bool = False,
    escapes: bool = True,
) -> FileEvaluation:
    """Read both files, match predictions to gt by key and score them.

    gt keys without a prediction count as empty predictions; prediction keys not in
    the gt are ignored (listed in `extra`). No key in common -> `InputError` (almost
    always a wrong file or separator). With `escapes` (default) the texts of both
    files are unescaped (`strtool.text.escape`: `\\n` is a line break, `\\\\` a
    backslash), so line and page texts fit on one line; when any has more than one
    line, `lines` holds the line-aware figures."""
    with no_cyclic_gc():
        ev = _evaluate_files(pred_path, gt_path, profile, unit, gt_format, script_acc, escapes)
    return ev


def _evaluate_files(
    pred_path: Path,
    gt_path: Path,
    profile: str | Profile,
    unit: Unit,
    gt_format: str,
    script_acc: bool,
    escapes: bool,
) -> FileEvaluation:
    gt = read_gt(gt_path, gt_format)
    pred = read_preds(pred_path)
    texts = pred.texts
    gt_texts = gt.texts
    if escapes:
        texts = {k: unescape_text(v) for k, v in texts.items()}
        gt_texts = [unescape_text(t) for t in gt_texts]
    preds: list[str] = []
    missing: list[str] = []
    for key in gt.keys:
        p = texts.get(key)
        if p is None:
            missing.append(key)
            p = ""
        preds.append(p)
    if len(missing) == len(gt.keys):
        example = next(iter(texts))
        raise InputError(
            f"{pred_path}: no prediction key is in {gt_path} (e.g. '{example}' vs '{gt.keys[0]}')"
        )
    extra: list[str] = []
    if len(texts) > len(gt.keys) - len(missing):
        gt_keys = set(gt.keys)
        extra = [k for k in texts if k not in gt_keys]
    report = score(
        preds, gt_texts, gt.langs, profile=profile, unit=unit, keys=gt.keys,
        script_acc=script_acc,
    )  # fmt: skip
    report.missing_preds = len(missing)
    report.extra_preds = len(extra)
    lines = None
    if has_multiline(gt_texts) or has_multiline(preds):
        lines = score_lines(preds, gt_texts, gt.langs, profile, unit)
    return FileEvaluation(report, missing, extra, lines)
