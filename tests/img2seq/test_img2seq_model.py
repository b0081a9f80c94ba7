"""The img2seq model and its decoding: the key/value cache gives what recomputing the
prefix gives, beam search of width 1 is greedy, the length limit holds; the input
geometry keeps the aspect ratio; CER/WER on line forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from strtool.data.transforms import FitResizeNormalize, fit_pad
from strtool.models import ModelSpec, build_model
from strtool.models.img2seq import Img2Seq
from strtool.models.img2seq_search import beam_search, greedy
from strtool.tasks.img2seq_metrics import cer, line_form, lines_of, wer

BOS, EOS, FORBID = 1, 2, (0, 1)


H8_TINY = {"dims": (32, 64), "local_depth": 1, "global_depth": 1, "heads": 2}


@pytest.fixture(scope="module", params=["resnet", "h8"])
def model(request: pytest.FixtureRequest) -> Img2Seq:
    """The tiny ResNet-encoder model, and one with a tiny h8 encoder."""
    torch.manual_seed(3)
    spec = ModelSpec(1, (32, 128), num_classes=12)
    if request.param == "h8":
        m = build_model("img2seq_h8", spec, h8=H8_TINY, width=64, layers=1, heads=2, ffn=128)
    else:
        m = build_model("img2seq_tiny", spec)
    assert isinstance(m, Img2Seq)
    return m.eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    torch.manual_seed(4)
    return torch.randn(3, 1, 32, 128)


def test_cached_steps_give_the_logits_of_the_whole_prefix(model: Img2Seq, images: torch.Tensor):
    tokens = torch.randint(3, 12, (3, 7))
    tokens[:, 0] = BOS
    kv = model.memory_kv(model.encode(images))
    with torch.no_grad():
        full, _ = model.decode(tokens, kv)
        caches, steps = None, []
        for t in range(7):
            logits, caches = model.decode(tokens[:, t : t + 1], kv, caches)
            steps.append(logits)
        # a cache plus several new tokens at once (causal among themselves)
        head, caches2 = model.decode(tokens[:, :3], kv)
        rest, _ = model.decode(tokens[:, 3:], kv, caches2)
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)
    assert torch.allclose(torch.cat([head, rest], 1), full, atol=1e-5)


@pytest.mark.parametrize("width", [1, 3])
def test_cache_and_no_cache_decode_the_same(model: Img2Seq, images: torch.Tensor, width: int):
    kw = {"bos": BOS, "eos": EOS, "max_len": 12, "forbid": FORBID}
    if width == 1:
        a, b = greedy(model, images, cache=True, **kw), greedy(model, images, cache=False, **kw)
    else:
        a = beam_search(model, images, width=width, cache=True, **kw)
        b = beam_search(model, images, width=width, cache=False, **kw)
    for x, y in zip(a, b, strict=True):
        assert x.ids == y.ids and x.ended == y.ended
        assert np.allclose(x.probs, y.probs, atol=1e-5)


def test_beam_of_width_one_is_greedy(model: Img2Seq, images: torch.Tensor):
    kw = {"bos": BOS, "eos": EOS, "max_len": 12, "forbid": FORBID}
    g = greedy(model, images, **kw)
    b = beam_search(model, images, width=1, **kw)
    assert [d.ids for d in g] == [d.ids for d in b]
    assert [d.ended for d in g] == [d.ended for d in b]
    for x, y in zip(g, b, strict=True):
        assert np.allclose(x.probs, y.probs, atol=1e-6)


def test_length_limit_and_forbidden_tokens(model: Img2Seq, images: torch.Tensor):
    with torch.no_grad():  # EOS forbidden too: every row runs to the limit and is cut
        for rows in (
            greedy(model, images, BOS, EOS, 5, forbid=(0, 1, 2)),
            beam_search(model, images, BOS, EOS, 5, width=2, forbid=(0, 1, 2)),
        ):
            assert all(len(d.ids) == 5 and not d.ended and len(d.probs) == 5 for d in rows)
            assert all(t not in (0, 1, 2) for d in rows for t in d.ids)


def test_beam_search_scores_at_least_as_well_as_greedy(model: Img2Seq, images: torch.Tensor):
    kw = {"bos": BOS, "eos": EOS, "max_len": 8, "forbid": FORBID}
    for g, b in zip(greedy(model, images, **kw), beam_search(model, images, width=4, **kw),
                    strict=True):  # fmt: skip
        if g.ended and b.ended:
            assert sum(np.log(b.probs)) >= sum(np.log(g.probs)) - 1e-5


def test_fit_pad_keeps_the_aspect_ratio_both_ways():
    wide = np.full((20, 400), 10, np.uint8)
    tall = np.full((300, 100), 10, np.uint8)
    a, b = fit_pad(wide, 64, 256, pad=255), fit_pad(tall, 64, 256, pad=255)
    assert a.shape == b.shape == (64, 256)
    assert (a[:13, :] == 10).all() and (a[13:, :] == 255).all()  # 20 x 400 -> 13 x 256
    assert (b[:, :21] == 10).all() and (b[:, 22:] == 255).all()  # 300 x 100 -> 64 x 21
    t = FitResizeNormalize(64, 256, 3)(np.zeros((10, 10, 3), np.uint8))
    assert t.shape == (3, 64, 256) and float(t[0, 0, 0]) == -1.0 and abs(float(t[0, 0, 100])) < 0.01


def test_line_form_and_cer_wer_on_strings():
    assert line_form("  a  b \n\n c\t d  ") == "a b\nc d"
    assert lines_of("x\n\ny") == ["x", "y"] and lines_of("  ") == []
    assert cer(["ab\ncd"], ["ab\ncd"]) == 0.0
    assert cer(["ab cd"], ["ab\ncd"]) == pytest.approx(1 / 5)  # a merged line: one edit
    assert cer(["abcd"], ["ab\ncd"]) == pytest.approx(1 / 5)
    assert wer(["the cat\nsat"], ["the cat\nsat on"]) == pytest.approx(1 / 4)
    assert wer(["the dog sat"], ["the cat\nsat"]) == pytest.approx(1 / 3)
    # CJK: CER only (no WER), by language tag or by script
    assert wer(["你好"], ["你们好"], ["zh"]) is None and wer(["ねこ"], ["いぬ"]) is None
    assert wer(["a b", "你好"], ["a c", "你好"], ["en", "zh"]) == pytest.approx(1 / 2)
