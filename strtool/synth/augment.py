"""From a text alpha mask to a finished RGB crop: colours, backgrounds, outline and
shadow, illumination, blur, resizing, low resolution, noise, JPEG artefacts.

`compose(mask, rng, cfg, height, width=None, backgrounds=())` is the whole chain:

1. stroke-width change, margins and geometry (stretch, shear, rotation, perspective,
   curve) on the mask (`strtool.synth.geometry`); a mask rendered `shrink` times
   larger (`augment.downscale`) is then reduced by that factor, averaging pixel areas
   as a camera sensor does (or bilinear with `linear`, which aliases thin strokes);
2. background (solid / gradient / noise texture / a crop of a user image), chosen
   by the weights of `cfg.background`;
3. text colour with luma contrast >= `colour.min_contrast` against the background
   mean; optional shadow and outline under the text; alpha compositing;
4. uneven illumination, Gaussian or motion blur (render resolution);
5. resize to `height` (width proportional, capped at `max_width_ratio * height`;
   or exactly `width` when given), low-resolution round trip, noise, JPEG artefacts.

Arrays are (H, W, 3) uint8 RGB; every random draw comes from `rng` in a fixed
order, so a seeded generator gives identical bytes.
"""

from __future__ import annotations

import cv2
import numpy as np

from strtool.synth.config import AugmentConfig, RenderConfig
from strtool.synth.geometry import geometric, pad_margins, stroke, uniform

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luma(rgb: np.ndarray) -> float:
    """Relative luma in 0-1 of an RGB triple (0-255)."""
    return float(np.dot(np.asarray(rgb, dtype=np.float32), _LUMA) / 255.0)


def random_colour(rng: np.random.Generator, colourful: bool) -> np.ndarray:
    """A random RGB colour (grey when not `colourful`), float32 0-255."""
    if colourful:
        return rng.uniform(0, 255, size=3).astype(np.float32)
    return np.full(3, rng.uniform(0, 255), dtype=np.float32)


def with_luma(colour: np.ndarray, target: float) -> np.ndarray:
    """Scale a colour towards black or white until its luma is `target` (0-1)."""
    cur = luma(colour)
    if target <= cur:
        return colour * (target / cur) if cur > 0 else np.zeros(3, np.float32)
    white = np.full(3, 255.0, np.float32)
    return white - (white - colour) * ((1.0 - target) / max(1.0 - cur, 1e-6))


def text_colour(rng: np.random.Generator, bg_luma: float, cfg: AugmentConfig) -> np.ndarray:
    """A text colour whose luma differs from `bg_luma` by at least `min_contrast`."""
    c = cfg.colour.min_contrast
    options = []
    if bg_luma - c >= 0.0:
        options.append((0.0, bg_luma - c))
    if bg_luma + c <= 1.0:
        options.append((bg_luma + c, 1.0))
    if not options:  # contrast > 0.5 asked of a mid-grey: take the far extreme
        options = [(0.0, 0.0)] if bg_luma > 0.5 else [(1.0, 1.0)]
    lo, hi = options[int(rng.integers(len(options)))]
    target = lo + (hi - lo) * float(rng.random())
    return with_luma(random_colour(rng, rng.random() < cfg.colour.colour_prob), target)


def _kind(rng: np.random.Generator, cfg: AugmentConfig, have_images: bool) -> str:
    b = cfg.background
    kinds = ["solid", "gradient", "noise", "image"]
    weights = np.array([b.solid, b.gradient, b.noise, b.image if have_images else 0.0])
    if weights.sum() <= 0:
        return "solid"
    return kinds[int(rng.choice(4, p=weights / weights.sum()))]


def background(
    h: int, w: int, rng: np.random.Generator, cfg: AugmentConfig, images: tuple[np.ndarray, ...]
) -> np.ndarray:
    """(H, W, 3) float32 background of a random kind (see module docstring)."""
    kind = _kind(rng, cfg, bool(images))
    base = random_colour(rng, rng.random() < cfg.colour.colour_prob)
    if kind == "image":
        src = images[int(rng.integers(len(images)))]
        return _image_crop(src, h, w, rng)
    bg: np.ndarray = np.empty((h, w, 3), np.float32)
    bg[:] = base
    if kind == "gradient":
        other = np.clip(base + rng.uniform(-70, 70, size=3), 0, 255).astype(np.float32)
        t = _ramp(h, w, rng)[..., None]
        bg = base * (1.0 - t) + other * t
    elif kind == "noise":
        amp = uniform(rng, cfg.background.texture_amplitude)
        gh, gw = int(rng.integers(2, 6)), int(rng.integers(3, 12))
        coarse = rng.standard_normal((gh, gw)).astype(np.float32)
        field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        fine = rng.standard_normal((h, w)).astype(np.float32) * 0.3
        bg = bg + (amp * (field + fine))[..., None]
    return np.clip(bg, 0, 255)


def _ramp(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 linear ramp 0-1 along a random direction."""
    a = float(rng.uniform(0, 2 * np.pi))
    xs = np.arange(w, dtype=np.float32) * np.float32(np.cos(a))
    ys = np.arange(h, dtype=np.float32) * np.float32(np.sin(a))
    v = ys[:, None] + xs[None, :]
    lo, hi = float(v.min()), float(v.max())
    return (v - lo) * np.float32(1.0 / max(hi - lo, 1e-6))


def _image_crop(src: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A random (H, W) crop of a user background, scaled up first if too small."""
    sh, sw = src.shape[:2]
    scale = max(h / sh, w / sw, 1.0)
    if scale > 1.0:
        src = cv2.resize(src, (int(np.ceil(sw * scale)), int(np.ceil(sh * scale))))
        sh, sw = src.shape[:2]
    y = int(rng.integers(0, sh - h + 1))
    x = int(rng.integers(0, sw - w + 1))
    return src[y : y + h, x : x + w].astype(np.float32)


def composite(
    bg: np.ndarray, alpha: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig
) -> np.ndarray:
    """Text (with optional shadow and outline underneath) over `bg`; float32."""
    a = alpha.astype(np.float32) / 255.0
    fg = text_colour(rng, luma(np.array(cv2.mean(bg)[:3], np.float32)), cfg)
    out = bg
    if rng.random() < cfg.shadow.prob:
        d = int(round(uniform(rng, cfg.shadow.offset)))
        s = cv2.warpAffine(
            a, np.array([[1, 0, d], [0, 1, d]], np.float32), (a.shape[1], a.shape[0])
        )
        sigma = uniform(rng, cfg.shadow.blur)
        if sigma > 0.1:
            s = cv2.GaussianBlur(s, (0, 0), sigma)
        out = _over(out, s * 0.7, with_luma(fg.copy(), 0.5 * luma(fg)))
    if rng.random() < cfg.outline.prob:
        k = 2 * int(round(uniform(rng, cfg.outline.width))) + 1
        ring = cv2.dilate(a, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
        edge = with_luma(random_colour(rng, True), 1.0 - luma(fg))
        out = _over(out, ring, edge)
    return _over(out, a, fg)


def _over(under: np.ndarray, a: np.ndarray, colour: np.ndarray) -> np.ndarray:
    a3 = a[..., None]
    return under * (1.0 - a3) + colour * a3


def effects(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Uneven illumination and Gaussian / motion blur at render resolution."""
    h, w = img.shape[:2]
    if rng.random() < cfg.illumination.prob:
        s = uniform(rng, cfg.illumination.strength)
        img = img * (1.0 - s * _ramp(h, w, rng))[..., None]
    if rng.random() < cfg.blur.prob:
        if rng.random() < cfg.blur.motion_share:
            img = cv2.filter2D(img, -1, _motion_kernel(rng, cfg))
        else:
            img = cv2.GaussianBlur(img, (0, 0), uniform(rng, cfg.blur.sigma))
    return img


def _motion_kernel(rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    n = max(2, int(round(uniform(rng, cfg.blur.motion_length))))
    k = np.zeros((n, n), np.float32)
    a = float(rng.uniform(0, np.pi))
    c = (n - 1) / 2.0
    dx, dy = np.cos(a) * c, np.sin(a) * c
    p0 = (int(round(c - dx)), int(round(c - dy)))
    p1 = (int(round(c + dx)), int(round(c + dy)))
    cv2.line(k, p0, p1, 1.0, 1)
    return k / k.sum()


def finish(
    img: np.ndarray,
    rng: np.random.Generator,
    cfg: AugmentConfig,
    height: int,
    width: int | None,
    max_ratio: float,
) -> np.ndarray:
    """Resize to the stored size, then low-res round trip, noise, JPEG; uint8."""
    h, w = img.shape[:2]
    if width is None:
        width = max(1, min(int(round(w * height / h)), int(max_ratio * height)))
    shrink = width < w or height < h
    img = cv2.resize(
        img, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    )
    if rng.random() < cfg.low_res.prob:
        s = uniform(rng, cfg.low_res.scale)
        small = cv2.resize(
            img, (max(1, int(width * s)), max(1, int(height * s))), interpolation=cv2.INTER_AREA
        )
        img = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if rng.random() < cfg.noise.prob:
        sigma = uniform(rng, cfg.noise.sigma)
        img = img + rng.standard_normal(img.shape, dtype=np.float32) * sigma
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < cfg.jpeg.prob:
        q = int(round(uniform(rng, cfg.jpeg.quality)))
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def compose(
    mask: np.ndarray,
    rng: np.random.Generator,
    cfg: AugmentConfig,
    render: RenderConfig,
    height: int,
    width: int | None = None,
    backgrounds: tuple[np.ndarray, ...] = (),
    shrink: float = 1.0,
    linear: bool = False,
) -> np.ndarray:
    """The whole chain (module docstring): text mask (H0, W0) uint8 -> RGB crop
    (height, W) uint8, W proportional (or `width` when given). `shrink` > 1: the mask
    was rendered that much larger; it is reduced after the geometry (area averaging,
    or bilinear when `linear`)."""
    alpha = geometric(pad_margins(stroke(mask, rng, cfg), rng, render.margin), rng, cfg)
    if shrink > 1.0:
        size = (max(1, round(alpha.shape[1] / shrink)), max(1, round(alpha.shape[0] / shrink)))
        alpha = cv2.resize(
            alpha, size, interpolation=cv2.INTER_LINEAR if linear else cv2.INTER_AREA
        )
    h, w = alpha.shape
    bg = background(h, w, rng, cfg, backgrounds)
    img = effects(composite(bg, alpha, rng, cfg), rng, cfg)
    return finish(img, rng, cfg, height, width, render.max_width_ratio)


def encode(img: np.ndarray, fmt: str = "png") -> bytes:
    """Encode an RGB uint8 image: `png` (lossless, fast compression) or `jpeg`
    (quality 95)."""
    bgr = np.ascontiguousarray(img[..., ::-1])
    if fmt == "jpeg":
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])
    else:
        ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:  # pragma: no cover - cv2 only fails on empty images
        raise ValueError(f"cannot encode a {img.shape} image as {fmt}")
    return buf.tobytes()
