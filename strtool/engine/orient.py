"""Which way to read a tall crop: the recogniser decides.

A crop at least `TALL` (1.5) times taller than wide may be a narrow horizontal word
(`l`, `1`), a column of upright CJK glyphs, or a word turned on its side (a book spine,
a rotated sign). `candidates(arr, mode)` gives the readings to try; the caller reads
them all in one batch and keeps the most confident (`pick`). A glyph-cell reading
must also agree with its own hypothesis: `n` cells predict `n` characters, so a reading
of the cells with another count is not a candidate (the neighbouring counts are
candidates of their own); this keeps a
turned Latin word, cut into pieces of letters, from being read as one stray letter.
Modes:

- `auto` (default): as is, the glyph cells of a vertical column laid left to right
  (`strtool.data.vertical`, for each plausible glyph count), and the crop turned 90
  degrees counter-clockwise and clockwise;
- `cells`: as is or the glyph cells only (upright vertical CJK);
- `rotate`: turned 90 degrees counter-clockwise (top -> left), as models trained on
  rotated vertical crops expect;
- `none`: as is.

Crops that are not tall are always read as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from strtool.data.vertical import cell_counts, ink_mask, is_tall, stack_to_row
from strtool.text.normalize import split_units

VerticalMode = Literal["auto", "cells", "rotate", "none"]
VERTICAL_MODES: tuple[str, ...] = ("auto", "cells", "rotate", "none")
#: Orientation names: "" (as is), "cells", "ccw" (turned counter-clockwise), "cw".
ROTATIONS = frozenset({"ccw", "cw"})


@dataclass(frozen=True)
class Candidate:
    """One way to read a crop: `how` (an orientation name), the image, and for glyph
    cells the number of cells (the characters the reading should have)."""

    how: str
    image: np.ndarray
    glyphs: int | None = None


def candidates(arr: np.ndarray, mode: VerticalMode = "auto") -> list[Candidate]:
    """The readings to try for one decoded crop, the default (as is) first."""
    if mode == "none" or not is_tall(arr):
        return [Candidate("", arr)]
    if mode == "rotate":
        return [Candidate("ccw", np.ascontiguousarray(np.rot90(arr, 1)))]
    out = [Candidate("", arr)]
    mask = ink_mask(arr)
    for n in cell_counts(arr, mask):
        row = stack_to_row(arr, n, mask)
        if row is not None:
            out.append(Candidate("cells", row, n))
    if mode == "auto":
        out.append(Candidate("ccw", np.ascontiguousarray(np.rot90(arr, 1))))
        out.append(Candidate("cw", np.ascontiguousarray(np.rot90(arr, -1))))
    return out


def pick(
    texts: Sequence[str],
    confidences: Sequence[float],
    glyphs: Sequence[int | None] | None = None,
) -> int:
    """Index of the reading to keep: the most confident non-empty one whose length
    equals its glyph count when it has one (spaces not counted); the first candidate
    when none qualifies; ties keep the earlier one."""
    counts = glyphs if glyphs is not None else [None] * len(texts)
    best, best_c = 0, -1.0
    for i, (t, c, n) in enumerate(zip(texts, confidences, counts, strict=True)):
        ok = bool(t) and (n is None or len(split_units(t.replace(" ", ""), "grapheme")) == n)
        score = float(c) if ok else -1.0
        if score > best_c:
            best, best_c = i, score
    return best
