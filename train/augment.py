"""Batch augmentations, drawn from torch's global RNG so that resumed runs replay them exactly."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur


def random_flip(images: torch.Tensor) -> torch.Tensor:
    """Mirror a random half of the batch: faces are near-symmetric, expressions too."""
    flip = torch.rand(len(images), device=images.device) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def jitter(images: torch.Tensor, shift: int = 3, noise: float = 0.05, blur: float = 0.0) -> torch.Tensor:
    """A random shift of the whole batch, an optional Gaussian blur, then pixel noise.

    Blurring what a classifier sees of generated faces leaves the expression (mouth, brows, eyes are
    coarse shapes) but hides pixel-level patterns, so a generator gains nothing by drawing them.
    """
    padded = F.pad(images, (shift,) * 4, mode="replicate")
    dy, dx = torch.randint(0, 2 * shift + 1, (2,)).tolist()
    size = images.shape[-1]
    shifted = padded[..., dy : dy + size, dx : dx + size]
    if blur > 0:
        shifted = gaussian_blur(shifted, kernel_size=2 * math.ceil(2 * blur) + 1, sigma=blur)
    return shifted + noise * torch.randn_like(shifted)
