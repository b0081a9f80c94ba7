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
- `cell_counts` proposes the number of ink runs between blank rows (runs much shorter
  than a glyph joined to a neighbour, for glyphs of separate strokes), then, as CJK
  glyphs are about square, `H / (PITCH * s)` (`PITCH` covers the spacing) and its
  neighbours; the caller lets the recogniser pick the reading it is most confident of
  among those whose length matches their count;
- for a count `n` the column is cut near every `k * H / n`, at the row with the least
  ink within a third of a pitch, so glyphs that do not touch are never cut through;
- the cells are laid side by side cut to the column's ink width, `GAP` glyph widths
  apart, so the row is spaced like horizontal text.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Crops with height >= TALL * width are candidates for vertical reading.
TALL = 1.5
#: Glyph pitch over glyph width in vertical CJK (spacing included), for the count estimate.
PITCH = 1.25
#: Ink runs shorter than this share of the glyph width are parts of a glyph (二, 三, 六).
MIN_RUN = 0.45
#: Space between re-laid glyphs and around them, as a share of the glyph width.
GAP = 0.12


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


def cell_counts(arr: np.ndarray, mask: np.ndarray | None = None) -> list[int]:
    """Plausible glyph counts (>= 2) of a vertical column, the likeliest first: the
    number of ink runs separated by blank rows (runs much shorter than a glyph merged
    into a neighbour: the strokes of 二 or 三), then the pitch estimate and its
    neighbours; empty when the ink is not taller than wide. `mask`: `ink_mask(arr)`
    when the caller has it already."""
    mask = ink_mask(arr) if mask is None else mask
    ext = _extent(mask)
    if ext is None:
        return []
    left, right, top, bottom = ext
    em = right - left + 1
    est = (bottom - top + 1) / (PITCH * em)
    if est < 1.5:
        return []
    n0 = max(2, int(round(est)))
    runs = len(_ink_runs(mask[top : bottom + 1, left : right + 1], em))
    return list(dict.fromkeys(n for n in (runs, n0, n0 + 1, n0 - 1, n0 - 2) if n >= 2))


def _ink_runs(column: np.ndarray, em: int) -> list[tuple[int, int]]:
    """Glyphs of a column as runs `(top, bottom)` of inked rows, a run shorter than
    `MIN_RUN` em joined to the nearer neighbour run (a glyph of separate strokes)."""
    inked = column.sum(axis=1) > 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], inked.astype(np.int8), [0]])))
    runs = [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2] - 1, strict=True)]
    while len(runs) > 1:
        k = min(range(len(runs)), key=lambda i: runs[i][1] - runs[i][0])
        if runs[k][1] - runs[k][0] + 1 >= MIN_RUN * em:
            break
        gap_up = runs[k][0] - runs[k - 1][1] if k > 0 else None
        gap_down = runs[k + 1][0] - runs[k][1] if k + 1 < len(runs) else None
        j = k - 1 if gap_down is None or (gap_up is not None and gap_up <= gap_down) else k + 1
        lo, hi = sorted((j, k))
        runs[lo : hi + 1] = [(runs[lo][0], runs[hi][1])]
    return runs


def glyph_cells(
    arr: np.ndarray, n: int, mask: np.ndarray | None = None
) -> list[tuple[int, int]] | None:
    """Row spans `(top, bottom)` (inclusive) of `n` glyph cells of a vertical column,
    top to bottom, cut at the emptiest rows near every `k * H / n`; None when the crop
    has no ink. `mask`: `ink_mask(arr)` when the caller has it already."""
    mask = ink_mask(arr) if mask is None else mask
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


def stack_to_row(arr: np.ndarray, n: int, mask: np.ndarray | None = None) -> np.ndarray | None:
    """The `n` glyph cells of a vertical column (H, W[, C] uint8) laid left to right,
    each upright, cut to the column's ink width and vertically centred, `GAP` glyph
    widths apart (about the spacing of horizontal CJK text); None when the crop has no
    ink. `mask`: `ink_mask(arr)` when the caller has it already (one per crop, however
    many counts are tried)."""
    mask = ink_mask(arr) if mask is None else mask
    cells = glyph_cells(arr, n, mask)
    ext = _extent(mask)
    if cells is None or ext is None:
        return None
    left, right = ext[0], ext[1]
    em = right - left + 1
    pad = max(1, int(round(GAP * em)))
    left, right = max(0, left - pad // 2), min(arr.shape[1] - 1, right + pad // 2)
    w = right - left + 1
    bg = np.median(_border(arr), axis=0).astype(np.uint8)
    height = max(b - t + 1 for t, b in cells) + 2 * pad
    width = len(cells) * w + (len(cells) + 1) * pad
    out = np.empty((height, width, *arr.shape[2:]), dtype=np.uint8)
    out[...] = bg
    x = pad
    for t, b in cells:
        cell = arr[t : b + 1, left : right + 1]
        y = (height - cell.shape[0]) // 2
        out[y : y + cell.shape[0], x : x + w] = cell
        x += w + pad
    return out
