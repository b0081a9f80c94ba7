"""mCLIP encoders, prompt tokenisation and the stage-1 losses."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from strtool.models import ModelSpec
from strtool.models.mclip import DEFAULT_VOCAB, PromptVocab, default_prompt_tokens, tokenize_prompts
from strtool.models.mclip import mclip_tiny as _mclip_tiny
from strtool.mstr.losses import (
    arcface_loss,
    bank_ctc_loss,
    batch_targets,
    multi_positive_infonce,
)

torch.set_num_threads(1)


def test_batch_targets_from_character_map() -> None:
    uniq, idx = batch_targets(["ा", "a", "ा", "b", "a"])
    assert uniq == ["ा", "a", "b"]
    assert idx.tolist() == [0, 1, 0, 2, 1]


def test_multi_positive_infonce_hand_computed() -> None:
    # images: two of character 0 (both = e1) and one of character 1 (= e2); scale 1.
    img = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    txt = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    target = torch.tensor([0, 0, 1])
    # logits = [[1,0],[1,0],[0,1]]: every image sees its row at 1, the other at 0.
    i2t = math.log(1 + math.exp(-1))
    # text 0 over images: logits [1,1,0]; positives {0,1} (uniform 1/2 each)
    t2i_0 = -(1 - math.log(2 * math.e + 1))
    # text 1 over images: logits [0,0,1]; positive {2}
    t2i_1 = -(1 - math.log(2 + math.e))
    expected = 0.5 * (i2t + 0.5 * (t2i_0 + t2i_1))
    got = multi_positive_infonce(img, txt, target, 1.0)
    assert got.item() == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(0.50999, abs=1e-4)


def test_infonce_skips_text_rows_without_images_and_prefers_alignment() -> None:
    torch.manual_seed(0)
    txt = F.normalize(torch.randn(4, 8), dim=-1)
    target = torch.tensor([0, 2, 2])
    good = multi_positive_infonce(txt[target], txt, target, 10.0)
    bad = multi_positive_infonce(txt[torch.tensor([1, 3, 0])], txt, target, 10.0)
    assert torch.isfinite(good) and good < bad


def test_arcface_margin_increases_loss() -> None:
    torch.manual_seed(0)
    txt = F.normalize(torch.randn(3, 16), dim=-1)
    img = F.normalize(txt[[0, 1, 2]] + 0.1 * torch.randn(3, 16), dim=-1)
    target = torch.tensor([0, 1, 2])
    assert arcface_loss(img, txt, target, margin=0.3) > arcface_loss(img, txt, target, margin=0.0)


def test_arcface_value_hand_computed() -> None:
    # two classes at 90 degrees; the image sits 30 degrees from class 0.
    txt = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    a = math.radians(30)
    img = torch.tensor([[math.cos(a), math.sin(a)]])
    s, m = 10.0, 0.2
    expected = -math.log(math.exp(s * math.cos(a + m))
                         / (math.exp(s * math.cos(a + m)) + math.exp(s * math.sin(a))))  # fmt: skip
    got = arcface_loss(img, txt, torch.tensor([0]), scale=s, margin=m)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_arcface_gradient_stays_bounded_near_collapse() -> None:
    # Nearly collapsed embeddings (theta ~ 0.003 rad): the exact ArcFace derivative of
    # the target logit would be ~70x the cosine's; ours keeps the cosine-margin gradient.
    txt = F.normalize(torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.004, 0.0]]), dim=-1)
    img = F.normalize(torch.tensor([[1.0, 0.003, 0.0]]), dim=-1).requires_grad_(True)
    target = torch.tensor([0])
    arcface_loss(img, txt, target, scale=30.0, margin=0.2).backward()
    cos = img.detach() @ txt.t()
    cos_m = cos.clone()
    cos_m[0, 0] = torch.cos(torch.acos(cos[0, 0]) + 0.2)
    p = (30.0 * cos_m).softmax(-1)[0]
    expected = 30.0 * ((p[0] - 1) * txt[0] + p[1] * txt[1])  # d loss / d img, cosine margin
    assert torch.allclose(img.grad[0], expected, atol=1e-4)


def mclip_tiny(channels: int):  # noqa: ANN201 - test helper
    return _mclip_tiny(ModelSpec(channels))


def test_mclip_text_embeddings_start_spread() -> None:
    # Pooling the code-point tokens: fresh prompts are not all the same vector (CLS
    # pooling started at cosine 0.996, which the mCLIP losses then collapsed).
    torch.manual_seed(0)
    chars = ["a", "b", "z", "ب", "ा", "可", "세", "ঘ"]
    ids = tokenize_prompts([(c, "en", "letter") for c in chars])
    with torch.no_grad():
        txt = mclip_tiny(1).encode_text(ids)
    sim = txt @ txt.t()
    assert sim[~torch.eye(len(chars), dtype=torch.bool)].mean() < 0.9


def test_prompt_tokens_are_stored_so_new_languages_keep_weight_shapes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An mCLIP checkpoint keeps its own prompt-token list: after a language is added to
    the known ones (here: a longer default list), the stored checkpoint still loads with
    its original shapes and gives the same text embeddings."""
    from strtool.engine.config import load_run_config
    from strtool.engine.reader import open_reader
    from strtool.tasks.mclip import MclipTask

    cfg = load_run_config(None, ["model.arch=mclip_tiny", "model.height=32", "model.width=32"])
    task = MclipTask(cfg)
    path = tmp_path / "m.pt"
    torch.save({**task.payload(), "model": task.model.state_dict()}, path)
    items = [("a", "en", "letter"), ("ب", "ar", "letter")]
    with torch.no_grad():
        want = task.mclip.encode_text(task.mclip.tokenize(items))
    grown = default_prompt_tokens(("en", "ar", "xx-new", "yy-new"))
    assert len(grown) != len(task.mclip.vocab.tokens)
    monkeypatch.setattr(importlib.import_module("strtool.tasks.mclip"), "default_prompt_tokens",
                        lambda: grown)  # fmt: skip
    assert MclipTask(cfg).mclip.vocab.tokens == grown  # new runs see the new list
    rec = open_reader(path, "cpu")  # the stored list wins: same shapes, same outputs
    mclip = rec.task.mclip  # type: ignore[attr-defined]
    assert mclip.vocab.tokens == task.mclip.vocab.tokens
    with torch.no_grad():
        got = mclip.encode_text(mclip.tokenize(items))
    torch.testing.assert_close(got, want)


def test_bank_ctc_loss_finite() -> None:
    logits = torch.randn(2, 10, 6, requires_grad=True)
    loss = bank_ctc_loss(logits, torch.tensor([1, 2, 3, 4, 5]), torch.tensor([2, 3]))
    loss.backward()
    assert torch.isfinite(loss) and logits.grad is not None


def test_tokenize_prompts_codepoints_need_no_vocabulary() -> None:
    ids = tokenize_prompts([("ा", "hi", "diacritic"), ("𝄞", "LAT", "common"), ("x", "zz", "?")])
    v = DEFAULT_VOCAB
    assert ids[0, 1] == v.ids["<lang=hi>"] and ids[0, 2] == v.ids["<type=diacritic>"]
    assert ids[0, 3] == v.num_special + 0x093E and ids[0, 4] == 0
    assert ids[1, 3] == v.num_special + 0x1D11E  # outside the BMP still embeds
    assert ids[2, 1] == v.ids["<lang=?>"] and ids[2, 2] == v.ids["<type=common>"]
    small = PromptVocab(("<pad>", "<cls>", "<lang=?>", "<lang=hi>"))
    ids = small.tokenize([("ा", "hi", "diacritic")])
    assert ids[0, 1] == 3 and ids[0, 3] == 4 + 0x093E  # code points follow the specials


def test_mclip_shapes_unit_norm_and_clamped_scale() -> None:
    model = mclip_tiny(1)
    ids = tokenize_prompts([("a", "en", "letter"), ("ب", "ar", "letter")])
    img, txt, scale = model(torch.randn(3, 1, 32, 32), ids)
    assert img.shape == (3, 64) and txt.shape == (2, 64)
    assert torch.allclose(img.norm(dim=-1), torch.ones(3), atol=1e-5)
    assert torch.allclose(txt.norm(dim=-1), torch.ones(2), atol=1e-5)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    assert model.scale().item() == pytest.approx(100.0, rel=1e-5)
