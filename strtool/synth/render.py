"""Text -> coverage mask with Pillow's libraqm layout (HarfBuzz shaping + FriBiDi).

`render_mask` draws a text, given in logical order, with one font face into an 8-bit
alpha mask (255 = ink). libraqm shapes it (Arabic joining, Indic conjuncts and matra
reordering, CJK) and does the visual reordering: `direction="rtl"` for Arabic and
the OpenType language tag of the sample's language (`RAQM_LANGUAGE`). The mask holds
the font's full line box (ascent + descent), so baselines line up across samples.

Vertical layout (CJK option): grapheme clusters stacked top to bottom, each centred
in an em-square cell; the label stays the logical text, the crop is tall.

Character spacing (tracking, `spacing` in em): grapheme clusters are placed at their
positions in the whole shaped line (kerning kept) plus `spacing` em per preceding
cluster. Only for `TRACKING_LANGS` (Latin and CJK, whose clusters do not join):
Arabic letters join across clusters and Devanagari/Bengali aksharas share a headline,
so their texts are always laid out whole and their shaping is untouched.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypedDict

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from strtool.errors import FontError, SetupError
from strtool.synth.fonts import FontFace
from strtool.text.normalize import split_units

#: strtool language -> OpenType/BCP-47 language tag given to libraqm.
RAQM_LANGUAGE: dict[str, str] = {
    "en": "en",
    "fr": "fr",
    "de": "de",
    "it": "it",
    "ar": "ar",
    "hi": "hi",
    "bn": "bn",
    "zh": "zh-Hans",
    "ja": "ja",
    "ko": "ko",
}

#: Languages written right to left (base direction given to libraqm).
RTL_LANGS: frozenset[str] = frozenset({"ar"})

#: Languages that may be laid out vertically (`render.vertical_prob`).
VERTICAL_LANGS: frozenset[str] = frozenset({"zh", "ja", "ko"})

#: Languages whose grapheme clusters may be spaced apart (`augment.spacing`).
TRACKING_LANGS: frozenset[str] = frozenset({"en", "fr", "de", "it", "zh", "ja", "ko"})


def has_raqm() -> bool:
    """True when Pillow was built with libraqm (required for complex scripts)."""
    from PIL import features

    return bool(features.check("raqm"))


def require_raqm() -> None:
    """Raise `SetupError` (one line) unless Pillow can lay text out with libraqm: without
    it Arabic would not join or run right to left and Indic clusters would not form, so
    strtool renders nothing rather than wrong text. Pillow's wheels carry libraqm but load
    FriBiDi from the system at run time."""
    if not has_raqm():
        raise SetupError(
            "Pillow cannot use libraqm here (needed to shape Arabic, Indic and other "
            "complex scripts): install FriBiDi (Debian/Ubuntu: apt install libfribidi0; "
            "macOS: brew install fribidi) or a Pillow built with libraqm"
        )


@lru_cache(maxsize=512)
def load_font(face: FontFace, size: int) -> ImageFont.FreeTypeFont:
    """The face at `size` pixels (em), libraqm layout; cached per process."""
    try:
        return ImageFont.truetype(
            str(face.path), size, index=face.index, layout_engine=ImageFont.Layout.RAQM
        )
    except OSError as e:
        raise FontError(f"{face.path}: cannot load font face {face.index} ({e})") from None


class LayoutKwargs(TypedDict, total=False):
    """The libraqm keyword arguments of Pillow's text calls that `layout_kwargs` sets."""

    direction: str
    language: str


def layout_kwargs(lang: str | None) -> LayoutKwargs:
    """libraqm options for a language: `direction` (rtl for Arabic) and `language`."""
    kw: LayoutKwargs = {}
    if lang in RTL_LANGS:
        kw["direction"] = "rtl"
    if lang in RAQM_LANGUAGE:
        kw["language"] = RAQM_LANGUAGE[lang]
    return kw


def render_mask(
    text: str, face: FontFace, size: int, lang: str | None = None, spacing: float = 0.0
) -> np.ndarray:
    """Alpha mask (H, W) uint8 of `text` on one line, H = the font's line box
    (ascent + descent, widened if glyphs overshoot) + 2 px, W = the ink advance + 2 px.
    `spacing` (em) adds tracking between grapheme clusters, for `TRACKING_LANGS` only
    (ignored for any other language)."""
    if spacing and lang in TRACKING_LANGS:
        units = split_units(text, "grapheme")
        if len(units) > 1:
            return _render_spaced(units, face, size, lang, spacing)
    font = load_font(face, size)
    kw = layout_kwargs(lang)
    core, (ox, oy) = font.getmask2(text, mode="L", anchor="ls", **kw)
    ink = _as_array(core)
    ascent, descent = font.getmetrics()
    top = min(oy, -ascent)
    bottom = max(oy + ink.shape[0], descent)
    left = min(ox, 0)
    width = max(1, ox + ink.shape[1] - left + 2)
    out = np.zeros((max(1, bottom - top + 2), width), np.uint8)
    y, x = oy - top + 1, ox - left + 1
    out[y : y + ink.shape[0], x : x + ink.shape[1]] = ink
    return out


def _render_spaced(
    units: list[str], face: FontFace, size: int, lang: str | None, spacing: float
) -> np.ndarray:
    """`render_mask` with `spacing` em of tracking after every cluster but the last."""
    font = load_font(face, size)
    kw = layout_kwargs(lang)
    text = "".join(units)
    xs, pos = [], 0
    for i, unit in enumerate(units):
        xs.append(font.getlength(text[:pos], **kw) + i * spacing * size if pos else 0.0)
        pos += len(unit)
    boxes = [font.getbbox(u, anchor="ls", **kw) for u in units]
    ascent, descent = font.getmetrics()
    left = min(0, *(int(np.floor(x + b[0])) for x, b in zip(xs, boxes, strict=True)))
    right = max(int(np.ceil(x + b[2])) for x, b in zip(xs, boxes, strict=True))
    # FreeType boxes are whole pixels (Pillow's stub types them float).
    top = min(-ascent, *(int(b[1]) for b in boxes))
    bottom = max(descent, *(int(b[3]) for b in boxes))
    img = Image.new("L", (max(1, right - left + 2), max(1, bottom - top + 2)), 0)
    draw = ImageDraw.Draw(img)
    for x, unit in zip(xs, units, strict=True):
        if not unit.isspace():
            draw.text((x - left + 1, -top + 1), unit, font=font, fill=255, anchor="ls", **kw)
    return np.asarray(img)


def _as_array(core: Image.core.ImagingCore) -> np.ndarray:
    """(H, W) uint8 view of the 'L' bitmap Pillow's getmask2 returns."""
    return np.asarray(Image.Image()._new(core))


def render_vertical(text: str, face: FontFace, size: int, lang: str | None = None) -> np.ndarray:
    """Alpha mask (H, W) of `text` stacked vertically, one grapheme per em cell
    (W = 1.1 em, H = n * 1.05 em); spaces leave an empty half cell."""
    font = load_font(face, size)
    kw = layout_kwargs(lang)
    units = split_units(text, "grapheme")
    cell = int(round(size * 1.05))
    heights = [cell // 2 if u.isspace() else cell for u in units]
    width = int(round(size * 1.1))
    img = Image.new("L", (width, max(1, sum(heights))), 0)
    draw = ImageDraw.Draw(img)
    y = 0
    for unit, h in zip(units, heights, strict=True):
        if not unit.isspace():
            draw.text((width / 2, y + h / 2), unit, font=font, fill=255, anchor="mm", **kw)
        y += h
    return np.asarray(img)


def ink_box(mask: np.ndarray, threshold: int = 8) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) bounding box of pixels above `threshold`, or None if blank."""
    ys = np.flatnonzero((mask > threshold).any(axis=1))
    if ys.size == 0:
        return None
    xs = np.flatnonzero((mask > threshold).any(axis=0))
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1
