"""Integrity checks of encoded images.

`header_problem` (every `make-lmdb` run): cheap, no pixel decoding. The bytes must be
an image format Pillow knows (PNG, JPEG, GIF, BMP, TIFF, WebP, ...; SVG, text and
unknown bytes are refused, whatever the file name), its header must give a size of at
least 1x1 and at most `MAX_PIXELS`, and the file must not be visibly truncated: a PNG
ends with its IEND chunk, a JPEG has its end-of-image marker in its last 4 KiB, a GIF
ends with its trailer byte, a BMP or WebP is as long as its header says.

The full checks below (`make-lmdb --check`, `lmdb validate`) decode everything:

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
import warnings
import zlib

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

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


#: Largest image (width x height) accepted: Pillow's decompression-bomb error limit.
MAX_PIXELS = 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _not_image(data: bytes) -> str:
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head:
        return "not a raster image (SVG)"
    if head.startswith((b"<html", b"<!doctype html")):
        return "not an image (HTML)"
    try:
        text = data[:512].decode("utf-8")
    except UnicodeDecodeError:
        return "not an image (unknown format)"
    if all(c.isprintable() or c in "\t\r\n" for c in text):
        return "not an image (text)"
    return "not an image (unknown format)"


def _tail_problem(data: bytes) -> str | None:
    """Visible truncation of formats whose end is cheap to check."""
    if data[:8] == _PNG:
        return None if data.endswith(_PNG_END) else "truncated PNG (no IEND chunk at the end)"
    if data[:3] == b"\xff\xd8\xff":
        if data.rfind(b"\xff\xd9", max(0, len(data) - 4096)) < 0:
            return "truncated JPEG (no end-of-image marker)"
    elif data[:4] == b"GIF8":
        if not data.rstrip(b"\x00").endswith(b"\x3b"):
            return "truncated GIF (no trailer)"
    elif data[:2] == b"BM" and len(data) >= 6:
        if struct.unpack_from("<I", data, 2)[0] > len(data):
            return "truncated BMP (shorter than its header says)"
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        if struct.unpack_from("<I", data, 4)[0] + 8 > len(data):
            return "truncated WebP (shorter than its header says)"
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first SOF segment, walking the marker segments."""
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if 0xD0 <= marker <= 0xD9 or marker == 0x01:  # no length
            pos += 2
            continue
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > n:
                return None
            h, w = struct.unpack_from(">HH", data, pos + 5)
            return w, h
        pos += 2 + length
    return None


def _size(data: bytes) -> tuple[int, int] | str:
    """(width, height) from the header, or why it cannot be read."""
    if data[:8] == _PNG:
        if len(data) < 33 or data[12:16] != b"IHDR":
            return "truncated PNG (no IHDR chunk)"
        return struct.unpack_from(">II", data, 16)
    if data[:3] == b"\xff\xd8\xff":
        size = _jpeg_size(data)
        return size if size is not None else "JPEG header without a frame (SOF) segment"
    if data[:4] == b"GIF8" and len(data) >= 10:
        return struct.unpack_from("<HH", data, 6)
    if data[:2] == b"BM" and len(data) >= 26:
        w, h = struct.unpack_from("<ii", data, 18)
        return w, abs(h)
    try:
        with warnings.catch_warnings():  # problems are returned, not printed
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                return im.size
    except UnidentifiedImageError:
        return _not_image(data)
    except Exception as e:  # noqa: BLE001 - any header failure means unusable
        return f"unreadable image header ({e})"


def header_problem(data: bytes) -> str | None:
    """Why `data` is not a usable image by its header (format, size, visible
    truncation), or None; no pixel is decoded (see the module docstring)."""
    if not data:
        return "empty image file"
    why = _tail_problem(data)
    if why is not None:
        return why
    size = _size(data)
    if isinstance(size, str):
        return size
    w, h = size
    if w < 1 or h < 1:
        return f"image size {w}x{h}"
    if w * h > MAX_PIXELS:
        return f"image too large ({w}x{h} pixels)"
    return None


def image_problem(data: bytes, decode: bool = True) -> str | None:
    """Why `data` is not a usable image, or None. Without `decode` the cheap
    `header_problem` runs; with it, the image is verified as described above."""
    if not data:
        return "empty image file"
    if not decode:
        return header_problem(data)
    if data[:8] == _PNG:
        return png_problem(data)
    if data[:3] == b"\xff\xd8\xff":
        return jpeg_problem(data)
    return pil_problem(data)
