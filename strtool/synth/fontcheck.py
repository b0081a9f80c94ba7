"""Does a font really render a piece of text? cmap + HarfBuzz shaping checks.

A text is supported by a face only when

1. every code point is in the cmap (default-ignorable ones such as ZWJ/ZWNJ excepted:
   HarfBuzz hides them), else `not-in-cmap`;
2. HarfBuzz shapes it without any `.notdef` glyph (glyph id 0), else `notdef`;
3. HarfBuzz inserts no dotted circle U+25CC (its sign of a broken Indic/Arabic
   cluster, e.g. a matra without a consonant), else `dotted-circle`. Fonts without a
   U+25CC glyph are shaped through a sub-font that maps U+25CC to a sentinel glyph id,
   so insertions are detected for them too;
4. every cluster holding a visible character (not whitespace, not a format or
   default-ignorable character) has at least one glyph with a non-empty outline box,
   else `empty-glyph`.

Script, direction and language come from the text (`guess_segment_properties`);
clusters are kept per character (`MONOTONE_CHARACTERS`). Results are cached per text
on each checker, and `checker_for(face)` caches one checker per face, so checking a
3,755-character charset is one shaping call per character on one `hb.Font`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import uharfbuzz as hb

from strtool.errors import FontError
from strtool.synth.face import FontFace
from strtool.text.carriers import shaping_text

DOTTED_CIRCLE = 0x25CC


def is_default_ignorable(cp: int) -> bool:
    """Default-ignorable code points (ZWJ, ZWNJ, variation selectors, bidi controls,
    soft hyphen...): HarfBuzz hides them, so they need no glyph."""
    return (
        cp == 0x00AD
        or cp == 0x034F
        or cp == 0x061C
        or 0x115F <= cp <= 0x1160
        or 0x17B4 <= cp <= 0x17B5
        or 0x180B <= cp <= 0x180F
        or 0x200B <= cp <= 0x200F
        or 0x202A <= cp <= 0x202E
        or 0x2060 <= cp <= 0x206F
        or cp == 0x3164
        or 0xFE00 <= cp <= 0xFE0F
        or cp == 0xFEFF
        or cp == 0xFFA0
        or 0xE0000 <= cp <= 0xE0FFF
    )


def is_visible(ch: str) -> bool:
    """True when a character draws ink: not whitespace, control, format (Cf),
    separator or default-ignorable."""
    cat = unicodedata.category(ch)
    if cat[0] in ("Z", "C"):
        return False
    return not is_default_ignorable(ord(ch))


class FontChecker:
    """Coverage checks of one font face (see the module docstring for the rules).

    `supports(text)` -> bool, `why_not(text)` -> reason or None,
    `coverage(chars)` -> the supported subset. Not thread-safe (one buffer)."""

    def __init__(self, face: FontFace) -> None:
        self.face = face
        self._font, self._base, self._dotted = _open_hb_font(face)
        self._glyph_count = self._base.face.glyph_count
        self._empty: dict[int, bool] = {}
        self._cache: dict[str, str | None] = {}
        self._buf = hb.Buffer()

    def supports(self, text: str) -> bool:
        """True when the face renders all of `text` correctly."""
        return self.why_not(text) is None

    def coverage(self, chars: Iterable[str], script: str | None = None) -> set[str]:
        """The entries of `chars` the face supports. Each entry is shaped on its own;
        a lone combining mark is shaped on its script's carrier (क + ा; see
        `strtool.text.carriers.CARRIERS`), `script` naming the carrier for marks whose
        Script property is Inherited (Arabic harakat, Latin accents)."""
        return {c for c in chars if self.why_not(shaping_text(c, script)) is None}

    def why_not(self, text: str) -> str | None:
        """None when supported, else the first failing reason: `not-in-cmap`,
        `notdef`, `dotted-circle` or `empty-glyph`."""
        if text in self._cache:
            return self._cache[text]
        hit = self._check(text)
        self._cache[text] = hit
        return hit

    def has_glyph(self, ch: str) -> bool:
        """True when the code point is in the cmap."""
        return self._base.get_nominal_glyph(ord(ch)) is not None

    def shape(self, text: str) -> list[tuple[int, int]]:
        """Shaped glyphs as (glyph id, cluster) with cluster = code point index."""
        buf = self._shape(text)
        return [(g.codepoint, g.cluster) for g in buf.glyph_infos]

    def _shape(self, text: str) -> hb.Buffer:
        buf = self._buf
        buf.clear_contents()
        buf.add_codepoints([ord(c) for c in text])
        buf.guess_segment_properties()
        buf.cluster_level = hb.BufferClusterLevel.MONOTONE_CHARACTERS
        hb.shape(self._font, buf, {})
        return buf

    def _check(self, text: str) -> str | None:
        if not text:
            return None
        for ch in text:
            cp = ord(ch)
            if not is_default_ignorable(cp) and self._base.get_nominal_glyph(cp) is None:
                return "not-in-cmap"
        glyphs = self.shape(text)
        gids = [g for g, _ in glyphs]
        if 0 in gids:
            return "notdef"
        if chr(DOTTED_CIRCLE) not in text and self._dotted in gids:
            return "dotted-circle"
        if any(g >= self._glyph_count for g in gids):
            return "dotted-circle"  # sentinel of the sub-font (no U+25CC glyph)
        return "empty-glyph" if self._has_empty_cluster(text, glyphs) else None

    def _has_empty_cluster(self, text: str, glyphs: list[tuple[int, int]]) -> bool:
        """True when some cluster holding a visible char has only empty glyphs."""
        inked: dict[int, bool] = {}
        for gid, cluster in glyphs:
            inked[cluster] = inked.get(cluster, False) or not self._is_empty(gid)
        starts = sorted(inked)
        for k, start in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else len(text)
            if not inked[start] and any(is_visible(c) for c in text[start:end]):
                return True
        return False

    def _is_empty(self, gid: int) -> bool:
        hit = self._empty.get(gid)
        if hit is None:
            ext = self._base.get_glyph_extents(gid)
            hit = ext is None or ext.width == 0 or ext.height == 0
            self._empty[gid] = hit
        return hit


def _open_hb_font(face: FontFace) -> tuple[hb.Font, hb.Font, int]:
    """(font to shape with, plain font for cmap/extents, glyph id of U+25CC).

    Fonts lacking U+25CC get a sub-font whose cmap maps U+25CC to an out-of-range
    sentinel id, so HarfBuzz still inserts (and we still see) dotted circles."""
    try:
        blob = hb.Blob.from_file_path(str(face.path))
    except (OSError, hb.HarfBuzzError) as e:  # pragma: no cover - OS dependent
        raise FontError(f"{face.path}: cannot read font ({e})") from None
    hb_face = hb.Face(blob, face.index)
    if hb_face.glyph_count == 0:
        raise FontError(f"{face.path}: face {face.index} has no glyphs (not a valid font)")
    font = hb.Font(hb_face)
    dotted = font.get_nominal_glyph(DOTTED_CIRCLE)
    if dotted is not None:
        return font, font, dotted
    sentinel = hb_face.glyph_count + 1
    parent = font

    def nominal(_font: hb.Font, cp: int, _data: object) -> int:
        if cp == DOTTED_CIRCLE:
            return sentinel
        return parent.get_nominal_glyph(cp) or 0

    funcs = hb.FontFuncs()
    funcs.set_nominal_glyph_func(nominal)
    sub = hb.Font(parent)
    sub.funcs = funcs
    return sub, parent, sentinel


@lru_cache(maxsize=256)
def checker_for(face: FontFace) -> FontChecker:
    """One cached `FontChecker` per face (faces are frozen, hashable)."""
    return FontChecker(face)
