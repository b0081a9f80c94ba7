"""CTC and attention tokenizers: layout, encode (NFC, units, unknowns), greedy decode,
confidences, round trips."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from strtool.errors import InputError
from strtool.text.bidi import display_order
from strtool.text.charset import load_charset, load_charsets, union_chars
from strtool.text.normalize import nfc
from strtool.text.tokenizer import (
    UNK_TEXT,
    AttnTokenizer,
    CTCTokenizer,
    max_last,
    tokenizer_from_dict,
)

HI = list(load_charset("hi").chars)
MIXED = union_chars(load_charsets("en,fr,ar,hi,ko"))
_MIXED_TOK = CTCTokenizer(MIXED, space=True)


def one_hot_path(tok: CTCTokenizer, label: str, pad: int = 2, peak: float = 20.0) -> torch.Tensor:
    """Logits (1, T, C) of a perfect CTC path for `label`: each token repeated twice,
    a blank between equal neighbours, `pad` blanks at both ends."""
    ids = tok.encode([label]).targets.tolist()
    path = [tok.blank] * pad
    for i, c in enumerate(ids):
        if i and ids[i - 1] == c:
            path.append(tok.blank)
        path += [c, c]
    path += [tok.blank] * pad
    logits = torch.zeros(1, len(path), tok.num_classes)
    logits[0, torch.arange(len(path)), torch.tensor(path, dtype=torch.long)] = peak
    return logits


def test_ctc_layout_and_encode() -> None:
    tok = CTCTokenizer(list("abc"), space=True, unk=True)
    assert tok.num_classes == 6 and len(tok) == 6
    assert tok.blank == 0 and tok.stoi["a"] == 1 and tok.stoi[" "] == 4 and tok.unk_index == 5
    enc = tok.encode(["ab c", "", "axa"])
    assert enc.targets.dtype == torch.long and enc.lengths.tolist() == [4, 0, 3]
    assert enc.targets.tolist() == [1, 2, 4, 3, 1, 5, 1]
    assert enc.unknown == Counter({"x": 1})
    assert tok.decode_indices(enc.targets.split(enc.lengths.tolist())) == [
        "ab c",
        "",
        f"a{UNK_TEXT}a",
    ]


def test_ctc_unknowns_counted_not_silently_dropped() -> None:
    tok = CTCTokenizer(list("ab"))
    enc = tok.encode(["a b", "bzz", "ab"])
    assert enc.lengths.tolist() == [2, 1, 2]  # excluded from the targets ...
    assert enc.unknown == Counter({"z": 2, " ": 1})  # ... but counted
    assert tok.num_classes == 3 and tok.unk_index is None


def test_encode_normalises_to_nfc() -> None:
    tok = CTCTokenizer(["é", "e"])
    enc = tok.encode(["e\u0301", "\u00e9e"])
    assert enc.targets.tolist() == [1, 1, 2] and not enc.unknown
    hi = CTCTokenizer(HI)
    qa = hi.encode(["\u0958"])  # composition-excluded: NFC = क + nukta
    assert hi.decode_indices([qa.targets.tolist()]) == ["\u0915\u093c"] and not qa.unknown


def test_grapheme_unit() -> None:
    tok = CTCTokenizer(["क्ष", "कि", "त", "ा"], unit="grapheme")
    enc = tok.encode(["क्षति", "कित", "ता"])
    assert enc.unknown == Counter({"ति": 1, "ता": 1})
    assert enc.lengths.tolist() == [1, 2, 0]
    with pytest.raises(InputError, match="not one codepoint"):
        CTCTokenizer(["क्ष"])
    with pytest.raises(InputError, match="not one grapheme"):
        CTCTokenizer(["कक"], unit="grapheme")


@pytest.mark.parametrize(
    ("chars", "kw", "match"),
    [
        (["a", "a"], {}, "duplicate"),
        (["a", ""], {}, "empty"),
        (["e\u0301"], {"unit": "grapheme"}, "not NFC"),
        (["a"], {"unit": "word"}, "unknown token unit"),
    ],
)
def test_bad_vocabulary(chars: list[str], kw: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        CTCTokenizer(chars, **kw)


def test_ctc_decode_collapse_blanks_and_confidence() -> None:
    tok = CTCTokenizer(list("ab"))
    probs = torch.tensor(
        [
            [[0.1, 0.8, 0.1], [0.1, 0.6, 0.3], [0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.1, 0.1, 0.8]],
            [[0.9, 0.05, 0.05], [0.7, 0.2, 0.1], [0.8, 0.1, 0.1], [0.9, 0.1, 0.0], [0.6, 0.2, 0.2]],
        ]
    )
    texts, conf = tok.decode(probs.clamp_min(1e-12).log())
    assert texts == ["aab", ""]
    assert conf[0] == pytest.approx((0.8 + 0.6 + 0.8) / 3, abs=1e-5)  # first step of each run
    assert conf[1] == pytest.approx((0.9 + 0.7 + 0.8 + 0.9 + 0.6) / 5, abs=1e-5)  # all blank
    texts, conf = tok.decode(probs.log(), lengths=torch.tensor([2, 5]))
    assert texts == ["a", ""] and conf[0] == pytest.approx(0.8, abs=1e-5)
    assert tok.decode_indices(torch.tensor([[1, 1, 0, 1, 2, 2]]), collapse=True) == ["aab"]
    assert tok.decode_indices([[1, 1, 0, 1, 2, 2]]) == ["aaabb"]
    with pytest.raises(InputError, match="out of range"):
        tok.decode_indices([[3]])
    with pytest.raises(InputError, match=r"\(N, T, 3\)"):
        tok.decode(torch.zeros(1, 4, 5))


def test_ctc_decode_batch_matches_per_sample() -> None:
    torch.manual_seed(0)
    tok = CTCTokenizer(MIXED, space=True, unk=True)
    logits = torch.randn(7, 25, tok.num_classes) * 3
    texts, conf = tok.decode(logits)
    for n in range(7):
        t1, c1 = tok.decode(logits[n : n + 1])
        assert t1 == [texts[n]] and c1[0] == pytest.approx(conf[n])
        assert tok.decode_indices([logits[n].argmax(-1).tolist()], collapse=True) == t1
        # confidence = mean max softmax probability over the emitting steps (first step
        # of each collapsed non-blank run; all steps when nothing is emitted)
        prob, path = logits[n].softmax(-1).max(-1)
        path = path.tolist()
        emit = [t for t, c in enumerate(path) if c != tok.blank and (t == 0 or path[t - 1] != c)]
        want = prob[emit or list(range(len(path)))].mean().item()
        assert conf[n] == pytest.approx(want, rel=1e-5)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(MIXED + [" "]), max_size=30), st.integers(0, 3))
def test_ctc_perfect_path_round_trip(units: list[str], pad: int) -> None:
    label = "".join(units)
    tok = _MIXED_TOK
    assert not tok.encode([label]).unknown
    texts, conf = tok.decode(one_hot_path(tok, label, pad=pad))
    # decoded text is NFC: two Arabic marks drawn in non-canonical order (U+064C U+064B)
    # come back reordered (U+064B U+064C). Targets are in visual order: a reading has
    # the label's display, and is the label itself unless two logical strings share
    # that display (a Latin letter against Arabic-Indic digits, "ءA٠、A" and "ءA、A٠",
    # as with the Unicode bidi algorithm); the image cannot tell those apart
    want = nfc(label)
    assert display_order(texts[0]) == display_order(want)
    if display_order(display_order(want)) == want:
        assert texts == [want]
    assert conf[0] == pytest.approx(1.0 if label or pad else 0.0, abs=1e-4)  # 0 steps -> 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["क्ष", "कि", "ता", "ब", "ा", " ", "a", "é"]), max_size=12))
def test_grapheme_perfect_path_round_trip(units: list[str]) -> None:
    tok = CTCTokenizer(["क्ष", "कि", "ता", "ब", "a", "é"], unit="grapheme", space=True, unk=True)
    label = "".join(units)
    texts, _ = tok.decode(one_hot_path(tok, label))
    n_unk = tok.encode([label]).unknown.total()
    assert texts[0].count(UNK_TEXT) == n_unk
    if n_unk == 0:
        assert texts == [label]


@pytest.mark.parametrize("cls", [CTCTokenizer, AttnTokenizer])
def test_to_dict_round_trip(cls: type) -> None:
    tok = cls(HI, unit="codepoint", unk=True, space=True)
    d = tok.to_dict()
    assert d["type"] in ("ctc", "attn") and d["chars"] == HI
    for back in (cls.from_dict(d), tokenizer_from_dict(d)):
        assert type(back) is cls and back.itos == tok.itos and back.num_classes == tok.num_classes
        assert back.to_dict() == d
    with pytest.raises(InputError, match="expected type"):
        cls.from_dict({**d, "type": "other"})
    with pytest.raises(InputError, match="unknown type"):
        tokenizer_from_dict({"chars": []})
    with pytest.raises(InputError, match="'chars'"):
        cls.from_dict({**d, "chars": "abc"})


def test_attn_encode_decode() -> None:
    tok = AttnTokenizer(list("abc"), unk=True)
    assert (tok.pad, tok.bos, tok.eos, tok.stoi["a"], tok.unk_index, tok.num_classes) == (
        0, 1, 2, 3, 6, 7,
    )  # fmt: skip
    enc = tok.encode(["abx", "c", ""], max_len=2)
    assert enc.targets.tolist() == [[1, 3, 4, 2], [1, 5, 2, 0], [1, 2, 0, 0]]
    assert enc.lengths.tolist() == [2, 1, 0] and enc.truncated == 1
    assert enc.unknown == Counter({"x": 1})  # counted even though it was cut
    full = tok.encode(["abx"])
    assert full.targets.shape == (1, 5) and full.unknown == Counter({"x": 1})
    assert tok.decode_indices(full.targets) == [f"ab{UNK_TEXT}"]
    logits = torch.full((2, 5, 7), -9.0)
    for n, path in enumerate([[3, 5, 2, 4, 4], [1, 4, 0, 4, 3]]):  # 2nd: no EOS, BOS/PAD
        logits[n, torch.arange(5), torch.tensor(path)] = 9.0
    texts, conf = tok.decode(logits)
    assert texts == ["ac", "bba"]
    assert all(math.isclose(c, 1.0, abs_tol=1e-6) for c in conf)


@pytest.mark.parametrize("shape", [(1, 48, 8018), (3, 7, 5), (4, 1), (2, 0, 3), (6,)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_max_last_equals_tensor_max(shape: tuple[int, ...], dtype: torch.dtype) -> None:
    # the fast CPU path (NumPy's argmax) gives exactly Tensor.max(-1): values, the first
    # index of the maximum, int64; ties and NaN (its first index) included
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 4, shape, generator=g).to(dtype)  # many ties
    values, indices = max_last(x)
    ref = x.max(-1)
    assert torch.equal(values, ref.values) and torch.equal(indices, ref.indices)
    assert indices.dtype == torch.int64
    y = torch.tensor([[1.0, 3.0, 3.0, 2.0], [float("nan"), 1.0, float("nan"), 0.0]], dtype=dtype)
    values, indices = max_last(y)
    assert indices.tolist() == [1, 0] and values[0] == 3 and values[1].isnan()


def test_max_last_errors_like_tensor_max() -> None:
    with pytest.raises((IndexError, RuntimeError)):
        max_last(torch.zeros(3, 0))
