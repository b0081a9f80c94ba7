"""Which font may draw which text: per-font coverage computed once, exact checks per text.

For every face the set of code points in its cmap is read once per process (cached);
a face is a *candidate* for a language when it maps at least `min_share` of that
language's letters (so a Latin font is not used for Arabic digits-only strings when
Arabic fonts exist; if no face reaches the share, every face with any letter is a
candidate). For a given text the candidates whose cmap holds all its characters are
tried in a random order (from the sample's generator) and the first for which
`FontChecker.supports(text)` (cmap + HarfBuzz shaping: no .notdef, no dotted circle,
no empty glyph) is true is used; when none is, every other face is tried the same
way (e.g. a Latin font for a typographic quote in a Hindi charset). No font fits ->
None (the sample is skipped).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import uharfbuzz as hb

from strtool.errors import FontError
from strtool.synth.fontcheck import checker_for, is_default_ignorable
from strtool.synth.fonts import FontFace


@lru_cache(maxsize=1024)
def cmap_chars(face: FontFace) -> frozenset[str]:
    """Characters mapped by the face's cmap (read once per process)."""
    try:
        blob = hb.Blob.from_file_path(str(face.path))
        return frozenset(chr(cp) for cp in hb.Face(blob, face.index).unicodes)
    except (OSError, hb.HarfBuzzError) as e:
        raise FontError(f"{face.path}: cannot read font ({e})") from None


def _needed(text: str) -> frozenset[str]:
    """Characters of `text` that need a glyph (spaces and ignorables excluded)."""
    return frozenset(c for c in text if not c.isspace() and not is_default_ignorable(ord(c)))


@dataclass
class FontPool:
    """Candidate faces per language, with their cmap sets (picklable)."""

    faces: list[FontFace]
    candidates: dict[str, list[int]] = field(default_factory=dict)
    cmaps: list[frozenset[str]] = field(default_factory=list)

    @classmethod
    def build(
        cls, faces: Sequence[FontFace], letters: Mapping[str, Iterable[str]], min_share: float = 0.5
    ) -> FontPool:
        """Coverage of each language's `letters` by each face, once."""
        if not faces:
            raise FontError("no fonts to render with")
        cmaps = [cmap_chars(f) for f in faces]
        pool = cls(list(faces), {}, cmaps)
        for lang, chars in letters.items():
            want = frozenset(chars)
            shares = [len(want & c) / max(len(want), 1) for c in cmaps]
            good = [i for i, s in enumerate(shares) if s >= min_share]
            pool.candidates[lang] = good or [i for i, s in enumerate(shares) if s > 0]
        return pool

    def covering(self, lang: str | None, chars: Iterable[str]) -> list[int]:
        """Indices of candidate faces for `lang` (every face when None) whose cmap
        holds every char."""
        need = frozenset(chars)
        idx = range(len(self.faces)) if lang is None else self.candidates.get(lang, ())
        return [i for i in idx if need <= self.cmaps[i]]

    def pick(
        self, text: str, lang: str, rng: np.random.Generator, shaping: str | None = None
    ) -> FontFace | None:
        """A random face that really renders `shaping` (default: `text`): first among
        the language's candidates, else among all faces; None when no face does.
        Draws exactly one random number from `rng` whatever the outcome."""
        shaping = text if shaping is None else shaping
        need = _needed(shaping)
        start = float(rng.random())
        for scope in (lang, None):
            idx = self.covering(scope, need)
            k = int(start * len(idx))
            for j in idx[k:] + idx[:k]:
                if checker_for(self.faces[j]).supports(shaping):
                    return self.faces[j]
        return None
