"""Geometric augmentations of a text alpha mask (uint8, 255 = ink): stroke-width
change, margins, curved baseline, and one combined warp for stretch + shear (oblique)
+ rotation + perspective.

All functions take and return (H, W) uint8 masks; the canvas grows so no ink is cut.
Randomness comes only from the caller's `numpy.random.Generator`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from strtool.synth.config import AugmentConfig


def uniform(rng: np.random.Generator, bounds: list[float]) -> float:
    """A uniform draw in [bounds[0], bounds[1]]."""
    lo, hi = float(bounds[0]), float(bounds[-1])
    return lo + (hi - lo) * float(rng.random())


def pad_margins(mask: np.ndarray, rng: np.random.Generator, margin: list[float]) -> np.ndarray:
    """Pad each side by a random fraction (in `margin`) of the mask height."""
    h = mask.shape[0]
    t, b, left, r = (int(round(uniform(rng, margin) * h)) for _ in range(4))
    return cv2.copyMakeBorder(mask, t, b, left, r, cv2.BORDER_CONSTANT, value=0)


def curve(mask: np.ndarray, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """Bend the baseline along a circular-ish arc: column x moves down by
    `amplitude * H * (1 - (2x/W - 1)^2)` (up when negative; sign random)."""
    h, w = mask.shape
    amp = amplitude * h * (1.0 if rng.random() < 0.5 else -1.0)
    pad = int(math.ceil(abs(amp))) + 1
    canvas = cv2.copyMakeBorder(mask, pad, pad, 0, 0, cv2.BORDER_CONSTANT, value=0)
    xs = np.arange(w, dtype=np.float32)
    shift = amp * (1.0 - (2.0 * xs / max(w - 1, 1) - 1.0) ** 2)
    map_x = np.broadcast_to(xs, canvas.shape).astype(np.float32)
    map_y = np.arange(canvas.shape[0], dtype=np.float32)[:, None] - shift[None, :]
    return cv2.remap(canvas, map_x, map_y.astype(np.float32), cv2.INTER_LINEAR, borderValue=0)


def change_stroke(mask: np.ndarray, delta_px: float) -> np.ndarray:
    """Grow (`delta_px` > 0, dilation) or thin (< 0, erosion) every stroke by about
    `|delta_px|` px per side: the results for the two nearest integer radii (3x3
    elliptical steps) are blended by the fraction."""
    n = int(math.floor(abs(delta_px)))
    frac = abs(delta_px) - n
    op = cv2.dilate if delta_px > 0 else cv2.erode
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    a = op(mask, kernel, iterations=n) if n else mask
    if frac < 1e-3:
        return a
    b = op(mask, kernel, iterations=n + 1)
    out = a.astype(np.float32) * (1.0 - frac) + b.astype(np.float32) * frac
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def stroke(mask: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """By `stroke.prob`: change the stroke width by `stroke.width` x the mask height
    (px); an erosion that would remove over half of the ink is skipped."""
    if rng.random() >= cfg.stroke.prob:
        return mask
    delta = uniform(rng, cfg.stroke.width) * mask.shape[0]
    out = change_stroke(mask, delta)
    if delta < 0 and float(out.sum()) < 0.5 * float(mask.sum()):
        return mask
    return out


def shear_matrix(degrees: float, h: int) -> np.ndarray:
    """3x3 slant: a point y px below the top moves right by tan(degrees) * (h - y),
    so positive angles lean right like italics (the bottom row stays put)."""
    t = math.tan(math.radians(degrees))
    return np.array([[1.0, -t, t * h], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def _homography(w: int, h: int, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray | None:
    """3x3 matrix of stretch, shear, rotation about the centre and perspective corner
    jitter (None when no geometric augmentation fires)."""
    m: np.ndarray = np.eye(3)
    fired = False
    if rng.random() < cfg.stretch.prob:
        m = np.diag([uniform(rng, cfg.stretch.factor), 1.0, 1.0]) @ m
        fired = True
    if rng.random() < cfg.shear.prob:
        sign = -1.0 if rng.random() < cfg.shear.left_share else 1.0
        m = shear_matrix(sign * uniform(rng, cfg.shear.degrees), h) @ m
        fired = True
    if rng.random() < cfg.rotation.prob:
        a = math.radians(uniform(rng, cfg.rotation.degrees))
        c, s = math.cos(a), math.sin(a)
        m = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]) @ m
        fired = True
    if rng.random() < cfg.perspective.prob:
        src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
        warped = cv2.perspectiveTransform(src[None], m)[0]
        jitter = uniform(rng, cfg.perspective.strength) * h
        dst = warped + rng.uniform(-jitter, jitter, size=(4, 2)).astype(np.float32)
        m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
        fired = True
    return m if fired else None


def warp(mask: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Apply stretch / shear / rotation / perspective (each by its probability) in a single
    `cv2.warpPerspective`, on a canvas enlarged to hold every warped corner."""
    h, w = mask.shape
    m = _homography(w, h, rng, cfg)
    if m is None:
        return mask
    box = np.array([[[0, 0], [w, 0], [w, h], [0, h]]], np.float32)
    corners = cv2.perspectiveTransform(box, m)[0]
    x0, y0 = np.floor(corners.min(axis=0))
    x1, y1 = np.ceil(corners.max(axis=0))
    shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    size = (max(1, int(x1 - x0)), max(1, int(y1 - y0)))
    return cv2.warpPerspective(
        mask, shift @ m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )


def geometric(mask: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Curve (by `curve.prob`) then the combined warp."""
    if rng.random() < cfg.curve.prob:
        mask = curve(mask, uniform(rng, cfg.curve.amplitude), rng)
    return warp(mask, rng, cfg)
