"""The resize + normalise transform of recognition models.

`ResizeNormalize(height, width, channels)` decodes (see `strtool.data.decode`), resizes
to `(height, width)`, either keeping the aspect ratio (scale to `height`, cap the width,
pad on the right) or stretching, and returns a float32 tensor `(C, H, W)` in [-1, 1].
With `max_width` above `width` (reading only, models that take any input width), an
image wider than `width` at `height` keeps its own width up to `max_width` instead of
being squeezed: the tensor is then wider, padded up to a multiple of `width_step`
(batches of such tensors are read grouped by width, `strtool.data.ragged`).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from PIL import Image

from strtool.data.decode import decode_image, resize_pad

__all__ = ["FitResizeNormalize", "ResizeNormalize", "decode_image", "fit_pad", "resize_pad"]


class ResizeNormalize:
    """Bytes / PIL image / uint8 array -> float32 tensor `(C, H, W)` in [-1, 1].

    `channels` is 1 (grey) or 3 (RGB). `keep_ratio=True` pads on the right with
    `pad_value` (in the normalised [-1, 1] scale; default 0 = mid grey)."""

    def __init__(
        self,
        height: int,
        width: int,
        channels: int = 3,
        keep_ratio: bool = True,
        pad_value: float = 0.0,
        max_width: int | None = None,
        width_step: int = 32,
    ) -> None:
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if max_width is not None and (not keep_ratio or max_width < width):
            raise ValueError(f"max_width {max_width} needs keep_ratio and >= width {width}")
        self.height, self.width, self.channels = height, width, channels
        self.keep_ratio = keep_ratio
        self.pad = int(round((pad_value + 1.0) * 127.5))
        self.max_width = max_width if max_width is not None else width
        self.width_step = max(1, width_step)

    def canvas_width(self, image_hw: tuple[int, int]) -> int:
        """The input width of an image of size (h, w): `width` for every image that
        fits it at `height`; a wider one keeps its width up to `max_width`, rounded up
        to `width_step` (never past `max_width`). `resize_pad` to it places the image
        at its own width (squeezed only past `max_width`) and pads the rest."""
        h, w = image_hw
        natural = max(1, int(round(w * self.height / max(h, 1))))
        if not self.keep_ratio or natural <= self.width or self.max_width <= self.width:
            return self.width
        return min(-(-natural // self.width_step) * self.width_step, self.max_width)

    def to_array(self, image: bytes | Image.Image | np.ndarray) -> np.ndarray:
        """Decoded uint8 array (H, W) or (H, W, 3) of the requested channels."""
        if isinstance(image, bytes | bytearray | memoryview):
            return decode_image(bytes(image), self.channels)
        if isinstance(image, Image.Image):
            buf = image.convert("L" if self.channels == 1 else "RGB")
            return np.asarray(buf)
        arr = np.asarray(image)
        if self.channels == 1 and arr.ndim == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
        elif self.channels == 3 and arr.ndim == 2:
            arr = cv2.cvtColor(arr, cv2.COLOR_GRAY2RGB)
        return arr

    def __call__(self, image: bytes | Image.Image | np.ndarray) -> torch.Tensor:
        arr = self.to_array(image)
        width = self.canvas_width(arr.shape[:2])
        arr = resize_pad(arr, self.height, width, self.keep_ratio, self.pad)
        t = torch.from_numpy(np.ascontiguousarray(arr))
        t = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)
        return t.float().div_(127.5).sub_(1.0)


class FitResizeNormalize(ResizeNormalize):
    """Like `ResizeNormalize`, but the image keeps its aspect ratio in both directions:
    scaled by `min(height / h, width / w)` (down- or up-scaled to touch one side of
    the canvas) and padded on the right and at the bottom with `pad_value`. The input
    of line and page recognisers (`img2seq`), whose images are as often too tall as
    too wide; a batch of such tensors is the padded batch."""

    def __call__(self, image: bytes | Image.Image | np.ndarray) -> torch.Tensor:
        arr = fit_pad(self.to_array(image), self.height, self.width, self.pad)
        t = torch.from_numpy(np.ascontiguousarray(arr))
        t = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)
        return t.float().div_(127.5).sub_(1.0)


def fit_pad(img: np.ndarray, height: int, width: int, pad: int = 0) -> np.ndarray:
    """`img` (H, W[, C]) scaled to fit (height, width) with its aspect ratio, placed at
    the top left of a (height, width[, C]) canvas filled with `pad`."""
    h, w = img.shape[:2]
    scale = min(height / max(h, 1), width / max(w, 1))
    new_h = max(1, min(height, int(round(h * scale))))
    new_w = max(1, min(width, int(round(w * scale))))
    if (new_h, new_w) != (h, w):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        img = cv2.resize(img, (new_w, new_h), interpolation=interp)
    if (new_h, new_w) == (height, width):
        return img
    out = np.full((height, width) + img.shape[2:], pad, dtype=img.dtype)
    out[:new_h, :new_w] = img
    return out
