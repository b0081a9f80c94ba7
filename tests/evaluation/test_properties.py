"""Property tests: compiled edit distances and vectorised grouping against slow,
obviously correct references."""

from __future__ import annotations

import unicodedata

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from strtool.evaluation.grouping import detect_groups
from strtool.evaluation.metrics import edit_distances, score, to_units
from strtool.text.script import detect_group

# letters, marks and spaces from several scripts, plus jamo and a ligature
ALPHABET = "abcABé e\u0301ﬁ \tمرحبَاकिताब्षকীহ漢字かなカ한국한ЖΩ1,"
texts = st.text(alphabet=ALPHABET, max_size=12)


def dp(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(texts, texts), max_size=8))
def test_edit_distance_matches_dp(pairs):
    a = [p for p, _ in pairs]
    b = [g for _, g in pairs]
    assert edit_distances(a, b).tolist() == [dp(list(x), list(y)) for x, y in pairs]
    table: dict[str, str] = {}
    ua, ub = to_units(a, "grapheme", table), to_units(b, "grapheme", table)
    want = [dp(regex.findall(r"\X", x), regex.findall(r"\X", y)) for x, y in pairs]
    assert edit_distances(ua, ub).tolist() == want


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, min_size=1, max_size=8))
def test_identity_scores_perfect(xs):
    p = score(xs, xs).pooled
    assert p.wrr == 1.0 and p.ned == 1.0 and p.edits == 0


def _reference_row(pairs: list[tuple[str, str]]) -> dict[str, float]:
    """WRR, WRR-nocase, CRR and 1-NED of (pred, gt) pairs by their definitions, one sample
    at a time: default profile (NFC, whitespace runs collapsed), grapheme units."""

    def norm(t: str) -> str:
        return " ".join(unicodedata.normalize("NFC", t).split())

    def fold(t: str) -> str:
        return unicodedata.normalize("NFC", norm(t).casefold())

    exact = exact_nocase = edits = units = 0
    neds = []
    for p, g in pairs:
        p, g = norm(p), norm(g)
        up, ug = regex.findall(r"\X", p), regex.findall(r"\X", g)
        ed = dp(up, ug)
        exact += p == g
        exact_nocase += fold(p) == fold(g)
        edits, units = edits + ed, units + len(ug)
        longest = max(len(up), len(ug))
        neds.append(1.0 - ed / longest if longest else 1.0)
    n = len(pairs)
    crr = 1.0 - edits / units if units else (1.0 if edits == 0 else 0.0)
    return {"wrr": exact / n, "wrr_nocase": exact_nocase / n, "crr": crr, "ned": sum(neds) / n}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=8))
def test_rows_equal_the_metric_definitions(pairs):
    """Every group row and the pooled row equal WRR / WRR-nocase / CRR / 1-NED computed
    from their definitions; macro is the mean of the group rows."""
    preds, gts = [p for p, _ in pairs], [g for _, g in pairs]
    r = score(preds, gts, unit="grapheme")
    groups = [detect_group(g) or "OTHER" for g in gts]
    by_name = {row.name: row for row in r.rows}
    expected = {name: [pr for pr, grp in zip(pairs, groups, strict=True) if grp == name]
                for name in set(groups)}  # fmt: skip
    expected["pooled"] = list(pairs)
    assert set(by_name) == set(expected) | {"macro"}
    for name, group_pairs in expected.items():
        row, ref = by_name[name], _reference_row(group_pairs)
        assert row.n == len(group_pairs), name
        for key, want in ref.items():
            assert getattr(row, key) == pytest.approx(want, abs=1e-12), (name, key)
    for key in ("wrr", "wrr_nocase", "crr", "ned"):
        group_rows = [by_name[name] for name in expected if name != "pooled"]
        want = sum(getattr(row, key) for row in group_rows) / len(group_rows)
        assert getattr(by_name["macro"], key) == pytest.approx(want, abs=1e-12), key


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, max_size=10))
def test_detect_groups_equals_detect_group(xs):
    assert detect_groups(xs) == [detect_group(x) for x in xs]


cells = st.text(alphabet="ab1. \t\r\n\u2028é", max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(cells, min_size=1, max_size=12))
def test_fast_and_slow_pred_parsers_agree(tmp_path_factory, parts):
    from strtool.errors import InputError
    from strtool.evaluation.io import _slow_preds, read_lines, read_preds

    path = tmp_path_factory.mktemp("p") / "p.tsv"
    path.write_text("\t".join(parts), encoding="utf-8")

    def outcome(fn):
        try:
            t = fn()
            return t.texts, t.confidences
        except InputError as e:
            return str(e)

    def slow():
        return _slow_preds(path, read_lines(path))

    assert outcome(lambda: read_preds(path)) == outcome(slow)
