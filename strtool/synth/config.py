"""Configuration of the synthetic data pipeline (`strtool synth words|chars --config`).

Defaults live here; `configs/synth/default.yaml` lists them all and a user YAML states
only what differs (`strtool.config.load_config`; unknown keys are an error naming the
key path). Every augmentation has a probability `prob` (per sample) and its ranges as
`[low, high]` lists, drawn uniformly. Units: `font_size` in pixels per em at render
time for a 32 px high crop (scaled by `--height`/32 or `--size`/32; the crop is then
resized to its stored size), `margin` as a fraction of the line
height per side, angles in degrees, colours and noise in 0-255 levels, contrast as a
difference of luma in 0-1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass

import numpy as np

from strtool.synth.corpus import TextConfig

__all__ = ["AugmentConfig", "RenderConfig", "SynthConfig", "TextConfig", "font_px"]


def _r(lo: float, hi: float) -> list[float]:
    return field(default_factory=lambda: [lo, hi])  # type: ignore[return-value]


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
    """The whole `synth` configuration: text source, layout, augmentations."""

    text: TextConfig = field(default_factory=TextConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
