"""Image decoding and resizing (NumPy/OpenCV/Pillow only: no torch, so commands that
only look at images start fast).

`decode_image` turns encoded bytes into a uint8 array `(H, W)` (grey) or `(H, W, 3)`
(RGB). Fast path: OpenCV for JPEG (EXIF orientation applied by OpenCV) and for PNGs
without alpha or palette; everything else (RGBA / LA / palette with transparency,
16-bit and 32-bit integer images, TIFF, WebP, BMP...) goes through Pillow, with EXIF
orientation applied and transparency composited on white.

`resize_pad` resizes to `(height, width)`, either keeping the aspect ratio (scale to
`height`, cap the width, pad on the right) or stretching.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image, ImageOps

from strtool.errors import DataError

_PNG = b"\x89PNG\r\n\x1a\n"


def _cv2_ok(data: bytes) -> bool:
    """Whether OpenCV decodes `data` exactly like Pillow would (no alpha/palette/EXIF
    subtleties we handle ourselves)."""
    if data[:3] == b"\xff\xd8\xff":
        return True
    if data[:8] == _PNG and len(data) > 26:
        return data[25] in (0, 2) and data[24] == 8  # grey or RGB, 8 bits
    return False


def _pil_decode(data: bytes, channels: int) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            arr = np.asarray(im, dtype=np.float64)
            hi = 65535.0 if im.mode.startswith("I;16") else max(float(arr.max()), 1.0)
            im = Image.fromarray(np.clip(arr * 255.0 / hi, 0, 255).astype(np.uint8))
        if im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
            rgba = im.convert("RGBA")
            bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            im = Image.alpha_composite(bg, rgba)
        im = im.convert("L" if channels == 1 else "RGB")
        return np.asarray(im)


def decode_image(data: bytes, channels: int = 3) -> np.ndarray:
    """Decode image bytes to uint8 `(H, W)` if `channels == 1` else `(H, W, 3)` RGB.

    Raises `DataError` when the bytes are not a decodable image."""
    if _cv2_ok(data):
        flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
        if arr is not None:
            return arr if channels == 1 else cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    try:
        return _pil_decode(data, channels)
    except Image.UnidentifiedImageError:  # its message is the repr of a BytesIO
        raise DataError(f"not an image format PIL or OpenCV can read ({len(data)} bytes)") from None
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError) as e:
        raise DataError(f"cannot decode image ({len(data)} bytes): {e}") from None


def resize_pad(
    img: np.ndarray, height: int, width: int, keep_ratio: bool = True, pad: int = 0
) -> np.ndarray:
    """Resize `img` (H, W[, C]) to exactly (height, width[, C]).

    With `keep_ratio`, the image is scaled to `height` and its width capped at `width`;
    the rest on the right is filled with `pad` (uint8). Otherwise it is stretched."""
    h, w = img.shape[:2]
    if not keep_ratio:
        new_w = width
    else:
        new_w = max(1, min(width, int(round(w * height / max(h, 1)))))
    if (h, w) != (height, new_w):
        interp = cv2.INTER_AREA if h > height else cv2.INTER_LINEAR
        img = cv2.resize(img, (new_w, height), interpolation=interp)
    if new_w == width:
        return img
    out = np.full((height, width) + img.shape[2:], pad, dtype=img.dtype)
    out[:, :new_w] = img
    return out
