"""Logical <-> visual order of right-to-left lines (`strtool.text.bidi`) and the CTC
tokenizer's visual-order targets: what the frames see left to right, decoded back into
the logical order labels are stored in."""

from __future__ import annotations

import random
import unicodedata

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from strtool.engine.config import config_from_dict, config_to_dict, load_run_config
from strtool.errors import InputError
from strtool.text.bidi import display_order, mirrored, reversed_frame_order
from strtool.text.tokenizer import CTCTokenizer

SALAM = "سلام"


def test_an_arabic_word_is_reversed_and_marks_stay_after_their_letter() -> None:
    assert display_order(SALAM) == "مالس"
    # fatha (U+064E) belongs to the first letter: it follows it in both orders
    assert display_order("بَاب") == "بابَ"
    assert display_order(display_order("بَاب")) == "بَاب"


def test_marks_without_a_base_stay_at_the_start() -> None:
    """A mark that opens a line has no letter: moved behind one it would join that
    letter's cluster and the way back would differ (found by the tokenizer's property
    test: fathatan + tatweel)."""
    for text in ("\u064b\u0640", "\u064b" + SALAM, "\u064e\u064b" + SALAM + " 12"):
        once = display_order(text)
        assert once.startswith(text[0]) and display_order(once) == text
    assert display_order("\u064b" + SALAM) == "\u064b" + "مالس"


def test_numbers_and_latin_keep_their_left_to_right_order() -> None:
    assert display_order("سعر 25.50 جنيه") == "هينج 25.50 رعس"
    assert display_order("نص ABC نص") == "صن ABC صن"
    assert display_order("(مرحبا)") == "(ابحرم)"  # brackets mirrored, as displayed


def test_left_to_right_text_is_unchanged() -> None:
    for text in ("hello 123", "नमस्ते", "東京 2024", "", "(a) b."):
        assert display_order(text) == text


def test_lines_are_reordered_one_by_one() -> None:
    assert display_order("سلام\nab\nمرحبا") == "مالس\nab\nابحرم"


_AR = "ابتثجحخدذرسشصضطظعغفقكلمنهوي"
_MARKS = "\u064e\u064f\u0650\u0651\u0652"
_ar_word = st.lists(
    st.tuples(st.sampled_from(_AR), st.text(_MARKS, max_size=2)).map("".join),
    min_size=1, max_size=6,
).map("".join)  # fmt: skip
_latin_word = st.text("abcXYZ", min_size=1, max_size=5)
_number = st.tuples(
    st.text("0123456789", min_size=1, max_size=3),
    st.lists(st.tuples(st.sampled_from(".,:/"), st.text("0123456789", min_size=1, max_size=3)),
             max_size=2),
    st.sampled_from(["", "%", "$", "%%", "€"]),
).map(lambda t: t[0] + "".join(a + b for a, b in t[1]) + t[2])  # fmt: skip
_arabic_number = st.text("٠١٢٣٤٥٦٧٨٩", min_size=1, max_size=4)
_token = st.one_of(_ar_word, _ar_word, _latin_word, _number, _arabic_number,
                   st.sampled_from(["(", ")", "«", "»", "-", ".", "،", "؟"]))  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_token, max_size=8).map(" ".join))
def test_display_order_is_its_own_inverse(text: str) -> None:
    """Lines of Arabic words (with harakat), Latin words, numbers with separators and
    terminators, Arabic-Indic numbers and punctuation: visual of visual is logical
    again, and the characters are only moved (brackets mirrored)."""
    once = display_order(text)
    assert display_order(once) == text
    same = str.maketrans("()«»", "))»»")
    assert sorted(once.translate(same)) == sorted(text.translate(same))


def _logits_for(tok: CTCTokenizer, ids: list[int]) -> torch.Tensor:
    """One row of logits whose best path emits `ids` (a blank between every two)."""
    path = [i for k in ids for i in (k, 0)]
    x = torch.full((1, len(path), tok.num_classes), -5.0)
    for t, k in enumerate(path):
        x[0, t, k] = 5.0
    return x


def test_ctc_targets_are_visual_and_readings_logical() -> None:
    chars = sorted(set("سلامab12"))
    tok = CTCTokenizer(chars, space=True)
    assert tok.order == "visual"
    enc = tok.encode([SALAM, "ab 12"])
    ids = enc.targets.tolist()
    assert ids[:4] == [tok.stoi[c] for c in "مالس"]  # as the frames see it
    assert ids[4:] == [tok.stoi[c] for c in "ab 12"]  # left-to-right text unchanged
    texts, _ = tok.decode(_logits_for(tok, ids[:4]))
    assert texts == [SALAM]
    assert tok.decode_indices([ids[:4]]) == [SALAM]
    logical = CTCTokenizer(chars, space=True, order="logical")
    assert logical.encode([SALAM]).targets.tolist() == [tok.stoi[c] for c in SALAM]
    assert logical.decode(_logits_for(tok, ids[:4]))[0] == ["مالس"]


def test_tokenizer_order_is_stored_and_old_settings_are_logical() -> None:
    tok = CTCTokenizer(list("ab"))
    assert CTCTokenizer.from_dict(tok.to_dict()).order == "visual"
    old = {k: v for k, v in tok.to_dict().items() if k != "order"}
    assert CTCTokenizer.from_dict(old).order == "logical"
    with pytest.raises(InputError, match="order"):
        CTCTokenizer(list("ab"), order="rtl")
    with pytest.raises(InputError, match="order"):
        CTCTokenizer.from_dict({**tok.to_dict(), "order": "rtl"})


def test_configs_stored_before_ctc_order_existed_read_as_logical() -> None:
    cfg = load_run_config(None, ["data.train=[x]"])
    assert cfg.data.ctc_order == "visual"
    stored = config_to_dict(cfg)
    assert config_from_dict(stored).data.ctc_order == "visual"
    del stored["data"]["ctc_order"]
    assert config_from_dict(stored).data.ctc_order == "logical"


def test_reversed_frame_order_is_the_visual_order_read_backwards() -> None:
    """For any stretch of a right-to-left line (not starting with a mark) between two
    right-to-left letters, `reversed_frame_order` gives exactly the display order read
    from the right: numbers and Latin runs backwards, marks before their letter,
    level-1 brackets mirrored. Joint CTC decoding relies on it."""
    rng = random.Random(1)
    alpha = [*"سلامعربي", *"0123456789", *"abcXY", *" .,:/%()-", "\u064e", "\u0650"]
    checked = 0
    for _ in range(3000):
        s = "".join(rng.choice(alpha) for _ in range(rng.randint(1, 12)))
        if unicodedata.category(s[0]).startswith("M"):
            continue
        want = list(display_order("ب" + s + "ب"))[::-1][1:-1]
        got = [mirrored(s[i]) if m else s[i] for i, m in reversed_frame_order(list(s))]
        assert got == want, s
        checked += 1
    assert checked > 2000
    # a stretch that the line continues with a digit: the separator joins the number
    assert reversed_frame_order(list("12."), after="3") == [(2, False), (1, False), (0, False)]
    assert reversed_frame_order(list("12.")) == [(1, False), (0, False), (2, False)]
