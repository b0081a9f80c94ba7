"""Inference folding (`strtool.models.fuse`) and the H8 pool's matmul score: both
must give the numbers of the layers they replace."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from strtool.engine.reader import open_reader
from strtool.models.fuse import fuse_conv_bn
from strtool.models.h8 import ConvMixer, RowAttentionPool


def _trained_bn(bn: nn.BatchNorm2d, g: torch.Generator) -> nn.BatchNorm2d:
    """Running statistics and affine far from the identity, as after training."""
    c = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(c, generator=g))  # type: ignore[union-attr]
        bn.running_var.copy_(torch.rand(c, generator=g) * 3 + 0.1)  # type: ignore[union-attr]
        bn.weight.copy_(torch.randn(c, generator=g))
        bn.bias.copy_(torch.randn(c, generator=g))
    return bn


def test_fold_gives_the_same_output_and_removes_the_norms() -> None:
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, 2, 1, bias=False), _trained_bn(nn.BatchNorm2d(8), g), nn.GELU(),
        nn.Conv2d(8, 16, 3, 1, 1), _trained_bn(nn.BatchNorm2d(16), g), nn.ReLU(),
    ).eval()  # fmt: skip
    x = torch.randn(2, 3, 32, 64, generator=g)
    with torch.no_grad():
        want = model(x)
        assert fuse_conv_bn(model) == 2
        got = model(x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert isinstance(model[0], nn.Conv2d) and model[0].bias is not None  # bias added
    assert float((got - want).abs().max()) < 1e-4 * float(want.abs().max())


def test_only_a_conv_followed_by_its_norm_is_folded() -> None:
    """A norm BEFORE a convolution (pre-norm blocks) is not an affine of the conv's
    output; folding it would be wrong at the zero-padded border."""
    g = torch.Generator().manual_seed(1)
    model = nn.Sequential(_trained_bn(nn.BatchNorm2d(4), g), nn.Conv2d(4, 4, 3, 1, 1)).eval()
    assert fuse_conv_bn(model) == 0
    assert isinstance(model[0], nn.BatchNorm2d)


def test_fold_refuses_a_training_model() -> None:
    with pytest.raises(ValueError, match="eval mode"):
        fuse_conv_bn(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))


def test_h8_pool_score_equals_the_convolution() -> None:
    torch.manual_seed(0)
    pool = RowAttentionPool(32)
    x = torch.randn(3, 32, 4, 20)
    ref_w = F.conv2d(x, pool.score.weight, pool.score.bias).softmax(dim=2)
    want = (x * ref_w).sum(dim=2).transpose(1, 2)
    got = pool(x)
    assert got.shape == (3, 20, 32)
    assert torch.allclose(got, want, atol=1e-5)
    # channels_last input (training with train.channels_last) gives the same result
    assert torch.allclose(pool(x.contiguous(memory_format=torch.channels_last)), want, atol=1e-5)


def test_reader_folds_the_shipped_model_without_changing_its_readings() -> None:
    fused, plain = open_reader("default", "cpu"), open_reader("default", "cpu", fuse=False)
    assert fused.meta["fused"] == 3 and "fused" not in plain.meta  # stem x2, down
    assert fused.params == plain.params  # counted as trained
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (32, int(w)), dtype=np.uint8) for w in (40, 90, 160, 300)]
    x = torch.stack([plain.task.transform(c) for c in crops])  # the training width
    with torch.inference_mode():
        a, b = fused.model(x), plain.model(x)
    assert float((a - b).abs().max()) < 1e-3
    ra, rb = fused.read_arrays(crops), plain.read_arrays(crops)
    assert ra.texts == rb.texts
    assert np.allclose(ra.confidences, rb.confidences, atol=1e-4)


@pytest.mark.parametrize("channels_last", [False, True])
def test_h8_mixer_mlp_as_matmul_equals_the_convolutions(channels_last: bool) -> None:
    torch.manual_seed(0)
    block = ConvMixer(16).eval()
    x = torch.randn(2, 16, 8, 24)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.allclose(block._mlp(x), block.mlp(x), atol=1e-5)
    # gradients reach the same weights (training uses the same path)
    block.train()
    block._mlp(x).sum().backward()
    assert block.mlp[0].weight.grad is not None and block.mlp[2].weight.grad is not None
