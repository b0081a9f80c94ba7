"""Configuration of the synthetic data pipeline (`strtool synth words|chars --config`).

Defaults live here; `configs/synth/default.yaml` lists them all and a user YAML states
only what differs (`strtool.config.load_config`; unknown keys are an error naming the
key path). Every augmentation has a probability `prob` (per sample) and its ranges as
`[low, high]` lists, drawn uniformly. Units: `font_size` in pixels per em at render
time for a 32 px high crop (scaled by `--height`/32 or `--size`/32; the crop is then
resized to its stored size), `margin` as a fraction of the line
height per side, angles in degrees, colours and noise in 0-255 levels, contrast as a
difference of luma in 0-1.

Every field declares what it allows (`strtool.config_fields`: probabilities and shares
in [0, 1], `[low, high]` pairs ordered and inside their domain, sizes positive), as the
run configs do. `validate(cfg)` (run whenever a `SynthConfig` is built, so by
`load_config` too) checks them, and the render size; a bad value is a `ConfigError`
naming the key path (`render.font_size: [-10.0, -5.0] is out of range; allowed: [low,
high] with low <= high, both in (0, 1000]`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass

import numpy as np

from strtool.config_fields import (
    check_ranges,
    non_negative,
    one_of,
    ordered_pair,
    positive,
    probability,
    show,
)
from strtool.errors import ConfigError
from strtool.synth.corpus import TextConfig
from strtool.synth.layout_config import LineConfig, PageConfig

__all__ = ["AugmentConfig", "RenderConfig", "SynthConfig", "TextConfig", "font_px",
           "validate"]  # fmt: skip


def font_px(bounds: list[float], rng: np.random.Generator, out_px: int) -> int:
    """Render size in px per em: a uniform draw in `bounds` (given for 32 px crops)
    scaled to a crop `out_px` high."""
    lo, hi = float(bounds[0]), float(bounds[-1])
    return max(6, int(round((lo + (hi - lo) * float(rng.random())) * out_px / 32.0)))


@dataclass
class RenderConfig:
    """Layout and storage of a crop."""

    #: px per em for a 32 px crop (scaled with it)
    font_size: list[float] = ordered_pair(24, 36, lo=0, hi=1000, lo_open=True)
    #: Padding per side, fraction of line height
    margin: list[float] = ordered_pair(0.02, 0.20, lo=0, hi=5)
    vertical_prob: float = probability(0.0)  # zh/ja/ko only: stacked vertical crops (stored tall)
    max_width_ratio: float = positive(25.0)  # stored width <= ratio * height (wider: squeezed)
    image_format: str = one_of("png", "jpeg")  # png (lossless) | jpeg (quality 95)
    #: Synth chars: share of Arabic-script letters drawn joined
    joining_forms: float = probability(0.75)


@dataclass
class ColourConfig:
    min_contrast: float = probability(0.35)  # |luma(text) - luma(background)|, 0-1
    colour_prob: float = probability(0.5)  # coloured (not grey) text and background


@dataclass
class BackgroundConfig:
    """Relative weights of the background kinds (`image` needs `--bg-dir`)."""

    solid: float = non_negative(0.3)
    gradient: float = non_negative(0.3)
    noise: float = non_negative(0.3)
    image: float = non_negative(0.1)
    #: Noise texture strength, levels
    texture_amplitude: list[float] = ordered_pair(10, 45, lo=0, hi=255)


@dataclass
class OutlineConfig:
    prob: float = probability(0.08)
    width: list[float] = ordered_pair(1, 2, lo=0, hi=20)  # px at render size


@dataclass
class ShadowConfig:
    prob: float = probability(0.08)
    offset: list[float] = ordered_pair(1, 3, lo=0, hi=50)  # px
    blur: list[float] = ordered_pair(0.0, 1.5, lo=0, hi=20)  # Gaussian sigma, px


@dataclass
class RotationConfig:
    prob: float = probability(0.3)
    degrees: list[float] = ordered_pair(-4, 4, lo=-90, hi=90)


@dataclass
class PerspectiveConfig:
    prob: float = probability(0.2)
    #: Corner shift, fraction of height
    strength: list[float] = ordered_pair(0.02, 0.10, lo=0, hi=1, hi_open=True)


@dataclass
class CurveConfig:
    prob: float = probability(0.05)
    #: Baseline bend, fraction of height
    amplitude: list[float] = ordered_pair(0.05, 0.25, lo=0, hi=2)


@dataclass
class ShearConfig:
    """Oblique / italic-like slant: x moves by tan(angle) * (height above the baseline
    centre); the canvas grows so no ink leaves the crop."""

    prob: float = probability(0.3)
    degrees: list[float] = ordered_pair(4, 18, lo=0, hi=45)  # slant magnitude
    left_share: float = probability(0.3)  # share leaning left (back-slant); the rest lean right


@dataclass
class StrokeConfig:
    """Stroke-width change of the glyph mask: dilation (> 0, bolder) or erosion (< 0,
    thinner) by `width` x the line height, in px at render size (fractions of a px
    blend the two nearest integer radii). Erosion that would remove over half of the
    ink is not applied."""

    prob: float = probability(0.2)
    #: Fraction of the rendered line height
    width: list[float] = ordered_pair(-0.012, 0.03, lo=-0.2, hi=0.2)


@dataclass
class SpacingConfig:
    """Character spacing (tracking) added between grapheme clusters, in em. Applied
    only to languages whose clusters do not join (`strtool.synth.render.TRACKING_LANGS`:
    en fr de it zh ja ko, horizontal lines); Arabic (joining) and Devanagari/Bengali
    (headline, conjuncts) are never spaced, so their shaping is untouched."""

    prob: float = probability(0.1)
    em: list[float] = ordered_pair(-0.03, 0.3, lo=-0.2, hi=2)


@dataclass
class DownscaleConfig:
    """Render at `factor` x the font size, change strokes and warp at that
    resolution, then reduce the text mask by `factor` as a camera sensor does (area
    averaging, or with `linear_share` a bilinear resize that aliases thin strokes)
    before colours, backgrounds and effects."""

    prob: float = probability(0.25)
    factor: list[float] = ordered_pair(1.5, 3.0, lo=1, hi=8)
    linear_share: float = probability(0.3)


@dataclass
class StretchConfig:
    prob: float = probability(0.3)
    factor: list[float] = ordered_pair(0.75, 1.35, lo=0, hi=10, lo_open=True)  # horizontal scale


@dataclass
class BlurConfig:
    prob: float = probability(0.25)
    sigma: list[float] = ordered_pair(0.4, 1.2, lo=0, hi=20)  # Gaussian, px at render size
    motion_share: float = probability(0.3)  # share of blurs that are motion blurs
    motion_length: list[float] = ordered_pair(3, 7, lo=1, hi=50)  # px


@dataclass
class NoiseConfig:
    prob: float = probability(0.3)
    sigma: list[float] = ordered_pair(2, 12, lo=0, hi=255)  # Gaussian noise, levels


@dataclass
class JpegConfig:
    prob: float = probability(0.2)
    quality: list[float] = ordered_pair(30, 90, lo=1, hi=100)


@dataclass
class LowResConfig:
    prob: float = probability(0.1)
    #: Down-scale factor before up-scaling back
    scale: list[float] = ordered_pair(0.4, 0.75, lo=0, hi=1, lo_open=True)


@dataclass
class IlluminationConfig:
    prob: float = probability(0.2)
    strength: list[float] = ordered_pair(0.15, 0.5, lo=0, hi=1)  # darkening at the dark end, 0-1


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
    """Check every setting of `cfg` against the range or choices its field declares
    (`strtool.config_fields`), then the render size and `text.skip_words` against
    `text.top_words`; `ConfigError` naming the key path."""
    check_ranges(cfg)
    _check_render_size(cfg)
    if cfg.text.skip_words >= cfg.text.top_words:
        raise ConfigError(
            f"text.skip_words: {cfg.text.skip_words} leaves no word below text.top_words "
            f"({cfg.text.top_words})"
        )
