"""Recognition metrics: normalisation profiles, edit distances and `score`.

Metrics (per sample `i`, prediction `p_i`, ground truth `g_i`, after the profile's
normalisation; lengths and edit distances count the declared unit):

- **WRR**: word (sample) recognition rate, the fraction with `p_i == g_i`.
- **WRR-nocase** (tables: WRR-nc): the same after `str.casefold` of both sides (then re-normalised).
- **CRR** = `1 - sum_i ED(p_i, g_i) / sum_i len(g_i)` (corpus level). Not clipped: it
  is negative when predictions insert more units than the gt holds.
- **1-NED** = `mean_i (1 - ED(p_i, g_i) / max(len(p_i), len(g_i)))` (ICDAR 2019);
  for two empty strings the profile's `both_empty_ned` (1 by default).

Edit distances are Levenshtein distances (unit cost insert/delete/substitute) computed
in compiled code (rapidfuzz). With `unit="grapheme"` each distinct extended grapheme
cluster is mapped to one private code point first, so `क्ष` vs `क्स` costs 1 instead
of 1 of 3 code points.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from operator import methodcaller
from typing import Literal

import numpy as np
import regex
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cpdist

from strtool.errors import InputError
from strtool.evaluation.report import Report, build_report
from strtool.text.normalize import UNITS, NormForm, Unit

__all__ = [
    "PROFILES",
    "Profile",
    "Report",
    "edit_distances",
    "get_profile",
    "normalize_all",
    "normalize_for_metric",
    "score",
    "to_units",
]

Whitespace = Literal["collapse", "remove", "tabs", "keep"]
_SEP = "\x00"
_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True)
class Profile:
    """How labels are normalised before scoring (applied to prediction and gt alike).

    `form`: Unicode normal form (`NFC`, `NFKD`, ...) or None to keep the text as is.
    `whitespace`: `collapse` (runs of whitespace -> one space, stripped), `remove`
    (all whitespace deleted), `tabs` (tab characters deleted, the rest kept), `keep`.
    Whitespace is what `str.isspace` says. `casefold`: fold case for every metric.
    `both_empty_ned`: 1-NED of an empty prediction for an empty gt."""

    name: str
    form: NormForm | None
    whitespace: Whitespace
    casefold: bool = False
    both_empty_ned: float = 1.0
    description: str = ""


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "default",
            "NFC",
            "collapse",
            description="NFC, whitespace runs collapsed to one space and stripped, case-sensitive.",
        ),
        Profile(
            "mstr",
            "NFKD",
            "remove",
            description="NFKD (compatibility decomposition: 'ﬁ' -> 'fi', Hangul "
            "syllables -> jamo, so a wrong syllable can cost 1-3 code points), all "
            "whitespace removed, case-sensitive.",
        ),
        Profile(
            "cll",
            "NFC",
            "tabs",
            both_empty_ned=0.0,
            description="CLL-STR test.py protocol: tab unit separators removed, spaces "
            "kept, case-sensitive, per-sample 1-NED with 0 when gt or prediction is "
            "empty (two empty strings score 0). CLL-STR also drops characters outside "
            "its model charset from both sides first; strtool does not (no charset).",
        ),
    )
}


def get_profile(profile: str | Profile) -> Profile:
    """The `Profile` named `profile` (or `profile` itself); unknown -> `InputError`."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise InputError(
            f"unknown metric profile '{profile}' (use one of {', '.join(PROFILES)})"
        ) from None


def normalize_all(texts: Iterable[str], profile: str | Profile = "default") -> list[str]:
    """`normalize_for_metric` of each text (C-level maps, no per-text Python frame)."""
    p = get_profile(profile)
    it: Iterable[str] = texts
    uni = partial(unicodedata.normalize, p.form) if p.form else None
    if uni:
        it = map(uni, it)
    if p.whitespace == "collapse":
        it = map(" ".join, map(str.split, it))
    elif p.whitespace == "remove":
        it = map("".join, map(str.split, it))
    elif p.whitespace == "tabs":
        it = map(methodcaller("replace", "\t", ""), it)
    if p.casefold:
        it = map(str.casefold, it)
        if uni:
            it = map(uni, it)
    return list(it)


def normalize_for_metric(text: str, profile: str | Profile = "default") -> str:
    """`text` as the metrics see it under `profile` (see `Profile`): Unicode form,
    then the whitespace rule, then (if the profile says so) casefold + form again."""
    return normalize_all([text], profile)[0]


def _casefolder(p: Profile) -> Callable[[str], str]:
    form = p.form or "NFC"
    return lambda s: unicodedata.normalize(form, s.casefold())


def _private_code(i: int) -> str:
    """The i-th private code point: planes 15-16 first, then the BMP private area,
    then (beyond 137,470 distinct units) any non-surrogate code point."""
    if i < 131072:
        return chr(0xF0000 + i)
    i -= 131072
    if i < 6400:
        return chr(0xE000 + i)
    i -= 6400
    return chr(i if i < 0xD800 else i + 0x800)


def _encode_one(text: str, table: dict[str, str]) -> str:
    codes = []
    for g in _GRAPHEME.findall(text):
        if g not in table:
            table[g] = _private_code(len(table))
        codes.append(table[g])
    return "".join(codes)


def to_units(texts: Sequence[str], unit: Unit, table: dict[str, str] | None = None) -> list[str]:
    """Texts re-encoded so that one code point is one `unit`.

    `codepoint`: unchanged. `grapheme`: each distinct grapheme cluster becomes a
    private code point (shared `table`, so pass the same dict for preds and gts)."""
    if unit == "codepoint":
        return list(texts)
    if unit != "grapheme":
        raise InputError(f"unknown unit '{unit}' (use one of {', '.join(UNITS)})")
    table = {} if table is None else table
    if not texts:
        return []
    joined = _SEP.join(texts)
    if joined.count(_SEP) != len(texts) - 1:  # a text holds the separator itself
        return [_encode_one(t, table) for t in texts]
    # NUL is a control character: a grapheme boundary on both sides (UAX #29 GB4/GB5)
    graphemes = _GRAPHEME.findall(joined)
    for g in set(graphemes).difference(table):
        if g != _SEP:
            table[g] = _private_code(len(table))
    table[_SEP] = _SEP
    try:
        return "".join(map(table.__getitem__, graphemes)).split(_SEP)
    finally:
        del table[_SEP]


def edit_distances(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Levenshtein distance of each pair `(a[i], b[i])` in code points, int64 (N,)."""
    if len(a) != len(b):
        raise InputError(f"{len(a)} predictions for {len(b)} ground truths")
    if not a:
        return np.zeros(0, dtype=np.int64)
    return cpdist(a, b, scorer=Levenshtein.distance, dtype=np.int64, workers=1)


def score(
    preds: Sequence[str],
    gts: Sequence[str],
    langs: Sequence[str | None] | None = None,
    profile: str | Profile = "default",
    unit: Unit = "codepoint",
    keys: Sequence[str] | None = None,
    script_acc: bool = False,
) -> Report:
    """Score predictions against ground truths (same order, same length).

    Groups: `langs[i]` when given and not empty, else `detect_group(gts[i])` (MLT
    class, `OTHER` when the gt has no letters). Rows: one per group (sorted), then
    `pooled` (all samples) and `macro` (mean of the group rows). `keys` name samples
    in `Report.worst`. `script_acc` adds the fraction of samples whose prediction has
    the gt's script group (over samples whose gt has a script)."""
    if len(preds) != len(gts):
        raise InputError(f"{len(preds)} predictions for {len(gts)} ground truths")
    if langs is not None and len(langs) != len(gts):
        raise InputError(f"{len(langs)} languages for {len(gts)} ground truths")
    prof = get_profile(profile)
    p_norm = normalize_all(preds, prof)
    g_norm = normalize_all(gts, prof)
    table: dict[str, str] = {}
    p_units = to_units(p_norm, unit, table)
    g_units = to_units(g_norm, unit, table)
    ed = edit_distances(p_units, g_units)
    len_p = np.fromiter(map(len, p_units), dtype=np.int64, count=len(p_units))
    len_g = np.fromiter(map(len, g_units), dtype=np.int64, count=len(g_units))
    denom = np.maximum(len_p, len_g)
    ned = np.where(denom > 0, 1.0 - ed / np.maximum(denom, 1), prof.both_empty_ned)
    exact = np.fromiter(map(str.__eq__, p_norm, g_norm), dtype=bool, count=len(p_norm))
    fold = _casefolder(prof)
    exact_nocase = exact.copy()
    for i in np.flatnonzero(~exact):
        exact_nocase[i] = fold(p_norm[i]) == fold(g_norm[i])
    return build_report(
        preds=list(preds),
        gts=list(gts),
        langs=langs,
        ed=ed,
        ned=ned,
        len_p=len_p,
        len_g=len_g,
        exact=exact,
        exact_nocase=exact_nocase,
        keys=keys,
        profile=prof.name,
        unit=unit,
        script_acc=script_acc,
    )
