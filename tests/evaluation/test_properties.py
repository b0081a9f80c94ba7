"""Property tests: compiled edit distances and vectorised grouping against slow,
obviously correct references."""

from __future__ import annotations

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


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=8))
def test_ranges(pairs):
    r = score([p for p, _ in pairs], [g for _, g in pairs], unit="grapheme")
    for row in r.rows:
        assert 0.0 <= row.wrr <= row.wrr_ci <= 1.0
        assert 0.0 <= row.ned <= 1.0
        assert row.crr <= 1.0


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
