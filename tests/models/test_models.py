"""Every registered model, every family: built through the one registry signature,
forward/backward in train and eval mode; CTC models also with grey and channels_last
input, and the parameter counts of the CLL-STR configurations."""

from __future__ import annotations

import pytest
import torch

from strtool.errors import ConfigError
from strtool.models import REGISTRY, ModelSpec, count_parameters
from strtool.models import build_model as _build

torch.set_num_threads(1)
SMALL = ["crnn_tiny", "crnn_small", "svtr_nano"]
CTC = sorted(a for a, e in REGISTRY.items() if e.family == "ctc")
BANK = torch.nn.functional.normalize(torch.randn(6, 16), dim=-1)


def build_model(
    arch: str, num_classes: int, in_channels: int = 3, img_size: tuple[int, int] = (32, 100),
    **options: object,
) -> torch.nn.Module:  # fmt: skip
    return _build(arch, ModelSpec(in_channels, img_size, num_classes), **options)


def _forward(arch: str, model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One differentiable output of any family's model."""
    family = REGISTRY[arch].family
    if family == "mclip":
        img, txt, scale = model(x, model.tokenize([("a", "en", "letter"), ("ب", "ar", "letter")]))
        return scale * img @ txt.t()
    if family == "refiner":
        idx = torch.randint(0, 7, (x.shape[0], 8, model.topk))
        prob = torch.rand(x.shape[0], 8, model.topk)
        levels = [torch.randn(x.shape[0], 8, 8, 8), torch.randn(x.shape[0], 16, 4, 8)]
        return model(idx, prob, levels, torch.ones(x.shape[0], 3, dtype=torch.long))
    if family == "img2seq":
        return model(x, torch.randint(0, 11, (x.shape[0], 5)))
    return model(x)


@pytest.mark.parametrize("arch", sorted(REGISTRY))
@pytest.mark.parametrize("train", [True, False])
def test_every_registered_arch_builds_and_learns(arch: str, train: bool) -> None:
    torch.manual_seed(0)
    spec = ModelSpec(3, (32, 128), num_classes=11, bank=BANK, level_channels=(8, 16))
    model = _build(arch, spec)
    model.train(train)
    x = torch.randn(2, 3, 32, 128, requires_grad=True)
    y = _forward(arch, model, x)
    assert torch.isfinite(y).all()
    y.float().log_softmax(-1).sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
    assert grads, f"{arch}: no parameter received a gradient"
    if REGISTRY[arch].family in ("ctc", "spotter", "img2seq"):
        assert x.grad is not None and x.grad.shape == x.shape


@pytest.mark.parametrize("arch", CTC)
@pytest.mark.parametrize("train", [True, False])
def test_forward_backward_shapes(arch: str, train: bool) -> None:
    torch.manual_seed(0)
    model = build_model(arch, num_classes=11)
    model.train(train)
    x = torch.randn(2, 3, 32, 100, requires_grad=True)
    y = model(x)
    steps = 24 if arch.startswith("crnn") else 25
    assert y.shape == (2, steps, 11)
    assert torch.isfinite(y).all()
    y.log_softmax(-1).sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)


@pytest.mark.parametrize("arch", SMALL)
def test_grey_input_and_other_width(arch: str) -> None:
    model = build_model(arch, num_classes=7, in_channels=1, img_size=(32, 128)).eval()
    y = model(torch.randn(3, 1, 32, 128))
    assert y.shape[0] == 3 and y.shape[2] == 7
    assert y.shape[1] == (31 if arch.startswith("crnn") else 32)


@pytest.mark.parametrize("arch", SMALL)
def test_channels_last_matches_contiguous(arch: str) -> None:
    torch.manual_seed(0)
    model = build_model(arch, num_classes=9).eval()
    x = torch.randn(2, 3, 32, 100)
    ref = model(x)
    model = model.to(memory_format=torch.channels_last)
    out = model(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_crnn_parameter_count_matches_cll_str() -> None:
    n = count_parameters(build_model("crnn", num_classes=4680))
    assert abs(n - 9.65e6) / 9.65e6 < 0.02


def test_svtr_tiny_parameter_count_matches_cll_str() -> None:
    n = count_parameters(build_model("svtr_tiny", num_classes=4680))
    assert abs(n - 8.0e6) / 8.0e6 < 0.05


def test_tiny_presets_are_small() -> None:
    for arch in ("crnn_tiny", "svtr_nano"):
        assert count_parameters(build_model(arch, num_classes=100)) < 1_000_000


def test_stages_expose_out_channels() -> None:
    m = build_model("crnn", num_classes=5)
    assert m.backbone.out_channels == 512 and m.head.out_channels == 5
    s = build_model("svtr_tiny", num_classes=5)
    assert [st.out_channels for st in s.backbone] == [128, 256, 512]


def test_svtr_local_window_restricts_attention() -> None:
    from strtool.models.svtr import local_mask

    m = local_mask(8, 25, (7, 11), torch.device("cpu"))
    assert m.shape == (200, 200)
    assert m[0].sum() == 4 * 6  # corner token: rows 0..3, cols 0..5
    assert m[0, 6] == False  # noqa: E712 — 6 columns away
    assert torch.equal(m, m.T)


def test_unknown_arch_and_option_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown architecture"):
        build_model("nope", 5)
    with pytest.raises(ConfigError, match="crnn_tiny"):
        build_model("crnn_tiny", 5, bogus=3)
