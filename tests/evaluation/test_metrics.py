"""Hand-computed metric cases: WRR, WRR-nocase, CRR, 1-NED, units, profiles, groups."""

from __future__ import annotations

import numpy as np
import pytest

from strtool.errors import InputError
from strtool.evaluation.metrics import (
    PROFILES,
    Profile,
    edit_distances,
    normalize_for_metric,
    score,
    to_units,
)


def approx(x: float) -> object:
    return pytest.approx(x, abs=1e-12)


def test_basic_metrics_by_hand():
    # ED: 0, 1 (d/c), 3 (empty), 3 (case) -> sum 7 over 12 gt code points
    r = score(["abc", "abd", "", "ABC"], ["abc"] * 4)
    p = r.pooled
    assert p.n == 4
    assert p.wrr == approx(1 / 4)
    assert p.wrr_nocase == approx(2 / 4)
    assert p.crr == approx(1 - 7 / 12)
    assert p.ned == approx((1 + (1 - 1 / 3) + 0 + 0) / 4)
    assert p.empty_preds == 1
    assert (p.gt_units, p.edits) == (12, 7)


def test_ned_uses_longer_string():
    # pred longer than gt: 1 - ED / len(pred)
    r = score(["abcdef"], ["abc"])
    assert r.pooled.ned == approx(1 - 3 / 6)
    assert r.pooled.crr == approx(1 - 3 / 3)


def test_empty_gt_and_crr_can_go_negative():
    r = score(["", "ab", "x"], ["", "", "x"])
    eds = sorted(s.ed for s in r.worst(10))
    assert eds == [2]  # only the wrong sample is listed
    p = r.pooled
    assert p.wrr == approx(2 / 3)
    # two empty strings: 1-NED = 1 by default; "ab" vs "": 0; "x" vs "x": 1
    assert p.ned == approx((1 + 0 + 1) / 3)
    assert p.crr == approx(1 - 2 / 1)  # insertions beyond the gt length: negative
    only_empty = score([""], [""]).pooled
    assert (only_empty.wrr, only_empty.crr, only_empty.ned) == (1.0, 1.0, 1.0)
    assert score(["ab"], [""]).pooled.crr == 0.0


def test_cll_profile_empty_pair_scores_zero():
    assert score([""], [""], profile="cll").pooled.ned == 0.0
    assert score([""], [""], profile="default").pooled.ned == 1.0


def test_arabic_harakat_codepoint_vs_grapheme():
    gt = "كَتَبَ"  # kaf fatha teh fatha beh fatha: 6 code points, 3 graphemes
    pred = "كتب"
    cp = score([pred], [gt]).pooled
    assert (cp.gt_units, cp.edits) == (6, 3)
    assert cp.ned == approx(0.5)
    gr = score([pred], [gt], unit="grapheme").pooled
    assert (gr.gt_units, gr.edits) == (3, 3)  # each bare letter != letter+fatha
    assert gr.ned == approx(0.0)
    r = score(["مرحب"], ["مرحبا"])
    assert r.pooled.crr == approx(0.8) and r.groups[0].name == "ARA"


def test_devanagari_matra_codepoint_vs_grapheme():
    gt, pred = "किताब", "कताब"  # missing vowel sign I
    cp = score([pred], [gt]).pooled
    assert (cp.gt_units, cp.edits) == (5, 1)
    assert cp.crr == approx(0.8)
    gr = score([pred], [gt], unit="grapheme").pooled
    assert (gr.gt_units, gr.edits) == (3, 1)  # कि ता ब
    assert gr.crr == approx(1 - 1 / 3)
    conj = score(["क्ष"], ["क्स"], unit="grapheme").pooled  # one conjunct, one edit
    assert (conj.gt_units, conj.edits) == (1, 1)


def test_nfkd_ligature_and_hangul():
    assert score(["ﬁsh"], ["fish"]).pooled.wrr == 0.0
    assert score(["ﬁsh"], ["fish"], profile="mstr").pooled.wrr == 1.0
    # NFC: 2 syllables, 1 wrong -> CRR 0.5; NFKD: 6 jamo, one final consonant wrong
    assert score(["한굴"], ["한국"]).pooled.crr == approx(0.5)
    assert score(["한굴"], ["한국"], profile="mstr").pooled.crr == approx(1 - 1 / 6)
    # graphemes regroup the jamo into syllables again
    g = score(["한굴"], ["한국"], profile="mstr", unit="grapheme").pooled
    assert (g.gt_units, g.crr) == (2, approx(0.5))


def test_whitespace_rules():
    assert normalize_for_metric("  New \t York ", "default") == "New York"
    assert normalize_for_metric("New York", "mstr") == "NewYork"
    assert normalize_for_metric("ب\tا b", "cll") == "با b"
    assert score(["New  York "], ["New York"]).pooled.wrr == 1.0
    assert score(["NewYork"], ["New York"]).pooled.wrr == 0.0
    assert score(["NewYork"], ["New York"], profile="mstr").pooled.wrr == 1.0


def test_default_keeps_case_and_accents():
    assert normalize_for_metric("Éte\u0301", "default") == "Été"  # composed, not folded
    r = score(["ete", "ÉTÉ"], ["été", "été"]).pooled
    assert r.wrr == 0.0 and r.wrr_nocase == approx(0.5)


def test_casefold_profile_object():
    ci = Profile("ci", "NFC", "collapse", casefold=True)
    assert score(["ABC"], ["abc"], profile=ci).pooled.wrr == 1.0
    assert score(["Straße"], ["STRASSE"], profile=ci).pooled.wrr == 1.0


def test_pooled_vs_macro_and_lang_column():
    preds = ["a", "x", "x", "x"]
    gts = ["a", "b", "c", "d"]
    r = score(preds, gts, langs=["en", "de", "de", "de"])
    assert r.grouping == "lang"
    rows = {row.name: row for row in r.rows}
    assert [row.name for row in r.rows] == ["de", "en", "pooled", "macro"]
    assert rows["de"].wrr == 0.0 and rows["en"].wrr == 1.0
    assert rows["pooled"].wrr == approx(0.25)  # sample-weighted
    assert rows["macro"].wrr == approx(0.5)  # mean of groups
    assert rows["macro"].n == 4


def test_script_grouping_and_other():
    r = score(["abc", "١٢", "123"], ["abd", "مرحبا", "123"])
    assert r.grouping == "script"
    assert [g.name for g in r.groups] == ["ARA", "LAT", "OTHER"]
    mixed = score(["a", "b"], ["a", "b"], langs=["fr", None])
    assert mixed.grouping == "lang+script"
    assert [g.name for g in mixed.groups] == ["LAT", "fr"]


def test_script_accuracy():
    r = score(["hello", "salam", "123"], ["hallo", "سلام", "123"], script_acc=True)
    rows = {row.name: row for row in r.rows}
    assert rows["LAT"].script_acc == 1.0
    assert rows["ARA"].script_acc == 0.0
    assert rows["OTHER"].script_acc is None  # no script in the gt
    assert rows["pooled"].script_acc == approx(0.5)
    assert score(["a"], ["a"]).pooled.script_acc is None


def test_worst_order_and_keys():
    r = score(["abc", "", "abx", "zzz"], ["abc", "abc", "abc", "abcdef"], keys=list("pqrs"))
    worst = r.worst(10)
    # 1-NED ascending, then edit distance descending: s (0, ED 6), q (0, ED 3), r
    assert [w.key for w in worst] == ["s", "q", "r"]
    assert worst[0].ned == 0.0 and worst[-1].ed == 1
    assert r.worst(1)[0].key == "s" and r.worst(0) == []


def test_to_dict_shape():
    d = score(["a"], ["b"]).to_dict()
    assert d["profile"] == "default" and d["unit"] == "codepoint" and d["n"] == 1
    pooled = next(r for r in d["rows"] if r["group"] == "pooled")
    assert set(pooled) >= {"n", "wrr", "wrr_nocase", "crr", "1-ned", "empty_preds"}


def test_errors_and_profiles_are_data():
    with pytest.raises(InputError, match="profile 'nope'"):
        score(["a"], ["a"], profile="nope")
    with pytest.raises(InputError, match="2 predictions for 1"):
        score(["a", "b"], ["a"])
    with pytest.raises(InputError, match="unit"):
        to_units(["a"], "word")  # type: ignore[arg-type]
    assert set(PROFILES) == {"default", "mstr", "cll"}
    assert PROFILES["mstr"].form == "NFKD" and PROFILES["mstr"].whitespace == "remove"


def test_empty_input():
    r = score([], [])
    assert r.pooled.n == 0 and r.groups == []
    assert edit_distances([], []).shape == (0,)


def test_grapheme_table_shared_and_nul_safe():
    table: dict[str, str] = {}
    a = to_units(["कि", "a\x00b"], "grapheme", table)
    b = to_units(["कि"], "grapheme", table)
    assert a[0] == b[0] and len(a[0]) == 1 and len(a[1]) == 3
    assert to_units(["\r\nx", ""], "grapheme") != ["", ""]
    assert [len(x) for x in to_units(["\r\nx", ""], "grapheme")] == [2, 0]


# ------------------------------------------------------------------ 95 % intervals
def test_wilson_interval_hand_values() -> None:
    from strtool.evaluation.intervals import wilson

    lo, hi = wilson(8, 10)  # textbook: 0.4902 .. 0.9433
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    lo, hi = wilson(0, 20)  # never below 0, and not a zero-width interval at 0 correct
    assert lo == 0.0 and hi == pytest.approx(0.1611, abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)
    for n in range(1, 60):  # the bounds at 0 and n correct are exact, never rounded
        assert wilson(0, n)[0] == 0.0 and wilson(n, n)[1] == 1.0


def test_crr_interval_is_the_delta_method_ratio_interval() -> None:
    from strtool.evaluation.intervals import Z95, ratio_rate

    e = np.array([0, 1, 2, 0, 3], dtype=float)
    u = np.array([4, 5, 6, 3, 7], dtype=float)
    r = e.sum() / u.sum()  # 6 / 25
    resid = e - r * u
    se = np.sqrt(resid.var(ddof=1) / 5) / (u.sum() / 5)
    lo, hi = ratio_rate(e, u)
    assert lo == approx(1 - r - Z95 * se) and hi == approx(1 - r + Z95 * se)
    assert ratio_rate(np.array([1.0]), np.array([4.0])) == (0.75, 0.75)
    # few samples near CRR 1: the normal approximation passes 1; the bound is cut there
    e, u = np.array([0, 0, 0, 4, 0, 0], dtype=float), np.array([5, 6, 4, 5, 7, 5], dtype=float)
    r = e.sum() / u.sum()
    se = np.sqrt((e - r * u).var(ddof=1) / 6) / (u.sum() / 6)
    assert 1 - r + Z95 * se > 1.0
    lo, hi = ratio_rate(e, u)
    assert hi == 1.0 and lo == approx(1 - r - Z95 * se)


def test_report_rows_carry_intervals_that_contain_the_rate() -> None:
    from strtool.evaluation.intervals import wilson

    gts = ["abc", "de", "fgh", "ij"] * 5 + ["كتاب", "قلم"] * 5
    preds = ["abc", "dx", "fgh", "i"] * 5 + ["كتاب", "قل"] * 5
    rep = score(preds, gts)
    for row in rep.rows:
        assert row.wrr_low <= row.wrr <= row.wrr_high
        assert row.crr_low <= row.crr <= row.crr_high <= 1.0
        d = row.to_dict()
        assert d["wrr_95"] == [row.wrr_low, row.wrr_high]
    lat = next(r for r in rep.rows if r.name == "LAT")
    assert (lat.wrr_low, lat.wrr_high) == pytest.approx(wilson(10, 20))
    macro = next(r for r in rep.rows if r.name == "macro")
    near = score(["abc"] * 9 + ["ab"], ["abc"] * 10).rows  # one group at CRR 0.97, n 10
    assert all(r.crr_high <= 1.0 for r in near) and near[0].crr_high == 1.0
    zero = score(["x"] * 30 + ["y"] * 30, ["abc"] * 30 + ["كتاب"] * 30).rows[-1]
    assert zero.name == "macro" and zero.wrr_low == 0.0 and zero.wrr_high > 0.0
    assert 0.0 <= macro.wrr_low <= macro.wrr <= macro.wrr_high <= 1.0
    # more samples, same rates: a narrower interval
    big = score(preds * 10, gts * 10).pooled
    assert big.wrr_high - big.wrr_low < rep.pooled.wrr_high - rep.pooled.wrr_low
