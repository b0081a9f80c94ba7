"""Fast integrity checks of encoded images (used by `make-lmdb --check` and
`lmdb validate`).

- PNG: a structural check that is as strict as decoding: signature, every chunk's
  CRC-32, IHDR, the whole zlib stream of the IDAT chunks (checksum included), its
  exact size for the image geometry, each row's filter type, and the IEND chunk
  (inflation by libdeflate when installed, else zlib: see `strtool.data.inflate`).
- JPEG: OpenCV decodes it at 1/8 scale (DCT scaling still walks the whole entropy
  stream, so truncation and broken markers fail) with OpenCV's log messages silenced.
- Anything else: Pillow decodes it fully.
"""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
from PIL import Image

from strtool.data.inflate import rows_problem

_PNG = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}

try:  # keep libpng/libjpeg warnings off stderr: problems are returned, not printed
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
except AttributeError:  # pragma: no cover - very old OpenCV
    pass


_CHUNK_HEAD = struct.Struct(">I4s")
_U32 = struct.Struct(">I")
_IHDR = struct.Struct(">IIBBBBB")


def png_problem(data: bytes) -> str | None:
    """Why `data` is not a valid PNG, or None. Chunk CRCs are computed on memoryviews
    (no copies); the image data is inflated by `inflate.rows_problem`."""
    if data[:8] != _PNG:
        return "not a PNG"
    view, pos, n = memoryview(data), 8, len(data)
    idat: list[memoryview] = []
    ihdr = None
    while True:
        if pos + 12 > n:
            return "truncated (no IEND chunk)"
        length, ctype = _CHUNK_HEAD.unpack_from(data, pos)
        end = pos + 12 + length
        if end > n:
            return f"truncated {ctype.decode('latin-1')} chunk"
        if zlib.crc32(view[pos + 4 : end - 4]) != _U32.unpack_from(data, end - 4)[0]:
            return f"CRC error in {ctype.decode('latin-1')} chunk"
        if ctype == b"IDAT":
            idat.append(view[pos + 8 : end - 4])
        elif ctype == b"IHDR" and length >= 13:
            ihdr = _IHDR.unpack_from(data, pos + 8)
        elif ctype == b"IEND":
            break
        pos = end
    if ihdr is None or not idat:
        return "missing IHDR or IDAT chunk"
    return _png_pixels_problem(ihdr, bytes(idat[0]) if len(idat) == 1 else b"".join(idat))


def _png_pixels_problem(ihdr: tuple[int, ...], stream: bytes) -> str | None:
    w, h, depth, color, _, _, interlace = ihdr
    if color not in _PNG_CHANNELS or w == 0 or h == 0 or depth not in (1, 2, 4, 8, 16):
        return "invalid IHDR"
    if not interlace:
        return rows_problem(stream, h, (w * _PNG_CHANNELS[color] * depth + 7) // 8 + 1)
    try:
        raw = zlib.decompress(stream)
    except zlib.error as e:
        return f"bad image data ({e})"
    return None if raw else "empty image data"


def jpeg_problem(data: bytes) -> str | None:
    """Why `data` is not a decodable JPEG, or None."""
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_GRAYSCALE_8)
    return None if arr is not None else "JPEG does not decode"


def pil_problem(data: bytes) -> str | None:
    """Why Pillow cannot fully decode `data`, or None."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
    except Exception as e:  # noqa: BLE001 - any decoder failure means corrupt
        return f"does not decode ({e})"
    return None


def image_problem(data: bytes, decode: bool = True) -> str | None:
    """Why `data` is not a usable image, or None. Without `decode` only empty data is
    rejected (cheap); with it, the image is verified as described above."""
    if not data:
        return "empty image file"
    if not decode:
        return None
    if data[:8] == _PNG:
        return png_problem(data)
    if data[:3] == b"\xff\xd8\xff":
        return jpeg_problem(data)
    return pil_problem(data)
