"""The `semi` section of a run config and the `data.unlabeled` view augmentations.

Methods (`semi.method`):

- `none`: supervised training only (the default).
- `consistency`: an EMA teacher (stop-gradient) reads a weak view of each unlabeled
  crop, the student a strong view of the same crop; the student learns the teacher's
  confident per-frame classes (CTC frames stay aligned: both views share one geometry).
- `pseudo`: self-training baseline; a teacher snapshot (refreshed every
  `refresh_every` steps) reads the crops, and those read with a confidence of at least
  `pseudo_threshold` become CTC training samples of their decoded text.
- `contrastive`: SeqCLR-style sequence contrastive loss on two strong views (frames
  pooled into `windows` instances, projection head, NT-Xent), added to the supervised
  loss (`supervised_weight`; 0 = contrastive pretraining alone).
- `contrastive+consistency`: both unsupervised losses in one run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from strtool.config import in_range, non_negative, one_of, positive, probability

METHODS: tuple[str, ...] = (
    "none", "consistency", "pseudo", "contrastive", "contrastive+consistency",
)  # fmt: skip


@dataclass
class ViewConfig:
    """One view's photometric augmentation; every change is per pixel or local (blur),
    so a view keeps the crop's geometry and CTC frames stay aligned. Intensities are
    in [0, 1] units; each amount is the maximum, drawn uniformly per crop."""

    brightness: float = in_range(0.1, 0, 1)  # added offset in [-b, b]
    contrast: float = in_range(0.1, 0, 0.95)  # factor in [1 - c, 1 + c] around the mean
    blur: float = in_range(0.0, 0, 5)  # Gaussian sigma in [0, blur] px
    noise: float = in_range(0.0, 0, 1)  # Gaussian noise std in [0, noise]
    invert: float = probability(0.0)  # dark-on-light <-> light-on-dark


@dataclass
class AffineConfig:
    """A small affine drawn per crop and applied to all its views (shared geometry)."""

    rotate: float = in_range(2.0, 0, 15)  # degrees, in [-rotate, rotate]
    shear: float = in_range(0.1, 0, 0.5)  # horizontal shear factor
    scale: float = in_range(0.05, 0, 0.3)  # zoom in [1 - s, 1 + s]
    translate: float = in_range(0.02, 0, 0.2)  # shift, fraction of the size


@dataclass
class StrongViewConfig(ViewConfig):
    """The student's view: the same kinds of change as `ViewConfig`, stronger defaults
    (YAML states only what differs from these)."""

    brightness: float = in_range(0.3, 0, 1)
    contrast: float = in_range(0.6, 0, 0.95)
    blur: float = in_range(1.5, 0, 5)
    noise: float = in_range(0.08, 0, 1)
    invert: float = probability(0.2)


@dataclass
class SemiConfig:
    """Semi-supervised training (see the module docstring); unlabeled data comes from
    `data.unlabeled` at `data.unlabeled_ratio` crops per labeled crop."""

    method: str = one_of("none", *METHODS[1:])
    supervised_weight: float = non_negative(1.0)  # weight of the labeled (CTC) loss
    weight: float = non_negative(1.0)  # consistency / pseudo-label loss weight (after ramp-up)
    threshold: float = probability(0.9)  # teacher confidence a frame needs (consistency)
    blank_weight: float = probability(
        1.0
    )  # consistency: weight of frames the teacher reads as blank (CTC)
    rampup: int = non_negative(1000)  # steps of the sigmoid ramp-up of `weight`
    ema_decay: float = in_range(0.999, 0, 1, hi_open=True)  # teacher = EMA of the student
    pseudo_threshold: float = probability(0.9)  # crop confidence a pseudo-label needs
    refresh_every: int = positive(500)  # pseudo: steps between teacher snapshots
    contrastive_weight: float = non_negative(1.0)
    temperature: float = in_range(0.1, 0, 10, lo_open=True)  # NT-Xent
    windows: int = in_range(5, 1, 256)  # SeqCLR instance mapping: frames -> windows
    proj_dim: int = in_range(128, 1, 8192)  # projection head output size
    affine: AffineConfig = field(default_factory=AffineConfig)
    weak: ViewConfig = field(default_factory=ViewConfig)
    strong: StrongViewConfig = field(default_factory=StrongViewConfig)

    @property
    def parts(self) -> frozenset[str]:
        """The unsupervised losses of `method` (`consistency`, `pseudo`, `contrastive`)."""
        return frozenset() if self.method == "none" else frozenset(self.method.split("+"))
