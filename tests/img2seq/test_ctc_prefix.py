"""CTC prefix scores (`strtool.models.ctc_prefix`) against a brute-force sum over every
alignment, and joint CTC/attention beam search."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from strtool.models import ModelSpec, build_model
from strtool.models.ctc_prefix import CTCPrefixScorer, PrefixState
from strtool.models.img2seq import Img2Seq
from strtool.models.img2seq_search import beam_search
from strtool.models.joint_ctc import JointCTC
from strtool.text.bidi import display_order

BLANK, EOS = 0, 3


def collapse(path: tuple[int, ...]) -> list[int]:
    out: list[int] = []
    prev = None
    for k in path:
        if k != prev and k != BLANK:
            out.append(k)
        prev = k
    return out


def brute(logp: torch.Tensor, prefix: list[int], final: bool) -> float:
    """log P(the collapsed reading starts with / equals `prefix`), every path summed."""
    t, v = logp.shape
    total = 0.0
    for path in itertools.product(range(v - 1), repeat=t):  # EOS is no CTC class here
        read = collapse(path)
        if (read == prefix) if final else (read[: len(prefix)] == prefix):
            total += math.exp(sum(float(logp[i, k]) for i, k in enumerate(path)))
    return math.log(total) if total > 0 else float("-inf")


def scored(scorer: CTCPrefixScorer, prefix: list[int], final: bool) -> float:
    state: PrefixState = scorer.start(torch.zeros(1, dtype=torch.long))
    for tok in prefix:
        cand = torch.tensor([[tok]])
        ext = scorer.extend(state, cand)
        state = ext.take(state, torch.tensor([0]), torch.tensor([0]), torch.tensor([tok]))
    if final:
        return float(scorer.extend(state, torch.tensor([[EOS]])).psi[0, 0])
    return float(state.psi[0])


def frames(t: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(t, 4, generator=g) * 2
    logits[:, EOS] = -30.0  # the end token is never a CTC frame's class
    return logits.log_softmax(-1)


PREFIXES = [[], [1], [2], [1, 1], [1, 2], [2, 1, 2], [1, 1, 2], [2, 2, 2]]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("final", [False, True])
def test_prefix_scores_equal_the_sum_over_all_alignments(prefix: list[int], final: bool) -> None:
    lp = frames(6, seed=len(prefix) * 7 + final)
    scorer = CTCPrefixScorer(lp[None], BLANK, EOS)
    want = brute(lp, prefix, final)
    got = scored(scorer, prefix, final)
    if want == float("-inf"):
        assert got < -1e6
    else:
        assert got == pytest.approx(want, abs=1e-5)
    if not prefix:
        assert got == pytest.approx(0.0 if not final else want, abs=1e-6)


def test_reversed_rows_score_the_frames_right_to_left() -> None:
    lp = frames(5, seed=3)
    scorer = CTCPrefixScorer(lp[None], BLANK, EOS, reverse=torch.tensor([True]))
    for prefix in ([1, 2], [2, 2, 1]):
        for final in (False, True):
            want = brute(lp.flip(0), prefix, final)
            assert scored(scorer, prefix, final) == pytest.approx(want, abs=1e-5)


def test_candidates_are_what_the_frames_see() -> None:
    lp = torch.full((1, 4, 6), -20.0)
    lp[0, :, BLANK] = 0.0
    lp[0, 1, 4] = -0.1  # token 4 clearly at frame 1
    lp[0, 2, 2] = -3.0  # token 2 faintly (p ~ 0.05)
    lp2 = lp.clone()
    lp2[0, 2, 2] = -20.0  # the second image: token 4 alone
    scorer = CTCPrefixScorer(torch.cat([lp, lp2]), BLANK, EOS)
    cand = scorer.candidates(3)  # two images see two tokens at most: two columns
    assert cand.tolist() == [[4, 2], [4, 4]]  # the second sees one: its best repeated


@pytest.mark.parametrize("width", [1, 3])
def test_joint_decoding_at_weight_zero_is_the_decoder_alone(width: int) -> None:
    """Weight 0: the same rows and token probabilities as plain beam search (the
    candidate set holds every beam's own best tokens)."""
    torch.manual_seed(5)
    spec = ModelSpec(1, (32, 128), num_classes=12)
    model = build_model("img2seq_tiny", spec, ctc_head=True).eval()
    assert isinstance(model, Img2Seq)
    images = torch.randn(3, 1, 32, 128)
    kw = {"bos": 1, "eos": 2, "max_len": 9, "width": width, "forbid": (0, 1)}
    plain = beam_search(model, images, **kw)
    texts = ("", "", "", *"abcdefghi")
    joint = beam_search(model, images, joint=JointCTC(0.0, blank=0, tokens=texts), **kw)
    for a, b in zip(plain, joint, strict=True):
        assert a.ids == b.ids and a.ended == b.ended
        assert a.probs == pytest.approx(b.probs, abs=1e-6)


def test_the_ctc_head_steers_a_decoder_that_cannot_read() -> None:
    """A decoder trained on nothing and a CTC head whose frames read "4 5 5": alone the
    decoder writes noise; at weight 1 the search writes exactly what the frames read
    (the repeat kept apart by its blank), and stops there."""
    torch.manual_seed(6)
    spec = ModelSpec(1, (32, 128), num_classes=8)
    model = build_model("img2seq_tiny", spec, ctc_head=True).eval()
    assert isinstance(model, Img2Seq)
    t = model.ctc_logits(*_maps(model, torch.zeros(1, 1, 32, 128))).shape[1]
    read = [0] * t
    read[2], read[5], read[9] = 4, 5, 5
    logits = torch.full((1, t, 8), -8.0)
    logits[0, torch.arange(t), torch.tensor(read)] = 8.0

    def fixed(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return model.encode(images), logits.expand(images.shape[0], -1, -1)

    model.encode_with_ctc = fixed  # type: ignore[method-assign]
    kw = {"bos": 1, "eos": 2, "max_len": 8, "forbid": (0, 1)}
    for width in (1, 4):
        out = beam_search(model, torch.zeros(2, 1, 32, 128), width=width,
                          joint=JointCTC(1.0, blank=0, tokens=("",) * 8), **kw)  # fmt: skip
        assert [d.ids for d in out] == [[4, 5, 5], [4, 5, 5]] and all(d.ended for d in out)
    alone = beam_search(model, torch.zeros(1, 1, 32, 128), width=1, **kw)
    assert alone[0].ids != [4, 5, 5]


def _maps(model: Img2Seq, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    e = model.encoder(images)
    return e, model.proj(e)


TOKENS = ("", "", "", "ب", "س", "ل", "1", "2", " ", "(", ")", ".", "\u064e", "a", "b")


@pytest.mark.parametrize("logical", ["سل 12 ب", "بَس (12) ل", "ل 1.2 س", "ab بس", "س 21.", "(سَل)"])
def test_right_to_left_lines_come_out_in_logical_order(logical: str) -> None:
    """CTC frames that read a right-to-left line as its image shows it (visual order:
    numbers and Latin left to right, marks after their letter, brackets mirrored), a
    decoder that cannot read: at weight 1 a beam search writes the logical text.
    (Width 1 may not: until a left-to-right run ends, "1" then "2" and "2" then "1" are
    both prefixes the reversed frames allow; a decoder that reads decides.)"""
    torch.manual_seed(7)
    spec = ModelSpec(1, (32, 256), num_classes=len(TOKENS))
    model = build_model("img2seq_tiny", spec, ctc_head=True).eval()
    assert isinstance(model, Img2Seq)
    stoi = {t: i for i, t in enumerate(TOKENS) if t}
    visual = [stoi[ch] for ch in display_order(logical)]
    t = 2 * len(visual) + 2
    logits = torch.full((1, t, len(TOKENS)), -8.0)
    logits[0, :, 0] = 8.0
    for k, tok in enumerate(visual):
        logits[0, 1 + 2 * k, tok], logits[0, 1 + 2 * k, 0] = 8.0, -8.0

    def fixed(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return model.encode(images), logits.expand(images.shape[0], -1, -1)

    model.encode_with_ctc = fixed  # type: ignore[method-assign]
    joint = JointCTC(1.0, blank=0, tokens=TOKENS)
    for width in (3, 6):
        out = beam_search(model, torch.zeros(1, 1, 32, 256), 1, 2, 20, width=width,
                          forbid=(0, 1), joint=joint)  # fmt: skip
        assert "".join(TOKENS[i] for i in out[0].ids) == logical and out[0].ended
        assert all(0.0 <= q <= 1.0 for q in out[0].probs)  # confidences stay probabilities


@pytest.mark.parametrize("prefix", [[], [1], [3, 1]])
def test_a_gap_scores_every_run_of_its_classes_before_the_next_token(prefix: list[int]) -> None:
    """`gap` then token 3: P(the reading starts with prefix, any number of 2s, then 3),
    against a brute-force sum (gap classes {2}, distinct from the prefix's last)."""
    torch.manual_seed(11)
    v, t = 5, 6
    logits = torch.randn(t, v) * 2
    logits[:, v - 1] = -30.0  # an end class the frames never use
    lp = logits.log_softmax(-1)
    scorer = CTCPrefixScorer(lp[None], 0, v - 1)
    state = scorer.start(torch.zeros(1, dtype=torch.long))
    for tok in prefix:
        ext = scorer.extend(state, torch.tensor([[tok]]))
        state = ext.take(state, torch.tensor([0]), torch.tensor([0]), torch.tensor([tok]))
    gap = scorer.gap(state, scorer.class_logsum(torch.tensor([False, False, True, False, False])))
    got = float(scorer.extend(gap, torch.tensor([[3]])).psi[0, 0])
    total = 0.0
    for path in itertools.product(range(v - 1), repeat=t):
        read = collapse(path)
        rest = read[len(prefix) :]
        if read[: len(prefix)] == prefix:
            k = 0
            while k < len(rest) and rest[k] == 2:
                k += 1
            if k < len(rest) and rest[k] == 3:
                total += math.exp(sum(float(lp[i, c]) for i, c in enumerate(path)))
    assert got == pytest.approx(math.log(total), abs=1e-5)


def test_a_line_reads_right_to_left_when_its_frames_hold_enough_rtl_letters() -> None:
    """`rtl_rows`: right-to-left letters on at least a quarter as many frames as
    left-to-right letters. A Latin line with a stray Arabic frame (seen on held-out
    English lines) stays left to right; mixed and Arabic-only lines do not."""
    from strtool.models.joint_ctc import rtl_rows

    def row(text: str) -> torch.Tensor:
        ids = [TOKENS.index(ch) for ch in text]
        logits = torch.full((len(ids) + 2, len(TOKENS)), -8.0)
        logits[:, 0] = 8.0  # blank frames around and between
        for k, i in enumerate(ids):
            logits[k + 1, i], logits[k + 1, 0] = 8.0, -8.0
        return logits.log_softmax(-1)

    texts = ["ababab س", "abab س", "ab بس", "س", "ab", "12"]
    got = rtl_rows(torch.stack([row(t.ljust(8)) for t in texts]), TOKENS)
    assert got is not None and got.tolist() == [False, True, True, True, False, False]
    assert rtl_rows(row("ab")[None], ("", "a", "b")) is None  # no right-to-left letter
