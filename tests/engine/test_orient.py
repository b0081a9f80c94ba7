"""Tall crops: vertical CJK columns re-laid as rows (`strtool.data.vertical`), the
readings `strtool.engine.orient` tries and the one it keeps."""

from __future__ import annotations

import numpy as np
import pytest

from strtool.data.vertical import cell_counts, glyph_cells, ink_mask, is_tall, stack_to_row
from strtool.engine.orient import candidates, pick
from strtool.paths import fonts_dir
from strtool.synth.face import FontFace
from strtool.synth.render import render_vertical

CJK = fonts_dir() / "noto-sans-cjk-sc" / "NotoSansCJKsc-Regular.otf"


def _column(text: str, dark_on_light: bool = True) -> np.ndarray:
    """A vertical CJK crop: `text` stacked top to bottom, upright, with a margin."""
    mask = render_vertical(text, FontFace(CJK), 30, "zh").astype(np.float32) / 255
    mask = np.pad(mask, ((4, 4), (5, 5)))
    img = 230 - 200 * mask if dark_on_light else 25 + 200 * mask
    return img.astype(np.uint8)


@pytest.mark.parametrize("dark", [True, False])
@pytest.mark.parametrize(
    "text", ["\u4e2d\u6587", "\u4e1c\u4eac\u5927\u5b66", "\u4e09\u4e8c\u516d\u5c0f\u4e00"]
)
def test_cells_of_a_clean_column_fall_between_glyphs(text: str, dark: bool) -> None:
    arr = _column(text, dark)
    assert is_tall(arr)
    n = len(text)
    assert n in cell_counts(arr)
    cells = glyph_cells(arr, n)
    assert cells is not None and len(cells) == n
    ink = ink_mask(arr).sum(axis=1)
    for (_, bottom), (top, _) in zip(cells, cells[1:], strict=False):
        assert top == bottom + 1
        assert ink[top - 1 : top + 1].min() == 0  # cut through a blank row, not a glyph
    assert all(ink[t : b + 1].sum() > 0 for t, b in cells)  # every cell holds a glyph
    row = stack_to_row(arr, n)
    assert row is not None and row.shape[1] > row.shape[0] and row.dtype == np.uint8
    # the first cell comes first, upright, its pixels unchanged (cut to the column's
    # ink width, found in the row at its left end)
    import cv2

    t, b = cells[0]
    mask = ink_mask(arr)
    cols = np.flatnonzero(mask.sum(axis=0) > 0.15 * mask.sum(axis=0).max())
    glyph = arr[t : b + 1, cols[0] : cols[-1] + 1]
    diff = cv2.matchTemplate(row.astype(np.float32), glyph.astype(np.float32), cv2.TM_SQDIFF)
    y, x = np.unravel_index(int(np.argmin(diff)), diff.shape)
    assert diff[y, x] < 0.01 * glyph.size and x < glyph.shape[1]  # float sums: not exactly 0
    assert row.shape[1] < n * arr.shape[1]  # packed tighter than the crop's width per glyph


def test_colour_columns_keep_their_channels() -> None:
    grey = _column("\u4e2d\u6587\u5b57")
    rgb = np.stack([grey, grey // 2, 255 - grey], axis=-1)
    row = stack_to_row(rgb, 3)
    assert row is not None and row.ndim == 3 and row.shape[2] == 3


def test_blank_or_wide_crops_are_not_columns() -> None:
    assert cell_counts(np.full((90, 30), 200, np.uint8)) == []
    assert glyph_cells(np.full((90, 30), 200, np.uint8), 3) is None
    wide = np.full((30, 90), 200, np.uint8)
    wide[10:20, 5:85] = 0
    (only,) = candidates(wide, "auto")
    assert only.how == "" and only.image is wide


def test_candidates_per_mode() -> None:
    arr = _column("\u4e1c\u4eac\u5927\u5b66")
    assert [c.how for c in candidates(arr, "none")] == [""]
    (rot,) = candidates(arr, "rotate")
    assert rot.how == "ccw" and np.array_equal(rot.image, np.rot90(arr))
    cells = candidates(arr, "cells")
    assert cells[0].how == "" and {c.how for c in cells[1:]} == {"cells"}
    assert cells[1].glyphs == 4 and all(c.glyphs for c in cells[1:])
    auto = candidates(arr, "auto")
    assert [c.how for c in auto][-2:] == ["ccw", "cw"]
    assert np.array_equal(auto[-1].image, np.rot90(arr, -1))
    assert all(c.image.flags.c_contiguous for c in auto)


def test_pick_keeps_the_most_confident_non_empty_reading() -> None:
    assert pick(["a", "b", "c"], [0.2, 0.9, 0.5]) == 1
    assert pick(["", "b"], [0.99, 0.3]) == 1  # an empty reading never wins
    assert pick(["", ""], [0.5, 0.9]) == 0
    assert pick(["a", "b"], [0.7, 0.7]) == 0  # ties keep the earlier candidate
    # a glyph-cell reading must have as many characters as cells (spaces aside)
    assert pick(["fed", "d"], [0.8, 0.99], [None, 2]) == 0
    assert pick(["fed", "\u4e1c\u4eac \u5927"], [0.8, 0.9], [None, 3]) == 1
