"""95 % intervals of the recognition rates, so that a figure says how far to trust it.

- WRR is a proportion of independent samples: the Wilson score interval (it stays
  inside [0, 1] and is sensible at 0 or n correct, unlike the normal approximation).
- CRR = 1 - E / U (E = summed edit distances, U = summed gt lengths) is a ratio of two
  sums over samples: the delta-method (linearised ratio estimator) interval, with the
  sample variance of `e_i - R * u_i`. Deterministic, no resampling. Its upper bound
  is cut at 1 (no edit at all), which the normal approximation overshoots when the
  rate is near 1 and the samples are few; the lower bound is not cut (CRR goes
  below 0 when a reading inserts more than the gt holds).
- A macro row averages G group rates: the half-widths combine as independent errors,
  `sqrt(sum(h_g^2)) / G`.
"""

from __future__ import annotations

import math

import numpy as np

#: Two-sided 95 % normal quantile.
Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at 0 or n successes one bound is exactly 0 or 1 (not a rounding error away)
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def ratio_rate(edits: np.ndarray, units: np.ndarray, z: float = Z95) -> tuple[float, float]:
    """Interval of `1 - sum(edits) / sum(units)` (CRR) over samples, its upper bound at
    most 1; the point value twice when fewer than two samples or no units."""
    e = np.asarray(edits, dtype=np.float64)
    u = np.asarray(units, dtype=np.float64)
    n, total = e.shape[0], float(u.sum())
    if total <= 0:
        rate = 1.0 if float(e.sum()) == 0 else 0.0
        return rate, rate
    r = float(e.sum()) / total
    if n < 2:
        return 1.0 - r, 1.0 - r
    resid = e - r * u
    se = math.sqrt(float(resid.var(ddof=1)) / n) / (total / n)
    return 1.0 - r - z * se, min(1.0, 1.0 - r + z * se)


def macro(intervals: list[tuple[float, float, float]]) -> tuple[float, float]:
    """Interval of the mean of G rates given `(rate, low, high)` per group."""
    if not intervals:
        return 0.0, 0.0
    g = len(intervals)
    mean = sum(r for r, _, _ in intervals) / g
    half = math.sqrt(sum(((hi - lo) / 2) ** 2 for _, lo, hi in intervals)) / g
    return mean - half, mean + half
