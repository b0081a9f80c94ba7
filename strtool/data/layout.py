"""Text lines of a page image: where a line recogniser should look.

`find_lines(arr)` cuts a paragraph or page image (one column of horizontal text lines,
as `synth pages` draws and scans of notes or forms hold) into line boxes:

1. ink: the pixels that differ from the local background on the ink's side
   (`page_ink`: the page's polarity, a local percentile of the grey levels over wide
   windows, so shading and uneven light are not ink; Otsu threshold);
2. skew: the angle in [-`max_skew`, `max_skew`] degrees whose sheared row profile of
   the ink is the most peaked (coarse-to-fine search); the page is turned upright;
3. bands: runs of rows whose ink exceeds `row_share` of a full row; a band much
   shorter than the others (the dots and marks above or below a line, a speck) joins
   its nearer neighbour;
4. touching lines: the line pitch is the first clear peak of the autocorrelation of
   the (high-passed) row profile, or, when that is far from it, the distance from
   line to line in narrow vertical strips (`strip_pitch`); a band as tall as n
   pitches is cut into n lines at its emptiest rows. When the image holds a single
   band (nothing to compare its height with), the cut is kept only if narrow
   vertical strips of the band see more than one line in it (`strip_lines`): the
   pitch of one large word is its x-height, but a strip through it meets one run of
   ink;
5. boxes: each line's ink columns, padded by `margin` of a line height (never into
   the neighbouring lines).

Lines come in reading order, top to bottom (the recogniser reads each line in its own
direction, so Arabic lines need nothing more here). Pure NumPy / OpenCV; no model.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class LineBox:
    """One text line in the upright (deskewed) page: rows `top` to `bottom` and
    columns `left` to `right` (exclusive ends, padding included)."""

    top: int
    bottom: int
    left: int
    right: int

    def to_dict(self) -> dict[str, int]:
        return {"top": self.top, "bottom": self.bottom, "left": self.left, "right": self.right}


@dataclass(frozen=True)
class PageLayout:
    """`find_lines`'s result: the upright page (the input turned by `-skew` degrees),
    its lines in reading order, how many bands were merged into a neighbour, and how
    many ink bands (runs of rows with ink, separated by empty rows) it held before
    touching lines were cut apart: a sure sign of several lines when it is 2 or more
    (the cut can also split one tall word at its x-height)."""

    upright: np.ndarray
    skew: float
    lines: list[LineBox]
    merged_bands: int = 0
    bands: int = 0

    def crops(self) -> list[np.ndarray]:
        """The line images, cut from the upright page."""
        return [self.upright[b.top : b.bottom, b.left : b.right] for b in self.lines]


def estimate_skew(mask: np.ndarray, max_skew: float = 4.0) -> float:
    """The page's skew in degrees (counter-clockwise positive, as `rotate`; turning
    the page by minus it makes its lines horizontal): the angle whose sheared row
    profile of the ink has the largest variance, searched in 0.5-degree steps within
    `max_skew`, then in 0.1-degree steps around the best; 0 unless that angle's
    profile is clearly (2 %) more peaked than the upright one's."""
    ys, xs = np.nonzero(mask)
    if ys.size < 20 or max_skew <= 0:
        return 0.0
    if ys.size > 200_000:  # a sample of the ink is enough for the profile
        pick = np.random.default_rng(0).choice(ys.size, 200_000, replace=False)
        ys, xs = ys[pick], xs[pick]
    xc = xs - mask.shape[1] / 2.0
    height = mask.shape[0]

    def peakedness(angle: float) -> float:
        y = np.round(ys + xc * np.tan(np.deg2rad(angle))).astype(np.int64)
        y = y - y.min()
        prof = np.bincount(y, minlength=height).astype(np.float64)
        return float(prof.var())

    coarse = np.arange(-max_skew, max_skew + 1e-9, 0.5)
    best = float(coarse[int(np.argmax([peakedness(a) for a in coarse]))])
    fine = np.arange(best - 0.4, best + 0.4 + 1e-9, 0.1)
    scores = [peakedness(a) for a in fine]
    best = float(np.round(fine[int(np.argmax(scores))], 2))
    # an upright page stays as it is: a turn must make the lines clearly sharper
    return best if max(scores) > 1.02 * peakedness(0.0) else 0.0


def rotate(arr: np.ndarray, angle: float) -> np.ndarray:
    """`arr` turned by `angle` degrees (counter-clockwise positive) about its centre,
    same size, the border pixels repeated into the corners."""
    if abs(angle) < 1e-6:
        return arr
    h, w = arr.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    return cv2.warpAffine(arr, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


def page_ink(arr: np.ndarray) -> np.ndarray:
    """Boolean (H, W): the pixels that differ from the local background on the ink's
    side (darker on light paper, lighter on a dark ground: the page's polarity from its
    grey levels), thresholded by Otsu (at least 12 grey levels). The background is a
    local percentile (`paper_level`) over windows wider than a stroke, so uneven
    lighting and paper shading are not ink, and neither are the gaps between lines of
    dense, blurred text (a local median took the text's own level there)."""
    g = arr if arr.ndim == 2 else cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
    g = np.ascontiguousarray(g, dtype=np.uint8)
    lo, mid, hi = np.percentile(g, [5, 50, 95])
    light = mid >= (lo + hi) / 2  # paper lighter than the ink (most pages)
    bg = paper_level(g, PAPER_SHARE if light else 1 - PAPER_SHARE)
    diff = bg - g.astype(np.float32) if light else g.astype(np.float32) - bg
    diff = np.clip(diff, 0, 255).astype(np.uint8)
    t, _ = cv2.threshold(diff, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return diff > max(float(t), 12.0)


#: the local background is this percentile of the grey levels around a pixel on light
#: paper (1 minus it on a dark ground): text covers well under a quarter of a window
PAPER_SHARE = 0.75


def paper_level(g: np.ndarray, share: float) -> np.ndarray:
    """Float32 (H, W): the `share` percentile of the grey levels of `g` in a window of
    a twentieth of the page's short side (at least 15 px) around each pixel: small
    enough to follow stripes of shading, large enough to hold the paper between the
    strokes. Computed on a copy about 12 px per window and a grid of a third of a
    window, then resized back (a smooth background; a few milliseconds per page)."""
    h, w = g.shape
    k = max(15, min(h, w) // 20)
    s = max(1, k // 12)
    small = cv2.resize(g, (max(1, w // s), max(1, h // s)), interpolation=cv2.INTER_AREA)
    kk = max(3, k // s) | 1
    step = max(1, kk // 3)
    pad = np.pad(small, kk // 2, mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(pad, (kk, kk))[::step, ::step]
    vals = win.reshape(win.shape[0], win.shape[1], -1)
    kth = int(round(share * (vals.shape[2] - 1)))
    grid = np.ascontiguousarray(np.partition(vals, kth, axis=2)[..., kth], dtype=np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_LINEAR)


def _bands(profile: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Runs [start, end) of rows whose profile exceeds `threshold`."""
    on = np.concatenate([[False], profile > threshold, [False]])
    edges = np.flatnonzero(on[1:] != on[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2], strict=True)]


def _nearer(runs: list[tuple[int, int]], i: int) -> tuple[int, int]:
    """(gap in rows, index) of the neighbour of `runs[i]` nearer to it (two or more runs)."""
    a, b = runs[i]
    gaps = [(a - runs[i - 1][1], i - 1)] if i > 0 else []
    gaps += [(runs[i + 1][0] - b, i + 1)] if i + 1 < len(runs) else []
    return min(gaps)


def _join(runs: list[tuple[int, int]], i: int, j: int) -> None:
    """Replace neighbours `runs[i]` and `runs[j]` by one run spanning both, in place."""
    lo, hi = min(i, j), max(i, j)
    runs[lo : hi + 1] = [(runs[lo][0], runs[hi][1])]


def _merge_small(bands: list[tuple[int, int]], share: float) -> tuple[list[tuple[int, int]], int]:
    """Join bands shorter than `share` of the median band to the nearer neighbour
    when it is within one median band height; returns the bands and how many joined."""
    out = list(bands)
    merged = 0
    while len(out) > 1:
        unit = float(np.median([b - a for a, b in out]))
        small = [i for i, (a, b) in enumerate(out) if b - a < share * unit]
        joined = False
        for i in small:
            gap, j = _nearer(out, i)
            if gap > unit:
                continue
            _join(out, i, j)
            merged += 1
            joined = True
            break
        if not joined:
            break
    return out, merged


def line_pitch(profile: np.ndarray, fallback: float, block: int) -> float:
    """Rows from one line to the next, from the autocorrelation of the row profile at
    lags of 6 rows to half the page. Each of its peaks has a prominence (its height
    above the lowest value since the previous peak), so a shoulder of the zero-lag
    peak, or the second hump of lines with strong x-height and cap rows, counts for
    little; the pitch is the first peak whose prominence is at least 0.8 of the
    largest (multiples of the pitch are about as prominent as the pitch itself). The
    profile is first high-passed (minus its moving average over half the tallest text
    block, `block` rows), so the block's outline does not hide the lines' period.
    `fallback` when there is no clear peak (e.g. a single line)."""
    n = len(profile)
    if n < 16 or not profile.any():
        return fallback
    win = min(max(15, block // 2) | 1, (n // 2) * 2 - 1)
    p = profile - np.convolve(profile, np.ones(win) / win, mode="same")
    ac = np.correlate(p, p, mode="full")[n - 1 :]
    ac = ac / (ac[0] + 1e-9)
    peaks = [k for k in range(6, n // 2) if ac[k] > ac[k - 1] and ac[k] >= ac[k + 1]]
    proms, prev = [], 0
    for k in peaks:
        proms.append(float(ac[k] - ac[prev:k].min()))
        prev = k
    if not proms or max(proms) < 0.1:
        return fallback
    # the first clear peak: multiples of the pitch are about as prominent as the pitch
    top = max(proms)
    return float(next(k for k, pr in zip(peaks, proms, strict=True) if pr >= 0.8 * top))


def _split(profile: np.ndarray, a: int, b: int, pitch: float) -> list[tuple[int, int]]:
    """A band [a, b) of `n` touching lines (n from its height and the pitch) cut into
    up to n at the emptiest row near each expected boundary; a cut whose row holds
    more than `CUT_INK` of the band's fullest row would go through a line, not between
    two, and is not made."""
    n = max(1, int((b - a) / pitch + 0.35))
    if n == 1:
        return [(a, b)]
    top = float(profile[a:b].max())
    out, start = [], a
    for k in range(1, n):
        mid = a + k * (b - a) / n
        lo, hi = int(max(start + 1, mid - 0.25 * pitch)), int(min(b - 1, mid + 0.25 * pitch))
        if hi <= lo:
            continue
        cut = lo + int(np.argmin(profile[lo:hi]))
        if profile[cut] > CUT_INK * top:
            continue
        out.append((start, cut))
        start = cut
    return out + [(start, b)]


#: the most ink (share of the band's fullest row) a row between two touching lines holds
CUT_INK = 0.55
#: how far (relative) the autocorrelation's pitch may be from the strips' before the
#: strips' is taken: a page of warped or tightly set lines (CJK) blurs its row profile
#: into a multiple of the pitch, while each narrow strip still sees its lines apart
PITCH_TOL = 0.4
#: rows of a strip with less ink than this share of the strip's fullest row are gaps
STRIP_GAP = 0.2


def _runs(rows: np.ndarray) -> list[tuple[int, int]]:
    """Runs of ink in one strip's row profile (rows under `STRIP_GAP` of its fullest
    row are gaps); a run under 0.4 of the tallest (a dot, a mark, a thin stroke) joins
    its nearer neighbour."""
    runs = _bands(rows, STRIP_GAP * float(rows.max()))
    while len(runs) > 1:
        tall = max(b - a for a, b in runs)
        small = [i for i, (a, b) in enumerate(runs) if b - a < 0.4 * tall]
        if not small:
            break
        _join(runs, small[0], _nearer(runs, small[0])[1])
    return runs


def _strips(band: np.ndarray, step: int) -> list[list[tuple[int, int]]]:
    """The ink runs (`_runs`) of each `step`-px strip of `band` that holds ink."""
    cols = np.flatnonzero(band.any(axis=0))
    if cols.size == 0:
        return []
    out = []
    for x in range(int(cols[0]), int(cols[-1]) + 1, step):
        strip = band[:, x : x + step]
        if strip.sum() >= 0.02 * strip.size:
            out.append(_runs(strip.sum(axis=1).astype(np.float64)))
    return out


def strip_pitch(band: np.ndarray, step: int = 16) -> float | None:
    """Rows from one line to the next as narrow strips see them: the median distance
    between the starts of consecutive ink runs in each 16-px strip. None when fewer
    than 3 such distances exist."""
    gaps = [r[i + 1][0] - r[i][0] for r in _strips(band, step) for i in range(len(r) - 1)]
    return float(np.median(gaps)) if len(gaps) >= 3 else None


def strip_lines(band: np.ndarray) -> int | None:
    """How many text lines the ink `band` (rows x columns, boolean) holds as narrow
    vertical strips see it (a third of its height wide, 12-48 px): the median count of
    ink runs over the strips with ink. A strip is narrow enough that warped or
    slightly skewed lines stay apart in it, and crosses a large word in one run (a
    stem joins ascender and body). None when fewer than 3 strips hold ink."""
    step = int(np.clip(band.shape[0] / 3, 12, 48))
    counts = [len(runs) for runs in _strips(band, step)]
    return int(np.median(counts)) if len(counts) >= 3 else None


def find_lines(
    arr: np.ndarray,
    max_skew: float = 4.0,
    row_share: float = 0.04,
    margin: float = 0.3,
) -> PageLayout:
    """The text lines of a page image `arr` (H, W[, C] uint8); see the module
    docstring. A page without ink has no lines."""
    mask = page_ink(arr)
    skew = estimate_skew(mask, max_skew)
    if skew:
        arr = rotate(arr, -skew)
        mask = page_ink(arr)
    h, w = mask.shape
    profile = np.convolve(mask.sum(axis=1).astype(np.float64), np.ones(3) / 3, mode="same")
    if profile.max() <= 0.5:
        return PageLayout(arr, skew, [])
    full = float(np.percentile(profile[profile > 0.5], 95))
    bands, merged = _merge_small(_bands(profile, max(row_share * full, 0.5)), 0.35)
    single = float(np.median([b - a for a, b in bands]))
    tallest = max(b - a for a, b in bands)
    pitch = max(line_pitch(profile, 1.3 * single, tallest), 4.0)
    local = strip_pitch(mask[bands[0][0] : bands[-1][1]])
    if local is not None and abs(pitch / local - 1) > PITCH_TOL:
        pitch = max(local, 4.0)  # the autocorrelation took a multiple (or a part) of it
    separate = len(bands)
    cut = [_split(profile, a, b, pitch) for a, b in bands]
    if separate == 1 and len(cut[0]) > 1 and strip_lines(mask[bands[0][0] : bands[0][1]]) == 1:
        cut = [bands]  # one large word or line: its strips meet one run of ink
    bands = [part for parts in cut for part in parts]
    pad = max(1, int(round(margin * min(single, pitch))))
    lines = []
    for i, (a, b) in enumerate(bands):
        top = max(a - pad, bands[i - 1][1] if i else 0)
        bottom = min(b + pad, bands[i + 1][0] if i + 1 < len(bands) else h)
        cols = np.flatnonzero(mask[a:b].any(axis=0))
        if cols.size == 0:
            continue
        lines.append(LineBox(top, bottom, max(0, int(cols[0]) - pad),
                             min(w, int(cols[-1]) + 1 + pad)))  # fmt: skip
    return PageLayout(arr, skew, lines, merged, separate)
