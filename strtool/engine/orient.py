"""Which way to read a tall crop: the recogniser decides.

A crop at least `TALL` (1.5) times taller than wide may be a narrow horizontal word
(`l`, `1`), a column of upright CJK glyphs, or a word turned on its side (a book spine,
a rotated sign). `candidates(arr, mode)` gives the readings to try; the caller reads
them all in one batch and keeps the most confident (`pick`). Modes:

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
from typing import Literal

import numpy as np

from strtool.data.vertical import cell_counts, is_tall, stack_to_row

VerticalMode = Literal["auto", "cells", "rotate", "none"]
VERTICAL_MODES: tuple[str, ...] = ("auto", "cells", "rotate", "none")
#: Orientation names: "" (as is), "cells", "ccw" (turned counter-clockwise), "cw".
ROTATIONS = frozenset({"ccw", "cw"})


def candidates(arr: np.ndarray, mode: VerticalMode = "auto") -> list[tuple[str, np.ndarray]]:
    """`(orientation, image)` pairs to read for one decoded crop, the default first."""
    if mode == "none" or not is_tall(arr):
        return [("", arr)]
    if mode == "rotate":
        return [("ccw", np.ascontiguousarray(np.rot90(arr, 1)))]
    out: list[tuple[str, np.ndarray]] = [("", arr)]
    for n in cell_counts(arr):
        row = stack_to_row(arr, n)
        if row is not None:
            out.append(("cells", row))
    if mode == "auto":
        out.append(("ccw", np.ascontiguousarray(np.rot90(arr, 1))))
        out.append(("cw", np.ascontiguousarray(np.rot90(arr, -1))))
    return out


def pick(texts: Sequence[str], confidences: Sequence[float]) -> int:
    """Index of the reading to keep: the most confident non-empty one (the first
    candidate when all are empty; ties keep the earlier candidate)."""
    best, best_c = 0, -1.0
    for i, (t, c) in enumerate(zip(texts, confidences, strict=True)):
        score = float(c) if t else -1.0
        if score > best_c:
            best, best_c = i, score
    return best
