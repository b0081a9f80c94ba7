"""Metric reports: per-group rows, the pooled and macro rows, the worst samples.

A `Report` is built from per-sample arrays (edit distance, 1-NED, lengths, exact
matches) by `build_report`; `strtool.evaluation.metrics.score` is the usual entry.
Groups are the language column when given, else the MLT script class of the gt
(`strtool.text.script.detect_group`), `OTHER` for a gt without letters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np

from strtool.evaluation.grouping import detect_groups
from strtool.evaluation.intervals import macro as macro_interval
from strtool.evaluation.intervals import ratio_rate, wilson

POOLED = "pooled"
MACRO = "macro"
#: Group of a sample whose gt has no letters (digits, symbols, empty).
NO_GROUP = "OTHER"


@dataclass(frozen=True)
class GroupRow:
    """Figures of one group (or `pooled` / `macro`). Rates are in [0, 1] except CRR,
    which is negative when predictions insert more units than the gt has.
    `gt_units` / `edits`: sums of gt lengths and edit distances (declared unit);
    `script_acc`: None unless requested (or no sample of the group has a script)."""

    name: str
    n: int
    wrr: float
    wrr_nocase: float
    crr: float
    ned: float
    empty_preds: int
    gt_units: int
    edits: int
    script_acc: float | None = None
    #: 95 % intervals (`strtool.evaluation.intervals`): Wilson for WRR, delta-method CRR
    wrr_low: float = 0.0
    wrr_high: float = 0.0
    crr_low: float = 0.0
    crr_high: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict; `1-ned` is 1-NED (higher is better)."""
        return {
            "group": self.name,
            "n": self.n,
            "wrr": self.wrr,
            "wrr_nocase": self.wrr_nocase,
            "crr": self.crr,
            "1-ned": self.ned,
            "empty_preds": self.empty_preds,
            "gt_units": self.gt_units,
            "edits": self.edits,
            "script_acc": self.script_acc,
            "wrr_95": [self.wrr_low, self.wrr_high],
            "crr_95": [self.crr_low, self.crr_high],
        }


@dataclass(frozen=True)
class SampleScore:
    """One scored sample, as given (texts before normalisation)."""

    key: str
    group: str
    gt: str
    pred: str
    ed: int
    ned: float


class _Samples(TypedDict):
    """Per-sample data kept by a `Report` for `Report.worst` (arrays of shape (N,))."""

    keys: Sequence[str] | None
    groups: list[str]
    gts: Sequence[str]
    preds: Sequence[str]
    ned: np.ndarray
    ed: np.ndarray
    exact: np.ndarray


@dataclass
class Report:
    """Rows per group (sorted by name), then `pooled`, then `macro`.

    `missing_preds`: gt keys without a prediction (scored as empty predictions);
    `extra_preds`: prediction keys not in the gt (ignored). Both are set by file-level
    evaluation and stay 0 for `score(...)`."""

    rows: list[GroupRow]
    profile: str
    unit: str
    grouping: str
    missing_preds: int = 0
    extra_preds: int = 0
    _samples: _Samples | None = field(default=None, repr=False)

    @property
    def pooled(self) -> GroupRow:
        """The row over all samples."""
        return next(r for r in self.rows if r.name == POOLED)

    @property
    def groups(self) -> list[GroupRow]:
        """Per-group rows only."""
        return [r for r in self.rows if r.name not in (POOLED, MACRO)]

    def worst(self, n: int) -> list[SampleScore]:
        """The `n` worst samples: lowest 1-NED first, then largest edit distance."""
        s = self._samples
        if n <= 0 or s is None:
            return []
        ned, ed = s["ned"], s["ed"]
        wrong = np.flatnonzero(~s["exact"])
        order = wrong[np.lexsort((-ed[wrong], ned[wrong]))][:n]
        keys = s["keys"]
        return [
            SampleScore(
                key=str(keys[i]) if keys is not None else str(i + 1),
                group=s["groups"][i],
                gt=s["gts"][i],
                pred=s["preds"][i],
                ed=int(ed[i]),
                ned=float(ned[i]),
            )
            for i in order
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: settings, counts and `rows` (see `GroupRow.to_dict`)."""
        return {
            "profile": self.profile,
            "unit": self.unit,
            "grouping": self.grouping,
            "n": self.pooled.n,
            "missing_preds": self.missing_preds,
            "extra_preds": self.extra_preds,
            "rows": [r.to_dict() for r in self.rows],
        }


def group_labels(gts: Sequence[str], langs: Sequence[str | None] | None) -> tuple[list[str], str]:
    """Group of each sample and the grouping kind (`lang`, `script` or `lang+script`):
    the language column when given and not empty, else the gt's script group."""
    if langs is None:
        return [g or NO_GROUP for g in detect_groups(gts)], "script"
    todo = [i for i, lang in enumerate(langs) if not lang]
    detected = detect_groups([gts[i] for i in todo])
    out = [lang or "" for lang in langs]
    for i, g in zip(todo, detected, strict=True):
        out[i] = g or NO_GROUP
    kind = "lang" if not todo else ("script" if len(todo) == len(out) else "lang+script")
    return out, kind


def _row(name: str, idx: np.ndarray | slice, a: dict[str, np.ndarray]) -> GroupRow:
    ed, len_g = a["ed"][idx], a["len_g"][idx]
    n = int(ed.shape[0])
    units, edits = int(len_g.sum()), int(ed.sum())
    crr = 1.0 - edits / units if units else (1.0 if edits == 0 else 0.0)
    sacc = None
    if "script_ok" in a:
        has = a["has_script"][idx]
        if has.any():
            sacc = float(a["script_ok"][idx][has].mean())
    wrr_low, wrr_high = wilson(int(a["exact"][idx].sum()), n)
    crr_low, crr_high = ratio_rate(ed, len_g)
    return GroupRow(
        name=name,
        n=n,
        wrr_low=wrr_low,
        wrr_high=wrr_high,
        crr_low=crr_low,
        crr_high=crr_high,
        wrr=float(a["exact"][idx].mean()) if n else 0.0,
        wrr_nocase=float(a["exact_nocase"][idx].mean()) if n else 0.0,
        crr=crr,
        ned=float(a["ned"][idx].mean()) if n else 0.0,
        empty_preds=int((a["len_p"][idx] == 0).sum()),
        gt_units=units,
        edits=edits,
        script_acc=sacc,
    )


def _macro(rows: list[GroupRow], pooled: GroupRow) -> GroupRow:
    if not rows:
        return GroupRow(MACRO, 0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0, None)
    saccs = [r.script_acc for r in rows if r.script_acc is not None]
    wrr_low, wrr_high = macro_interval([(r.wrr, r.wrr_low, r.wrr_high) for r in rows])
    wrr_low, wrr_high = max(0.0, wrr_low), min(1.0, wrr_high)  # a rate of words
    crr_low, crr_high = macro_interval([(r.crr, r.crr_low, r.crr_high) for r in rows])
    crr_high = min(1.0, crr_high)  # 1 - edits / units never exceeds 1
    return GroupRow(
        wrr_low=wrr_low,
        wrr_high=wrr_high,
        crr_low=crr_low,
        crr_high=crr_high,
        name=MACRO,
        n=pooled.n,
        wrr=float(np.mean([r.wrr for r in rows])),
        wrr_nocase=float(np.mean([r.wrr_nocase for r in rows])),
        crr=float(np.mean([r.crr for r in rows])),
        ned=float(np.mean([r.ned for r in rows])),
        empty_preds=pooled.empty_preds,
        gt_units=pooled.gt_units,
        edits=pooled.edits,
        script_acc=float(np.mean(saccs)) if saccs else None,
    )


def _script_match(preds: Sequence[str], gt_groups: list[str]) -> np.ndarray:
    """Per sample: the prediction's script group equals the gt's, bool (N,)."""
    pred_groups = [g or NO_GROUP for g in detect_groups(preds)]
    return np.fromiter(map(str.__eq__, pred_groups, gt_groups), dtype=bool, count=len(preds))


def build_report(
    *,
    preds: Sequence[str],
    gts: Sequence[str],
    langs: Sequence[str | None] | None,
    ed: np.ndarray,
    ned: np.ndarray,
    len_p: np.ndarray,
    len_g: np.ndarray,
    exact: np.ndarray,
    exact_nocase: np.ndarray,
    keys: Sequence[str] | None,
    profile: str,
    unit: str,
    script_acc: bool = False,
) -> Report:
    """Aggregate per-sample arrays (all shape (N,)) into a `Report`."""
    groups, grouping = group_labels(gts, langs)
    a = {"ed": ed, "ned": ned, "len_p": len_p, "len_g": len_g}
    a |= {"exact": exact, "exact_nocase": exact_nocase}
    if script_acc:
        gt_groups, _ = group_labels(gts, None)
        a["has_script"] = np.array([g != NO_GROUP for g in gt_groups], dtype=bool)
        a["script_ok"] = _script_match(preds, gt_groups)
    names, inverse = np.unique(np.array(groups, dtype=object), return_inverse=True)
    rows = [_row(str(name), np.flatnonzero(inverse == k), a) for k, name in enumerate(names)]
    pooled = _row(POOLED, slice(None), a)
    rows += [pooled, _macro(rows, pooled)]
    samples: _Samples = {
        "keys": keys,
        "groups": groups,
        "gts": gts,
        "preds": preds,
        "ned": ned,
        "ed": ed,
        "exact": exact,
    }
    return Report(rows, profile, unit, grouping, _samples=samples)
