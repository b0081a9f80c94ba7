"""Vertical text: re-lay a column of upright glyphs as a horizontal row.

CJK signs and labels are often written top to bottom with every glyph upright. A
recogniser trained on horizontal text cannot read such a tall crop, and rotating it by
90 degrees turns every glyph on its side. `stack_to_row` instead cuts the column into
its glyph cells and lays them side by side, so the model sees an ordinary horizontal
line of upright glyphs.

How the cells are found (dark-on-light or light-on-dark text, tight or spaced glyphs):
- ink = pixels far from the background (the median of the border), thresholded with
  Otsu; the glyph size `s` is the width of the inked columns, `H` the height of the
  inked rows;
- CJK glyphs are about square, so the column holds about `H / (PITCH * s)` glyphs
  (`PITCH` covers the spacing); `cell_counts` gives that estimate and its neighbours
  (on synthetic vertical crops the true count is among them ~90 % of the time), and
  the caller lets the recogniser pick the reading it is most confident of;
- for a count `n` the column is cut near every `k * H / n`, at the row with the least
  ink within a third of a pitch, so glyphs that do not touch are never cut through.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Crops with height >= TALL * width are candidates for vertical reading.
TALL = 1.5
#: Glyph pitch over glyph width in vertical CJK (spacing included), for the count estimate.
PITCH = 1.25


def is_tall(arr: np.ndarray, ratio: float = TALL) -> bool:
    """Whether an image (H, W[, C]) is at least `ratio` times taller than wide."""
    h, w = arr.shape[:2]
    return h >= ratio * w


def _grey(arr: np.ndarray) -> np.ndarray:
    return arr if arr.ndim == 2 else cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)


def _border(arr: np.ndarray) -> np.ndarray:
    """The border pixels of (H, W[, C]) as (N[, C])."""
    return np.concatenate([arr[0], arr[-1], arr[1:-1, 0], arr[1:-1, -1]])


def ink_mask(arr: np.ndarray) -> np.ndarray:
    """Boolean (H, W): pixels that differ from the background (median border value)."""
    g = _grey(arr).astype(np.int16)
    bg = int(np.median(_border(g)))
    diff = np.abs(g - bg).astype(np.uint8)
    t, _ = cv2.threshold(diff, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return diff > max(float(t), 24.0)


def _extent(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(left, right, top, bottom) of the main ink of a mask; None without ink."""
    colsum = mask.sum(axis=0)
    if colsum.max() == 0:
        return None
    cols = np.flatnonzero(colsum > 0.15 * colsum.max())
    left, right = int(cols[0]), int(cols[-1])
    rows = np.flatnonzero(mask[:, left : right + 1].sum(axis=1) > 0.1 * (right - left + 1))
    if rows.size == 0:
        return None
    return left, right, int(rows[0]), int(rows[-1])


def cell_counts(arr: np.ndarray) -> list[int]:
    """Plausible glyph counts (>= 2) of a vertical column, the likeliest first; empty
    when the ink is not taller than wide."""
    ext = _extent(ink_mask(arr))
    if ext is None:
        return []
    left, right, top, bottom = ext
    est = (bottom - top + 1) / (PITCH * (right - left + 1))
    if est < 1.5:
        return []
    n0 = max(2, int(round(est)))
    return [n for n in (n0, n0 + 1, n0 - 1) if n >= 2]


def glyph_cells(arr: np.ndarray, n: int) -> list[tuple[int, int]] | None:
    """Row spans `(top, bottom)` (inclusive) of `n` glyph cells of a vertical column,
    top to bottom; None when the crop has no ink."""
    mask = ink_mask(arr)
    ext = _extent(mask)
    if ext is None or n < 1:
        return None
    left, right, top, bottom = ext
    profile = mask[:, left : right + 1].sum(axis=1).astype(np.float32)
    profile = np.convolve(profile, np.ones(3, np.float32) / 3, mode="same")
    pitch = (bottom - top + 1) / n
    cuts = [top]
    for k in range(1, n):
        target = top + k * pitch
        lo = max(cuts[-1] + 1, int(round(target - pitch / 3)))
        hi = min(bottom, int(round(target + pitch / 3)))
        if hi < lo:
            return None
        window = profile[lo : hi + 1]
        best = np.flatnonzero(window == window.min()) + lo
        cuts.append(int(best[np.argmin(np.abs(best - target))]))
    cuts.append(bottom + 1)
    return [(cuts[k], cuts[k + 1] - 1) for k in range(n)]


def stack_to_row(arr: np.ndarray, n: int) -> np.ndarray | None:
    """The `n` glyph cells of a vertical column (H, W[, C] uint8) laid left to right,
    each upright and vertically centred, a quarter of the width apart; None when the
    crop has no ink."""
    cells = glyph_cells(arr, n)
    if cells is None:
        return None
    bg = np.median(_border(arr), axis=0).astype(np.uint8)
    w = arr.shape[1]
    gap = max(2, w // 4)
    margin = max(2, w // 8)
    tallest = max(b - t + 1 for t, b in cells)
    height = tallest + 2 * margin
    width = len(cells) * w + (len(cells) - 1) * gap
    out = np.empty((height, width, *arr.shape[2:]), dtype=np.uint8)
    out[...] = bg
    x = 0
    for t, b in cells:
        cell = arr[t : b + 1]
        y = (height - cell.shape[0]) // 2
        out[y : y + cell.shape[0], x : x + w] = cell
        x += w + gap
    return out
