"""Inference-only graph simplification: fold a BatchNorm into the convolution that
feeds it.

In eval mode a `BatchNorm2d` is a fixed per-channel affine map, so `bn(conv(x))` equals
one convolution with rescaled weights and a bias. Folding removes a pass over the
feature map per pair (the stem and downsampling layers of the CNN recognisers). Only
pairs that sit next to each other inside an `nn.Sequential` are folded: there the
convolution's output is the norm's only input by construction. A model folded this
way must not be trained again (its BatchNorm layers are gone); `strtool.engine.reader`
folds the models it loads to read, never a model being trained.
"""

from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fuse_conv_bn(model: nn.Module) -> int:
    """Fold every `BatchNorm2d` that directly follows a `Conv2d` in an `nn.Sequential`
    of `model` (in place; the norm becomes `nn.Identity`). `model` must be in eval mode
    (`ValueError` otherwise: a training BatchNorm uses batch statistics). Returns the
    number of pairs folded."""
    if model.training:
        raise ValueError("fuse_conv_bn needs a model in eval mode")
    folded = 0
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        names = list(seq._modules)
        for first, second in zip(names, names[1:], strict=False):
            conv, bn = seq._modules[first], seq._modules[second]
            if not (isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)):
                continue
            if bn.running_mean is None:  # track_running_stats=False: batch statistics
                continue  # even in eval mode, nothing fixed to fold
            seq._modules[first] = fuse_conv_bn_eval(conv, bn)
            seq._modules[second] = nn.Identity()
            folded += 1
    return folded
