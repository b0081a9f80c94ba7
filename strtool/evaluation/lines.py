"""Line-aware metrics for line and page recognition: CER, WER and line alignment.

Texts are strings (never token ids). A label's lines are its `\\n`-separated parts;
each line is normalised by the metric profile (`metrics.normalize_all`: Unicode form,
whitespace rule, casefold) and lines that are then empty are dropped, so a trailing
line break costs nothing. Per sample, in the declared unit:

- **CER** = ED(page) / len(gt page), where a page is its lines joined by `\\n`: a
  missing or extra line break costs one edit, like any character. Corpus level: sums
  of edits over sums of gt lengths (so 1 - CER of word crops is the CRR of `score`).
- **WER** = word-level ED / gt words, words split at whitespace (line breaks
  included). Not reported (None) for Chinese, Japanese and Korean (`CER_ONLY`), whose
  text has no word spaces (or few): CER only.
- **Line alignment** (`align_lines`): the predicted lines are aligned to the gt lines
  by a minimum-cost monotone alignment whose steps are: one gt line to one predicted
  line (cost: their edit distance), a gt line **dropped** (cost: its length), a
  predicted line **inserted** (its length), 2-3 consecutive gt lines **merged** into
  one predicted line (the distance to the gt lines joined by a space), one gt line
  **split** into 2-3 predicted lines (likewise). `dropped` counts gt lines without a
  prediction, `merged` the gt lines that went into another one's predicted line (a
  merge of k lines counts k - 1), `split` the extra predicted lines of split gt
  lines, `inserted` predicted lines matching no gt line. The **line CER** is the
  alignment's cost over the gt line lengths.

`score_lines` gives one `LineRow` per group (language column, else the detected MLT
script group; `OTHER` without letters), then `pooled`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import Levenshtein

from strtool.evaluation.grouping import detect_groups
from strtool.evaluation.metrics import Profile, get_profile, normalize_all, to_units
from strtool.evaluation.report import NO_GROUP, POOLED
from strtool.text.langs import GROUPS
from strtool.text.normalize import Unit

#: Groups (and their languages) scored with CER only.
CER_ONLY: frozenset[str] = frozenset({"CHI", "JPN", "KOR", *GROUPS["CHI"], *GROUPS["JPN"],
                                      *GROUPS["KOR"]})  # fmt: skip
#: Longest run of gt lines merged into one predicted line (and of split parts).
MAX_JOIN = 3


@dataclass(frozen=True)
class Alignment:
    """Outcome of `align_lines`: cost (unit edits) and the line events."""

    cost: int
    dropped: int = 0
    inserted: int = 0
    merged: int = 0
    split: int = 0
    matched: int = 0


def align_lines(pred: Sequence[str], gt: Sequence[str]) -> Alignment:
    """Minimum-cost monotone alignment of predicted to gt lines (module docstring).
    Lines are compared as given (normalise and convert units first)."""
    n, m = len(gt), len(pred)
    inf = float("inf")
    cost = [[inf] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[int, int, str]]] = [[(0, 0, "")] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = 0
    for i in range(n + 1):
        for j in range(m + 1):
            c = cost[i][j]
            if c == inf:
                continue
            steps: list[tuple[int, int, str, int]] = []
            if i < n:
                steps.append((1, 0, "drop", len(gt[i])))
            if j < m:
                steps.append((0, 1, "insert", len(pred[j])))
            if i < n and j < m:
                steps.append((1, 1, "match", Levenshtein.distance(gt[i], pred[j])))
                for k in range(2, MAX_JOIN + 1):
                    if i + k <= n:
                        joined = " ".join(gt[i : i + k])
                        steps.append((k, 1, "merge", Levenshtein.distance(joined, pred[j])))
                    if j + k <= m:
                        joined = " ".join(pred[j : j + k])
                        steps.append((1, k, "split", Levenshtein.distance(gt[i], joined)))
            for di, dj, op, step in steps:
                if c + step < cost[i + di][j + dj]:
                    cost[i + di][j + dj] = c + step
                    back[i + di][j + dj] = (di, dj, op)
    counts = {"drop": 0, "insert": 0, "merge": 0, "split": 0, "match": 0}
    i, j = n, m
    while i or j:
        di, dj, op = back[i][j]
        counts[op] += di - 1 if op == "merge" else dj - 1 if op == "split" else 1
        if op in ("merge", "split"):
            counts["match"] += 1
        i, j = i - di, j - dj
    return Alignment(int(cost[n][m]), counts["drop"], counts["insert"], counts["merge"],
                     counts["split"], counts["match"])  # fmt: skip


_SUMS = (
    "n",
    "edits",
    "gt_units",
    "word_edits",
    "gt_words",
    "gt_lines",
    "pred_lines",
    "dropped",
    "merged",
    "split",
    "inserted",
    "line_edits",
    "line_units",
    "multiline",
)


@dataclass
class LineRow:
    """Figures of one group (or `pooled`): samples, CER, WER (None: CER-only group or
    no gt word), gt and predicted lines, line events and the line CER."""

    name: str
    n: int = 0
    edits: int = 0
    gt_units: int = 0
    word_edits: int = 0
    gt_words: int = 0
    gt_lines: int = 0
    pred_lines: int = 0
    dropped: int = 0
    merged: int = 0
    split: int = 0
    inserted: int = 0
    line_edits: int = 0
    line_units: int = 0  # gt units without the line breaks
    multiline: int = 0  # samples whose gt has more than one line
    cer_only: bool = False

    @property
    def cer(self) -> float:
        """Corpus-level character error rate (edits / gt units; 0 for an empty gt)."""
        return self.edits / self.gt_units if self.gt_units else float(self.edits > 0)

    @property
    def wer(self) -> float | None:
        """Corpus-level word error rate, None for CER-only groups."""
        if self.cer_only or not self.gt_words:
            return None
        return self.word_edits / self.gt_words

    @property
    def line_cer(self) -> float:
        """Line-aligned CER (alignment cost / gt line units)."""
        units = self.line_units
        return self.line_edits / units if units > 0 else float(self.line_edits > 0)

    def add(self, other: LineRow) -> None:
        """Add `other`'s sums (not its name or CER-only flag)."""
        for k in _SUMS:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (rates as fractions)."""
        return {
            "group": self.name, "n": self.n, "cer": self.cer, "wer": self.wer,
            "line_cer": self.line_cer, "gt_lines": self.gt_lines,
            "pred_lines": self.pred_lines, "dropped_lines": self.dropped,
            "merged_lines": self.merged, "split_lines": self.split,
            "inserted_lines": self.inserted, "multiline_samples": self.multiline,
            "edits": self.edits, "gt_units": self.gt_units,
            "word_edits": self.word_edits, "gt_words": self.gt_words,
        }  # fmt: skip


@dataclass
class LineReport:
    """Rows per group (sorted), then `pooled`; the profile and unit used."""

    rows: list[LineRow]
    profile: str
    unit: str
    samples: list[LineRow] = field(default_factory=list, repr=False)

    @property
    def pooled(self) -> LineRow:
        """The row over all samples."""
        return next(r for r in self.rows if r.name == POOLED)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {"profile": self.profile, "unit": self.unit,
                "rows": [r.to_dict() for r in self.rows]}  # fmt: skip


def split_lines(text: str, profile: Profile) -> list[str]:
    """The non-empty lines of `text` after the profile's normalisation."""
    return [x for x in normalize_all(text.split("\n"), profile) if x]


def score_sample(pred: str, gt: str, group: str, profile: str | Profile = "default",
                 unit: Unit = "codepoint") -> LineRow:  # fmt: skip
    """The figures of one sample (a `LineRow` with n = 1)."""
    prof = get_profile(profile)
    g_lines, p_lines = split_lines(gt, prof), split_lines(pred, prof)
    table: dict[str, str] = {}
    g_u = to_units(g_lines, unit, table)
    p_u = to_units(p_lines, unit, table)
    g_page, p_page = "\n".join(g_u), "\n".join(p_u)
    g_words = [w for x in g_lines for w in x.split()]
    p_words = [w for x in p_lines for w in x.split()]
    al = align_lines(p_u, g_u)
    return LineRow(
        name=group, n=1, edits=Levenshtein.distance(p_page, g_page), gt_units=len(g_page),
        word_edits=Levenshtein.distance(p_words, g_words), gt_words=len(g_words),
        gt_lines=len(g_lines), pred_lines=len(p_lines), dropped=al.dropped, merged=al.merged,
        split=al.split, inserted=al.inserted, line_edits=al.cost, line_units=sum(map(len, g_u)),
        multiline=int(len(g_lines) > 1), cer_only=group in CER_ONLY,
    )  # fmt: skip


def score_lines(
    preds: Sequence[str],
    gts: Sequence[str],
    langs: Sequence[str | None] | None = None,
    profile: str | Profile = "default",
    unit: Unit = "codepoint",
) -> LineReport:
    """Line-aware figures of predictions against gts (same order): rows per group
    (`langs[i]` when given, else the script group detected from the gt), then
    `pooled` (whose WER covers the samples of groups that have one)."""
    prof = get_profile(profile)
    detected = detect_groups(list(gts)) if langs is None or not all(langs) else None
    rows: dict[str, LineRow] = {}
    pooled = LineRow(POOLED)
    samples = []
    for i, (p, g) in enumerate(zip(preds, gts, strict=True)):
        group = (langs[i] if langs is not None else None) or (
            (detected[i] if detected is not None else None) or NO_GROUP
        )
        s = score_sample(p, g, group, prof, unit)
        samples.append(s)
        row = rows.setdefault(group, LineRow(group, cer_only=group in CER_ONLY))
        row.add(s)
        if s.cer_only:  # pooled WER: only over groups that have words
            s = LineRow(**{**s.__dict__, "word_edits": 0, "gt_words": 0})
        pooled.add(s)
    ordered = [rows[k] for k in sorted(rows)] + [pooled]
    return LineReport(ordered, prof.name, unit, samples)


def has_multiline(texts: Sequence[str]) -> bool:
    """True when any text holds a line break (the line table is then worth printing)."""
    return any("\n" in t for t in texts)
