"""`strtool.data.layout.find_lines`: text lines of page images, on pages drawn here
(known line positions: spaced, touching, skewed, shaded, with a speck) and on pages
from `synth pages` in the held-out font families."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from strtool.data.layout import (
    estimate_skew,
    find_lines,
    page_ink,
    paper_level,
    rotate,
    strip_lines,
    strip_pitch,
)
from strtool.paths import fonts_dir
from strtool.synth.fonts import discover_fonts
from strtool.synth.render import render_mask

FONT = fonts_dir() / "dejavu-sans" / "DejaVuSans.ttf"
TEXTS = ["The quick brown fox jumps", "over 12 lazy dogs,", "Pack my box with five", "dozen jugs"]


def draw_page(gap: int, size: int = 22, pad: int = 20) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Black-on-white page of TEXTS (left-aligned, `gap` px between line boxes) and
    each line's rows [top, bottom) of ink."""
    face = discover_fonts([FONT])[0]
    masks = [render_mask(t, face, size, "en") for t in TEXTS]
    h = sum(m.shape[0] for m in masks) + gap * (len(masks) - 1) + 2 * pad
    w = max(m.shape[1] for m in masks) + 2 * pad
    ink = np.zeros((h, w), np.uint8)
    rows, y = [], pad
    for m in masks:
        ink[y : y + m.shape[0], pad : pad + m.shape[1]] = np.maximum(
            ink[y : y + m.shape[0], pad : pad + m.shape[1]], m
        )
        filled = np.flatnonzero(m.max(axis=1) > 0)
        rows.append((y + int(filled[0]), y + int(filled[-1]) + 1))
        y += m.shape[0] + gap
    return 255 - ink, rows


def check_lines(arr: np.ndarray, rows: list[tuple[int, int]]) -> None:
    lay = find_lines(arr)
    assert len(lay.lines) == len(rows)
    for box, (top, bottom) in zip(lay.lines, rows, strict=True):
        # each box holds most of its line's ink rows and little of its neighbours'
        inside = max(0, min(box.bottom, bottom) - max(box.top, top))
        assert inside >= 0.9 * (bottom - top)
        assert box.bottom - box.top <= 1.8 * (bottom - top)  # margins of 0.3 line heights


@pytest.mark.parametrize("gap", [12, 0])
def test_lines_of_a_drawn_page(gap: int) -> None:
    arr, rows = draw_page(gap)
    check_lines(arr, rows)
    lay = find_lines(arr)
    assert lay.skew == 0.0 and lay.crops()[0].shape[0] == lay.lines[0].bottom - lay.lines[0].top
    assert [b.top for b in lay.lines] == sorted(b.top for b in lay.lines)
    # separate ink bands: every line when they are spaced, at most that when they touch
    assert lay.bands == len(TEXTS) if gap else 1 <= lay.bands <= len(TEXTS)


@pytest.mark.parametrize("size", [28, 40, 60, 90])
@pytest.mark.parametrize("word", ["Station", "Köln", "Bibliothek"])
def test_a_single_large_word_is_one_line(word: str, size: int) -> None:
    # its sparse ascender zone made the row profile look like two touching lines (the
    # pitch was the x-height): "Station" at 90 px was cut into 3 lines, "Köln" into 2;
    # narrow strips cross it in one run of ink, so it stays whole
    face = discover_fonts([FONT])[0]
    ink = np.pad(render_mask(word, face, size, "en"), 20)
    lay = find_lines(255 - ink)
    assert lay.bands == 1 and len(lay.lines) == 1
    assert strip_lines(page_ink(255 - ink)) == 1


@pytest.mark.parametrize("gap", [12, 0])
def test_strips_see_the_line_pitch(gap: int) -> None:
    arr, rows = draw_page(gap)
    mask = page_ink(arr)
    pitch = float(np.mean(np.diff([top for top, _ in rows])))
    local = strip_pitch(mask[rows[0][0] : rows[-1][1]])
    assert local is not None and abs(local - pitch) <= 0.15 * pitch
    # the median strip crosses the full lines (the last one is short): several, not one
    assert strip_lines(mask[rows[0][0] : rows[-1][1]]) in (len(TEXTS) - 1, len(TEXTS))
    assert strip_pitch(np.zeros((40, 200), bool)) is None


def test_a_wrong_autocorrelation_pitch_falls_back_to_the_strips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a page of warped or tightly set lines (CJK pages) blurs its row profile, and the
    # autocorrelation takes a multiple of the pitch: the touching lines were cut in two
    # halves, not four. The strips' pitch is taken when the two disagree.
    import strtool.data.layout as layout

    face = discover_fonts([FONT])[0]
    masks = []
    for text in TEXTS:  # each line cut to its ink rows: stacked, the lines touch
        m = render_mask(text, face, 22, "en")
        filled = np.flatnonzero(m.max(axis=1) > 0)
        masks.append(m[filled[0] : filled[-1] + 1])
    w = max(m.shape[1] for m in masks) + 40
    ink = np.concatenate([np.pad(m, ((0, 0), (20, w - 20 - m.shape[1]))) for m in masks])
    page = 255 - np.pad(ink, ((20, 20), (0, 0)))
    assert find_lines(page).bands < len(TEXTS) and len(find_lines(page).lines) == len(TEXTS)
    real = layout.line_pitch
    monkeypatch.setattr(layout, "line_pitch", lambda *a: 2 * real(*a))
    assert len(find_lines(page).lines) == len(TEXTS)
    monkeypatch.setattr(layout, "PITCH_TOL", 100.0)  # no fallback: the halves
    assert len(find_lines(page).lines) == len(TEXTS) // 2


def test_skewed_page_is_turned_upright() -> None:
    arr, rows = draw_page(10)
    turned = rotate(arr, 3.0)
    assert abs(estimate_skew(page_ink(turned)) - 3.0) <= 0.3
    lay = find_lines(turned)
    assert abs(lay.skew - 3.0) <= 0.3 and len(lay.lines) == len(TEXTS)


def test_shading_and_a_speck_are_not_lines() -> None:
    arr, rows = draw_page(12)
    h, w = arr.shape
    light = np.linspace(0.55, 1.0, w)[None, :] * np.linspace(0.7, 1.0, h)[:, None]
    shaded = (arr.astype(np.float64) * light).astype(np.uint8)
    check_lines(shaded, rows)
    speck = arr.copy()
    top, _ = rows[1]
    speck[top - 5 : top - 3, 60:62] = 0  # a dot just above the second line
    assert len(find_lines(speck).lines) == len(TEXTS)
    assert find_lines(np.full((200, 300), 235, np.uint8)).lines == []


@pytest.mark.slow  # renders 40 pages
def test_synth_pages_in_held_out_fonts(tmp_path: Path) -> None:
    from strtool.config import load_config
    from strtool.data.decode import decode_image
    from strtool.data.lmdb_io import LmdbReader
    from strtool.synth.config import SynthConfig
    from strtool.synth.page import PAGE_PRESET, synth_pages

    cfg = load_config(SynthConfig, PAGE_PRESET, [])
    synth_pages(tmp_path / "p", 40, "en,hi", cfg, ["heldout"], seed=5, width=448)
    right = 0
    for s in LmdbReader(tmp_path / "p"):
        right += len(find_lines(decode_image(s.image, 1)).lines) == s.label.count("\n") + 1
    assert right >= 34  # 85 % of the pages cut into exactly their lines


def test_every_example_page_is_cut_into_its_lines() -> None:
    # the README's example pages (held-out fonts, `tools/make_examples.py --pages`).
    # chi_1 is dense light text on a dark ground, blurred: a local median took the
    # text's own level for the background there, the dark gaps between its lines were
    # "ink", and its 7 lines came out as 3
    from PIL import Image

    from strtool.paths import REPO_ROOT
    from strtool.text.escape import unescape_text

    pages = REPO_ROOT / "examples" / "pages"
    for row in (pages / "labels.tsv").read_text("utf-8").splitlines():
        name, text, _ = row.split("\t")
        arr = np.asarray(Image.open(pages / name).convert("L"))
        assert len(find_lines(arr).lines) == unescape_text(text).count("\n") + 1, name


def test_ink_is_on_the_ink_side_of_the_paper() -> None:
    arr, rows = draw_page(8)
    dark = ((255 - arr).astype(np.float64) * 0.45 + 25).astype(np.uint8)  # light on dark
    assert (page_ink(dark) == page_ink(arr)).mean() > 0.99
    check_lines(dark, rows)
    level = paper_level(arr, 0.75)
    assert level.shape == arr.shape and float(np.median(level)) == 255.0
