"""Batch augmentations, drawn from torch's global RNG so that resumed runs replay them exactly."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_flip(images: torch.Tensor) -> torch.Tensor:
    """Mirror a random half of the batch: faces are near-symmetric, expressions too."""
    flip = torch.rand(len(images), device=images.device) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def jitter(images: torch.Tensor, shift: int = 3, noise: float = 0.05) -> torch.Tensor:
    """A random shift of the whole batch plus pixel noise."""
    padded = F.pad(images, (shift,) * 4, mode="replicate")
    dy, dx = torch.randint(0, 2 * shift + 1, (2,)).tolist()
    size = images.shape[-1]
    cropped = padded[..., dy : dy + size, dx : dx + size]
    return cropped + noise * torch.randn_like(cropped)
