"""Recognition models: pure `nn.Module`s mapping images (N, C, H, W) to CTC logits
(N, T, num_classes). `REGISTRY` is the explicit list of architectures; each builder is
`builder(num_classes, in_channels=3, img_size=(H, W), **overrides) -> nn.Module`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from strtool.errors import ConfigError
from strtool.models.blocks import count_parameters
from strtool.models.crnn import crnn, crnn_small, crnn_tiny
from strtool.models.svtr import svtr_nano, svtr_tiny

REGISTRY: dict[str, Callable[..., nn.Module]] = {
    "crnn": crnn,
    "crnn_small": crnn_small,
    "crnn_tiny": crnn_tiny,
    "svtr_tiny": svtr_tiny,
    "svtr_nano": svtr_nano,
}


def build_model(
    arch: str,
    num_classes: int,
    in_channels: int = 3,
    img_size: tuple[int, int] = (32, 100),
    **overrides: Any,
) -> nn.Module:
    """Build a registered architecture; unknown names raise `ConfigError`."""
    if arch not in REGISTRY:
        raise ConfigError(
            f"model.arch: unknown architecture '{arch}' (known: {', '.join(REGISTRY)})"
        )
    try:
        return REGISTRY[arch](num_classes, in_channels, tuple(img_size), **overrides)
    except TypeError as e:
        raise ConfigError(f"model.options for '{arch}': {e}") from None


__all__ = ["REGISTRY", "build_model", "count_parameters"]
