"""Paper-like page backgrounds and page-level warps for `synth pages`.

`paper(h, w, rng)`: an off-white sheet (luma 0.80-0.98, a slight warm, cool or grey
tint), low-frequency fibre/lighting variation, fine grain, and sometimes a soft stain
or darkened edges. `sine_warp(mask, amplitude, rng)`: the page bends along a sine in
x (a sheet that is not flat, a line drifting off the baseline), column x moving down by
`amplitude * sin(2 pi x / period + phase)` px, the canvas grown so no ink is cut.
Arrays: (H, W, 3) float32 0-255 for backgrounds, (H, W) uint8 masks.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def _coarse(h: int, w: int, rng: np.random.Generator, cells: tuple[int, int]) -> np.ndarray:
    grid = rng.standard_normal(cells).astype(np.float32)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)


def paper(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) float32 paper background (module docstring)."""
    level = float(rng.uniform(0.80, 0.98)) * 255.0
    tint = rng.choice(3)  # 0 warm (yellowish), 1 cool (bluish), 2 neutral grey
    shift = float(rng.uniform(0.0, 0.05)) * 255.0
    base = np.array([level, level, level], np.float32)
    if tint == 0:
        base -= np.array([0.0, shift * 0.3, shift], np.float32)
    elif tint == 1:
        base -= np.array([shift, shift * 0.5, 0.0], np.float32)
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = base
    gy, gx = int(rng.integers(2, 5)), int(rng.integers(2, 6))
    light = _coarse(h, w, rng, (gy, gx)) * float(rng.uniform(2.0, 8.0))
    grain = rng.standard_normal((h, w)).astype(np.float32) * float(rng.uniform(1.0, 4.0))
    bg += (light + grain)[..., None]
    if rng.random() < 0.2:  # a soft stain
        cy, cx = float(rng.uniform(0, h)), float(rng.uniform(0, w))
        ry, rx = float(rng.uniform(0.05, 0.3)) * h, float(rng.uniform(0.05, 0.3)) * w
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        d = ((yy - cy) / max(ry, 1.0)) ** 2 + ((xx - cx) / max(rx, 1.0)) ** 2
        bg -= (np.exp(-d) * float(rng.uniform(8, 25)))[..., None] * np.array([0.6, 0.8, 1.0])
    if rng.random() < 0.3:  # darker edges
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r = ((2 * yy / max(h - 1, 1) - 1) ** 2 + (2 * xx / max(w - 1, 1) - 1) ** 2) / 2
        bg *= (1.0 - float(rng.uniform(0.05, 0.2)) * r)[..., None]
    return np.clip(bg, 0, 255)


def sine_warp(mask: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """`mask` bent along a sine in x by up to `amplitude` px (module docstring)."""
    h, w = mask.shape
    pad = int(math.ceil(abs(amplitude))) + 1
    canvas = cv2.copyMakeBorder(mask, pad, pad, 0, 0, cv2.BORDER_CONSTANT, value=0)
    period = float(rng.uniform(0.6, 1.6)) * w
    phase = float(rng.uniform(0, 2 * math.pi))
    xs = np.arange(w, dtype=np.float32)
    shift = amplitude * np.sin(2 * math.pi * xs / period + phase)
    map_x = np.broadcast_to(xs, canvas.shape).astype(np.float32)
    map_y = (np.arange(canvas.shape[0], dtype=np.float32)[:, None] - shift[None, :]).astype(
        np.float32
    )
    return cv2.remap(canvas, map_x, map_y, cv2.INTER_LINEAR, borderValue=0)


def rotate_mask(mask: np.ndarray, degrees: float) -> np.ndarray:
    """`mask` rotated by `degrees` about its centre on a canvas that holds it all."""
    if abs(degrees) < 1e-3:
        return mask
    h, w = mask.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(math.ceil(h * s + w * c)), int(math.ceil(h * c + w * s))
    m[0, 2] += (nw - w) / 2
    m[1, 2] += (nh - h) / 2
    return cv2.warpAffine(mask, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=0)
