"""Augmented views of unlabeled crops that keep CTC frames aligned.

A batch of crops (N, C, H, W) in [-1, 1] (the training transform's output) first gets
one small affine per crop (`AffineConfig`), the same for every view of that crop; each
view then changes pixels only: brightness, contrast, inversion, Gaussian blur and
noise (`ViewConfig`). Frame t of a CTC model therefore sees the same part of the text
in every view, so a teacher's per-frame classes on one view are targets for the
student on another. All randomness comes from an explicit `torch.Generator` (per-crop
amounts on the CPU; noise pixels from a generator on the crops' device seeded from it),
so a view depends on (seed, position, device type) only and resumes exactly.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from strtool.semi.config import AffineConfig, ViewConfig


def _uniform(n: int, lo: float, hi: float, g: torch.Generator) -> Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g)


def affine_thetas(n: int, cfg: AffineConfig, g: torch.Generator) -> Tensor:
    """(n, 2, 3) `affine_grid` matrices: rotation, horizontal shear, zoom and shift
    drawn per crop (identity when every amount is 0)."""
    a = torch.deg2rad(_uniform(n, -cfg.rotate, cfg.rotate, g))
    sh = _uniform(n, -cfg.shear, cfg.shear, g)
    z = _uniform(n, 1 - cfg.scale, 1 + cfg.scale, g)
    tx = _uniform(n, -cfg.translate, cfg.translate, g) * 2  # grid units span 2
    ty = _uniform(n, -cfg.translate, cfg.translate, g) * 2
    cos, sin = torch.cos(a) / z, torch.sin(a) / z
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 0, 2] = cos, -sin + sh, tx
    theta[:, 1, 0], theta[:, 1, 1], theta[:, 1, 2] = sin, cos, ty
    return theta


def apply_affine(images: Tensor, theta: Tensor) -> Tensor:
    """Warp (N, C, H, W) images by (N, 2, 3) matrices (bilinear, border padding)."""
    theta = theta.to(images.device, images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border",
                         align_corners=False)  # fmt: skip


def gaussian_blur(images: Tensor, sigma: Tensor) -> Tensor:
    """Separable Gaussian blur with one sigma per image (0 = unchanged); reflect
    padding, so the image size and the position of every stroke stay the same."""
    n, c, h, w = images.shape
    radius = max(1, math.ceil(2 * float(sigma.max()))) if len(sigma) else 1
    radius = min(radius, (min(h, w) - 1) // 2) or 1
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    s = sigma.clamp(min=1e-3).float()[:, None]
    k = torch.exp(-(x[None] ** 2) / (2 * s**2))
    k = torch.where(sigma[:, None] > 0, k, (x[None] == 0).float())
    k = (k / k.sum(1, keepdim=True)).to(images.device, images.dtype)
    k = k.repeat_interleave(c, 0)  # (n * c, 2r + 1)
    flat = images.reshape(1, n * c, h, w)
    flat = F.pad(flat, (radius, radius, 0, 0), mode="reflect")
    flat = F.conv2d(flat, k[:, None, None, :], groups=n * c)
    flat = F.pad(flat, (0, 0, radius, radius), mode="reflect")
    flat = F.conv2d(flat, k[:, None, :, None], groups=n * c)
    return flat.reshape(n, c, h, w)


def photometric(
    images: Tensor, cfg: ViewConfig, g: torch.Generator, pixels: torch.Generator | None = None
) -> Tensor:
    """One view of (N, C, H, W) images in [-1, 1]: inversion, contrast, brightness,
    blur and noise drawn per image; the result is clipped to [-1, 1]. Per-image
    amounts come from `g` (CPU); the noise pixels from `pixels`, a generator on the
    images' device (default: `g`, drawn on the CPU and moved)."""
    n = images.shape[0]
    dev, dt = images.device, images.dtype
    x = (images.float() + 1) / 2
    flip = (torch.rand(n, generator=g) < cfg.invert).to(dev)
    x = torch.where(flip[:, None, None, None], 1 - x, x)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    c = _uniform(n, 1 - cfg.contrast, 1 + cfg.contrast, g).to(dev)[:, None, None, None]
    b = _uniform(n, -cfg.brightness, cfg.brightness, g).to(dev)[:, None, None, None]
    x = (x - mean) * c + mean + b
    sigma = _uniform(n, 0, cfg.blur, g)
    if cfg.blur > 0:
        x = gaussian_blur(x, sigma)
    std = _uniform(n, 0, cfg.noise, g).to(dev)[:, None, None, None]
    if cfg.noise > 0:
        if pixels is None:
            noise = torch.randn(x.shape, generator=g).to(dev)
        else:
            noise = torch.randn(x.shape, generator=pixels, device=dev)
        x = x + std * noise
    return (x.clamp(0, 1) * 2 - 1).to(dt)


def view_generator(seed: int, position: int, rank: int) -> torch.Generator:
    """The generator of micro-batch `position` on `rank` (independent of the run's
    global RNG, so resuming at `position` draws the same views)."""
    key = (seed * 1_000_003 + position) * 4099 + rank
    return torch.Generator().manual_seed(key % (2**63 - 1))


def make_views(
    images: Tensor,
    affine: AffineConfig,
    views: list[ViewConfig],
    g: torch.Generator,
) -> list[Tensor]:
    """One shared affine per crop, then one photometric view per entry of `views`:
    every returned tensor has the geometry of every other one."""
    pixels = torch.Generator(device=images.device)
    pixels.manual_seed(int(torch.randint(0, 2**62, (1,), generator=g)))  # drawn from g
    with torch.autocast(images.device.type, enabled=False):
        base = apply_affine(images.float(), affine_thetas(images.shape[0], affine, g))
        return [photometric(base, v, g, pixels).to(images.dtype) for v in views]
