"""An orthonormal Haar wavelet transform, for a decoder likelihood with one scale per level.

A Gaussian with one scale for every pixel lets the coarse error set that scale: per coefficient,
a blurry face's errors are large in the coarse shapes and small in the finest detail, so fine
detail is cheap to lose. With each level's own (smaller) scale, detail weighs more. Each scale is
capped at the pixel Gaussian's: left free, the few coarse coefficients took scales so large that
the face's overall shape and brightness became nearly free to get wrong (measured: MSE 0.30 after
one epoch of the expression model, against 0.08 with one scale). The transform is orthonormal, so
the density over coefficients is a density over pixels: nats and bits/dim stay comparable with
the pixel likelihoods.
"""

from __future__ import annotations

import torch


def haar_levels(images: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Coefficients per level, finest detail first and the coarse approximation last, each [B, n].

    Each level holds its three detail sub-bands (horizontal, vertical, diagonal) together.
    """
    bands = []
    approx = images
    for _ in range(levels):
        if approx.shape[-1] % 2 or approx.shape[-2] % 2:
            raise ValueError(f"a {levels}-level Haar transform needs sides divisible by {2**levels}")
        tl, tr = approx[..., 0::2, 0::2], approx[..., 0::2, 1::2]
        bl, br = approx[..., 1::2, 0::2], approx[..., 1::2, 1::2]
        details = torch.stack([tl + tr - bl - br, tl - tr + bl - br, tl - tr - bl + br], 1) / 2
        bands.append(details.flatten(1))
        approx = (tl + tr + bl + br) / 2
    bands.append(approx.flatten(1))
    return bands
