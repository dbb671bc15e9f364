"""Image-quality numbers for evaluation: PSNR, Frechet distance, sharpness, spectral excess."""

from __future__ import annotations

import torch
import torch.nn.functional as F

LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, in dB, for images in [-1, 1] (peak-to-peak range 2)."""
    mse = (x - y).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return 10 * torch.log10(4.0 / mse)


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Distance between Gaussians fitted to two feature sets (the FID formula, any feature space).

    Tr sqrt(S_a S_b) is computed as the trace of sqrt(A^1/2 S_b A^1/2), which is symmetric, so only
    eigh is needed and the result is real.
    """
    a, b = features_a.double(), features_b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    vals, vecs = torch.linalg.eigh(cov_a)
    sqrt_a = vecs @ torch.diag(vals.clamp_min(0).sqrt()) @ vecs.T
    cross = torch.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a).clamp_min(0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def laplacian_variance(images: torch.Tensor) -> torch.Tensor:
    """Variance of the Laplacian per image (on the mean over channels): high for sharp edges."""
    gray = images.mean(1, keepdim=True)
    edges = F.conv2d(gray, LAPLACIAN.to(gray)[None, None])
    return edges.flatten(1).var(1)


def sharpness_ratio(generated: torch.Tensor, real: torch.Tensor) -> float:
    """Mean Laplacian variance of generated faces over that of real ones: 1.0 is as sharp as real."""
    return float(laplacian_variance(generated).mean() / laplacian_variance(real).mean())


def mean_power_spectrum(images: torch.Tensor) -> torch.Tensor:
    """Mean 2-D power spectrum of a set of images (mean over channels), each centred and windowed
    so that the border does not count as an edge."""
    gray = images.mean(1)
    gray = gray - gray.mean((-2, -1), keepdim=True)
    rows, cols = (
        torch.hann_window(n, periodic=False, dtype=gray.dtype, device=gray.device) for n in gray.shape[-2:]
    )
    return torch.fft.fft2(gray * rows[:, None] * cols[None, :]).abs().pow(2).mean(0)


def spectral_excess(generated: torch.Tensor, real: torch.Tensor) -> float:
    """Mean over spatial frequencies of how far generated faces' power exceeds real faces' (log
    ratio, positive part): 0 when no frequency carries more than in real faces.

    A texture that fools classifiers (stripes, rows of dots) puts power at frequencies where real
    faces have little, and can lower the Frechet distance in a classifier's feature space while
    raising the sharpness ratio. Blur only lowers power, so it does not count here.
    """
    ratio = mean_power_spectrum(generated).div(mean_power_spectrum(real).clamp_min(1e-12)).log()
    return float(ratio.clamp_min(0).mean())
