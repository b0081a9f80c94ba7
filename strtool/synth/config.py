"""Configuration of the synthetic data pipeline (`strtool synth words|chars --config`).

Defaults live here; `configs/synth/default.yaml` lists them all and a user YAML states
only what differs (`strtool.config.load_config`; unknown keys are an error naming the
key path). Every augmentation has a probability `prob` (per sample) and its ranges as
`[low, high]` lists, drawn uniformly. Units: `font_size` in pixels per em at render
time for a 32 px high crop (scaled by `--height`/32 or `--size`/32; the crop is then
resized to its stored size), `margin` as a fraction of the line
height per side, angles in degrees, colours and noise in 0-255 levels, contrast as a
difference of luma in 0-1.

`validate(cfg)` (run whenever a `SynthConfig` is built, so by `load_config` too) checks
every numeric setting against `RULES`: probabilities and shares in [0, 1], `[low,
high]` pairs ordered and inside their domain, sizes positive; a bad value is a
`ConfigError` naming the key path (`render.font_size: [-10.0, -5.0]: values must be >
0`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

from strtool.config import show
from strtool.errors import ConfigError
from strtool.synth.corpus import TextConfig
from strtool.synth.layout_config import LAYOUT_CHOICES, LAYOUT_RULES, LineConfig, PageConfig

__all__ = ["RULES", "AugmentConfig", "RenderConfig", "SynthConfig", "TextConfig", "font_px",
           "validate"]  # fmt: skip


def _r(lo: float, hi: float) -> list[float]:
    return field(default_factory=lambda: [lo, hi])


def font_px(bounds: list[float], rng: np.random.Generator, out_px: int) -> int:
    """Render size in px per em: a uniform draw in `bounds` (given for 32 px crops)
    scaled to a crop `out_px` high."""
    lo, hi = float(bounds[0]), float(bounds[-1])
    return max(6, int(round((lo + (hi - lo) * float(rng.random())) * out_px / 32.0)))


@dataclass
class RenderConfig:
    """Layout and storage of a crop."""

    font_size: list[float] = _r(24, 36)  # px per em for a 32 px crop (scaled with it)
    margin: list[float] = _r(0.02, 0.20)  # padding per side, fraction of line height
    vertical_prob: float = 0.0  # zh/ja/ko only: stacked vertical crops (stored tall)
    max_width_ratio: float = 25.0  # stored width <= ratio * height (wider: squeezed)
    image_format: str = "png"  # png (lossless) | jpeg (quality 95)
    joining_forms: float = 0.75  # synth chars: share of Arabic-script letters drawn joined


@dataclass
class ColourConfig:
    min_contrast: float = 0.35  # |luma(text) - luma(background)|, 0-1
    colour_prob: float = 0.5  # coloured (not grey) text and background


@dataclass
class BackgroundConfig:
    """Relative weights of the background kinds (`image` needs `--bg-dir`)."""

    solid: float = 0.3
    gradient: float = 0.3
    noise: float = 0.3
    image: float = 0.1
    texture_amplitude: list[float] = _r(10, 45)  # noise texture strength, levels


@dataclass
class OutlineConfig:
    prob: float = 0.08
    width: list[float] = _r(1, 2)  # px at render size


@dataclass
class ShadowConfig:
    prob: float = 0.08
    offset: list[float] = _r(1, 3)  # px
    blur: list[float] = _r(0.0, 1.5)  # Gaussian sigma, px


@dataclass
class RotationConfig:
    prob: float = 0.3
    degrees: list[float] = _r(-4, 4)


@dataclass
class PerspectiveConfig:
    prob: float = 0.2
    strength: list[float] = _r(0.02, 0.10)  # corner shift, fraction of height


@dataclass
class CurveConfig:
    prob: float = 0.05
    amplitude: list[float] = _r(0.05, 0.25)  # baseline bend, fraction of height


@dataclass
class ShearConfig:
    """Oblique / italic-like slant: x moves by tan(angle) * (height above the baseline
    centre); the canvas grows so no ink leaves the crop."""

    prob: float = 0.3
    degrees: list[float] = _r(4, 18)  # slant magnitude
    left_share: float = 0.3  # share leaning left (back-slant); the rest lean right


@dataclass
class StrokeConfig:
    """Stroke-width change of the glyph mask: dilation (> 0, bolder) or erosion (< 0,
    thinner) by `width` x the line height, in px at render size (fractions of a px
    blend the two nearest integer radii). Erosion that would remove over half of the
    ink is not applied."""

    prob: float = 0.2
    width: list[float] = _r(-0.012, 0.03)  # fraction of the rendered line height


@dataclass
class SpacingConfig:
    """Character spacing (tracking) added between grapheme clusters, in em. Applied
    only to languages whose clusters do not join (`strtool.synth.render.TRACKING_LANGS`:
    en fr de it zh ja ko, horizontal lines); Arabic (joining) and Devanagari/Bengali
    (headline, conjuncts) are never spaced, so their shaping is untouched."""

    prob: float = 0.1
    em: list[float] = _r(-0.03, 0.3)


@dataclass
class DownscaleConfig:
    """Render at `factor` x the font size, change strokes and warp at that
    resolution, then reduce the text mask by `factor` as a camera sensor does (area
    averaging, or with `linear_share` a bilinear resize that aliases thin strokes)
    before colours, backgrounds and effects."""

    prob: float = 0.25
    factor: list[float] = _r(1.5, 3.0)
    linear_share: float = 0.3


@dataclass
class StretchConfig:
    prob: float = 0.3
    factor: list[float] = _r(0.75, 1.35)  # horizontal scale


@dataclass
class BlurConfig:
    prob: float = 0.25
    sigma: list[float] = _r(0.4, 1.2)  # Gaussian, px at render size
    motion_share: float = 0.3  # share of blurs that are motion blurs
    motion_length: list[float] = _r(3, 7)  # px


@dataclass
class NoiseConfig:
    prob: float = 0.3
    sigma: list[float] = _r(2, 12)  # Gaussian noise, levels


@dataclass
class JpegConfig:
    prob: float = 0.2
    quality: list[float] = _r(30, 90)


@dataclass
class LowResConfig:
    prob: float = 0.1
    scale: list[float] = _r(0.4, 0.75)  # down-scale factor before up-scaling back


@dataclass
class IlluminationConfig:
    prob: float = 0.2
    strength: list[float] = _r(0.15, 0.5)  # darkening at the dark end, 0-1


@dataclass
class AugmentConfig:
    """All augmentations; `AugmentConfig.off()` disables every one."""

    colour: ColourConfig = field(default_factory=ColourConfig)
    background: BackgroundConfig = field(default_factory=BackgroundConfig)
    outline: OutlineConfig = field(default_factory=OutlineConfig)
    shadow: ShadowConfig = field(default_factory=ShadowConfig)
    rotation: RotationConfig = field(default_factory=RotationConfig)
    perspective: PerspectiveConfig = field(default_factory=PerspectiveConfig)
    curve: CurveConfig = field(default_factory=CurveConfig)
    shear: ShearConfig = field(default_factory=ShearConfig)
    stroke: StrokeConfig = field(default_factory=StrokeConfig)
    spacing: SpacingConfig = field(default_factory=SpacingConfig)
    downscale: DownscaleConfig = field(default_factory=DownscaleConfig)
    stretch: StretchConfig = field(default_factory=StretchConfig)
    blur: BlurConfig = field(default_factory=BlurConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    jpeg: JpegConfig = field(default_factory=JpegConfig)
    low_res: LowResConfig = field(default_factory=LowResConfig)
    illumination: IlluminationConfig = field(default_factory=IlluminationConfig)

    @classmethod
    def off(cls) -> AugmentConfig:
        """Plain black-on-white-ish rendering: every `prob` 0, solid backgrounds."""
        cfg = cls()
        for f in fields(cfg):
            sub = getattr(cfg, f.name)
            if is_dataclass(sub) and hasattr(sub, "prob"):
                sub.prob = 0.0
        cfg.background = BackgroundConfig(solid=1.0, gradient=0.0, noise=0.0, image=0.0)
        return cfg


@dataclass
class SynthConfig:
    """The whole `synth` configuration: text source, layout, augmentations; `line` and
    `page` for `synth lines|pages` (`strtool.synth.layout_config`)."""

    text: TextConfig = field(default_factory=TextConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    line: LineConfig = field(default_factory=LineConfig)
    page: PageConfig = field(default_factory=PageConfig)

    def __post_init__(self) -> None:
        validate(self)


# ------------------------------------------------------------------------- validation
#: key path -> (kind, low, high): kind `prob` (a number in [0, 1]), `num` (a number),
#: `int` (an integer), `range` ([low, high] numbers, ordered), `choices` (a non-empty
#: list of integers). Bounds are inclusive; None = unbounded; `(x, False)` excludes x.
Bound = float | tuple[float, bool] | None
RULES: dict[str, tuple[str, Bound, Bound]] = {
    "text.top_words": ("int", 1, None),
    "text.skip_words": ("int", 0, None),
    "text.scene_prob": ("prob", 0, 1),
    "text.line_prob": ("prob", 0, 1),
    "text.line_words": ("choices", 1, 12),
    "text.native_digit_prob": ("prob", 0, 1),
    "text.upper_prob": ("prob", 0, 1),
    "text.title_prob": ("prob", 0, 1),
    "text.max_chars": ("int", 0, None),
    "render.font_size": ("range", (0, False), 1000),
    "render.margin": ("range", 0, 5),
    "render.vertical_prob": ("prob", 0, 1),
    "render.max_width_ratio": ("num", (0, False), None),
    "render.joining_forms": ("prob", 0, 1),
    "augment.colour.min_contrast": ("prob", 0, 1),
    "augment.colour.colour_prob": ("prob", 0, 1),
    "augment.background.solid": ("num", 0, None),
    "augment.background.gradient": ("num", 0, None),
    "augment.background.noise": ("num", 0, None),
    "augment.background.image": ("num", 0, None),
    "augment.background.texture_amplitude": ("range", 0, 255),
    "augment.outline.width": ("range", 0, 20),
    "augment.shadow.offset": ("range", 0, 50),
    "augment.shadow.blur": ("range", 0, 20),
    "augment.rotation.degrees": ("range", -90, 90),
    "augment.perspective.strength": ("range", 0, (1, False)),
    "augment.curve.amplitude": ("range", 0, 2),
    "augment.shear.degrees": ("range", 0, 45),
    "augment.shear.left_share": ("prob", 0, 1),
    "augment.stroke.width": ("range", -0.2, 0.2),
    "augment.spacing.em": ("range", -0.2, 2),
    "augment.downscale.factor": ("range", 1, 8),
    "augment.downscale.linear_share": ("prob", 0, 1),
    "augment.stretch.factor": ("range", (0, False), 10),
    "augment.blur.sigma": ("range", 0, 20),
    "augment.blur.motion_share": ("prob", 0, 1),
    "augment.blur.motion_length": ("range", 1, 50),
    "augment.noise.sigma": ("range", 0, 255),
    "augment.jpeg.quality": ("range", 1, 100),
    "augment.low_res.scale": ("range", (0, False), 1),
    "augment.illumination.strength": ("range", 0, 1),
    **LAYOUT_RULES,
}


def _leaves(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(key path, value) of every non-dataclass field, depth first."""
    out: list[tuple[str, Any]] = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            out += _leaves(value, f"{prefix}{f.name}.")
        else:
            out.append((f"{prefix}{f.name}", value))
    return out


def _ok(x: float, low: Bound, high: Bound) -> bool:
    lo, lo_in = (
        (low if isinstance(low, tuple) else (low, True)) if low is not None else (None, True)
    )
    hi, hi_in = (
        (high if isinstance(high, tuple) else (high, True)) if high is not None else (None, True)
    )
    if lo is not None and (x < lo or (x == lo and not lo_in)):
        return False
    return hi is None or not (x > hi or (x == hi and not hi_in))


def _domain(low: Bound, high: Bound) -> str:
    def side(b: Bound, inc: str, exc: str) -> str | None:
        if b is None:
            return None
        v, inclusive = b if isinstance(b, tuple) else (b, True)
        return f"{inc if inclusive else exc} {v:g}"

    parts = [p for p in (side(low, ">=", ">"), side(high, "<=", "<")) if p]
    return " and ".join(parts)


def _number(key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"{key}: expected a finite number, got {show(v)}")
    return float(v)


def _check(key: str, value: Any, rule: tuple[str, Bound, Bound]) -> None:
    kind, low, high = rule
    if kind in ("prob", "num", "int"):
        x = _number(key, value)
        if kind == "int" and not float(x).is_integer():
            raise ConfigError(f"{key}: expected an integer, got {show(value)}")
        if not _ok(x, low, high):
            raise ConfigError(f"{key}: {show(value)} must be {_domain(low, high)}")
        return
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{key}: expected a list, got {show(value)}")
    if kind == "range":
        if len(value) != 2:
            raise ConfigError(f"{key}: expected [low, high], got {show(list(value))}")
        lo, hi = (_number(key, v) for v in value)
        if lo > hi:
            raise ConfigError(f"{key}: [{lo:g}, {hi:g}]: low is greater than high")
    else:  # choices
        if not value:
            raise ConfigError(f"{key}: expected a non-empty list")
        for v in value:
            if not float(_number(key, v)).is_integer():
                raise ConfigError(f"{key}: expected integers, got {show(v)}")
    bad = [v for v in value if not _ok(float(v), low, high)]
    if bad:
        raise ConfigError(f"{key}: {show(list(value))}: values must be {_domain(low, high)}")


#: Largest canvas that the settings may give a 32-character line at render time (32 px
#: crops): font size x downscale factor for the line height (x 1.3), x stretch and
#: (1 + spacing) along the line, plus margins; each factor at its high end when it can
#: fire. Defaults: about 6,100 x 200 px (1.2M). Bigger canvases crashed the renderer:
#: `font_size=[1000,1000]` with `downscale.factor=[8,8]` (PIL's decompression-bomb
#: check), `stretch.factor=[1,10]` with 32 characters (OpenCV's 32,767 px limit on
#: width + height, which shear can reach), `font_size=[512,512]` with `margin=[5,5]` (a
#: 2 GiB array; the renderer peaks near 40 bytes per canvas pixel).
MAX_RENDER_PIXELS = 24_000_000
MAX_RENDER_SIDES = 32_000


def render_canvas(cfg: SynthConfig, chars: int = 32) -> tuple[float, float]:
    """Estimated (width, height) in px at render time of a `chars`-long line drawn with
    every size setting of `cfg` at its high end (a 32 px crop)."""
    a = cfg.augment
    em = float(cfg.render.font_size[1])
    if a.downscale.prob > 0:
        em *= float(a.downscale.factor[1])
    line = 1.3 * em
    advance = em * (1.0 + (max(0.0, float(a.spacing.em[1])) if a.spacing.prob > 0 else 0.0))
    if a.stretch.prob > 0:
        advance *= float(a.stretch.factor[1])
    pad = 2.0 * float(cfg.render.margin[1]) * line
    return chars * advance + pad, line + pad


def _check_render_size(cfg: SynthConfig) -> None:
    """`ConfigError` when the size settings together give a 32-character line a canvas
    over `MAX_RENDER_PIXELS`, or width + height over `MAX_RENDER_SIDES`; the message
    names every setting that took part."""
    w, h = render_canvas(cfg)
    if w * h <= MAX_RENDER_PIXELS and w + h <= MAX_RENDER_SIDES:
        return
    a = cfg.augment
    used = [("render.font_size", cfg.render.font_size), ("render.margin", cfg.render.margin)]
    used += [(f"augment.{k}.factor", getattr(a, k).factor) for k in ("downscale", "stretch")
             if getattr(a, k).prob > 0]  # fmt: skip
    used += [("augment.spacing.em", a.spacing.em)] if a.spacing.prob > 0 else []
    shown = ", ".join(f"{k} {show([float(v) for v in value])}" for k, value in used)
    raise ConfigError(
        f"render size: {shown} render a 32-character line at about {w:,.0f} x {h:,.0f} px, "
        f"over {MAX_RENDER_PIXELS / 1e6:g}M px or {MAX_RENDER_SIDES:,} px width + height; "
        "lower one of them"
    )


def validate(cfg: SynthConfig) -> None:
    """Check every setting of `cfg` (see `RULES`); `ConfigError` naming the key path.
    `render.image_format` must be png or jpeg; a numeric setting without a rule is an
    error too (so a new setting cannot skip validation)."""
    for key, value in _leaves(cfg):
        if key == "render.image_format":
            if value not in ("png", "jpeg"):
                raise ConfigError(f"{key}: {show(value)}: use png or jpeg")
            continue
        if key in LAYOUT_CHOICES:
            if value not in LAYOUT_CHOICES[key]:
                raise ConfigError(f"{key}: {show(value)}: use {' | '.join(LAYOUT_CHOICES[key])}")
            continue
        if key.endswith(".prob"):
            _check(key, value, ("prob", 0, 1))
            continue
        rule = RULES.get(key)
        if rule is None:
            raise ConfigError(f"{key}: no validation rule (strtool.synth.config.RULES)")
        _check(key, value, rule)
    _check_render_size(cfg)
    if cfg.text.skip_words >= cfg.text.top_words:
        raise ConfigError(
            f"text.skip_words: {cfg.text.skip_words} leaves no word below text.top_words "
            f"({cfg.text.top_words})"
        )
