"""Walking the latent space: sampling, meaningful slider directions, interpolation."""

from __future__ import annotations

import torch

from vae.conv_vae import ConvVAE


def sample_latents(
    n: int, latent_dim: int, temperature: float = 1.0, seed: int | None = None
) -> torch.Tensor:
    """Codes from the prior N(0, T^2 I); the same seed gives the same codes on any machine."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return torch.randn(n, latent_dim, generator=generator) * temperature


@torch.inference_mode()
def encode_all(model: ConvVAE, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Posterior means of a whole set of images in [-1, 1]."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.encode(b.to(device))[0].cpu() for b in images.split(batch_size)])


def principal_directions(codes: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k principal axes of a set of codes (unit rows) and the standard deviation along each.

    These are the directions along which the training faces differ most: the natural first sliders.
    """
    centred = codes - codes.mean(0)
    _, singular, v = torch.linalg.svd(centred, full_matrices=False)
    std = singular[:k] / max(len(codes) - 1, 1) ** 0.5
    return v[:k].contiguous(), std


def labelled_direction(codes: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Unit vector from the mean code of the other faces to the mean code of faces where `positive`."""
    positive = positive.bool()
    if positive.all() or not positive.any():
        raise ValueError("a labelled direction needs faces both with and without the label")
    direction = codes[positive].mean(0) - codes[~positive].mean(0)
    return direction / direction.norm().clamp_min(1e-8)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Spherical interpolation: stays at the typical radius of Gaussian codes, unlike a straight line."""
    a_unit = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    b_unit = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    omega = torch.acos((a_unit * b_unit).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    t = torch.as_tensor(t, dtype=a.dtype)
    if omega.abs().max() < 1e-4:  # nearly parallel: the straight line is the same path
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` codes from a to b inclusive, spherically: [steps, latent_dim]."""
    return torch.stack([slerp(a, b, float(t)) for t in torch.linspace(0, 1, steps)])
