"""The ELBO and the numbers that tell whether a VAE is healthy.

Every per-image quantity is in nats and *summed* over pixels and latent units. Averaging the
reconstruction over pixels while summing (or heavily weighting) the KL is what made the seed
project's KL collapse to ~0.03 nats: the reconstruction term was worth 12,000 times too little.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vae.conv_vae import ModelOutput

# Pixels live in [-1, 1]; an 8-bit image has 256 levels there, so each bin is 2/255 wide.
LOG_BIN_WIDTH = math.log(2 / 255)


@dataclass(frozen=True)
class LossConfig:
    kind: str = "elbo"  # elbo | seed (MSE averaged over pixels + seed_kl_weight * KL, as the seed did)
    beta: float = 1.0  # weight of the KL term once warm
    warmup_steps: int = 0  # KL weight rises linearly from 0 to beta over these steps
    free_bits: float = 0.0  # nats per latent unit the KL is not pushed below (batch average)
    seed_kl_weight: float = 1.7

    def __post_init__(self) -> None:
        if self.kind not in ("elbo", "seed"):
            raise ValueError(f"loss kind must be elbo or seed, got {self.kind!r}")


def kl_per_unit(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) for every sample and latent unit, in closed form."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def reconstruction_nll(
    x: torch.Tensor, recon: torch.Tensor, log_scale: torch.Tensor, likelihood: str = "gaussian"
) -> torch.Tensor:
    """-log p(x|z) per image, summed over pixels, for a Gaussian or Laplace decoder."""
    error = (x - recon).flatten(1)
    if likelihood == "laplace":
        per_pixel = math.log(2.0) + log_scale + error.abs() * torch.exp(-log_scale)
    else:
        per_pixel = 0.5 * math.log(2 * math.pi) + log_scale + 0.5 * error.pow(2) * torch.exp(-2 * log_scale)
    return per_pixel.sum(1)


def kl_weight(step: int, config: LossConfig) -> float:
    if config.warmup_steps <= 0:
        return config.beta
    return config.beta * min(1.0, step / config.warmup_steps)


@dataclass
class LossTerms:
    loss: torch.Tensor  # what the optimiser minimises
    nll: torch.Tensor  # mean -log p(x|z), nats per image
    kl: torch.Tensor  # mean KL, nats per image (zero for the autoencoder)
    mse: torch.Tensor  # mean squared error per pixel in [-1, 1] units

    @property
    def neg_elbo(self) -> torch.Tensor:
        return self.nll + self.kl


def vae_loss(
    x: torch.Tensor, out: ModelOutput, likelihood: str, config: LossConfig, step: int = 0
) -> LossTerms:
    nll = reconstruction_nll(x, out.recon, out.log_scale, likelihood).mean()
    mse = F.mse_loss(out.recon, x)
    kl_units = torch.zeros_like(out.mu) if out.logvar is None else kl_per_unit(out.mu, out.logvar)
    kl = kl_units.sum(1).mean()
    if config.kind == "seed":
        return LossTerms(mse + config.seed_kl_weight * kl, nll, kl, mse)
    kl_for_loss = kl
    if config.free_bits > 0:
        kl_for_loss = kl_units.mean(0).clamp_min(config.free_bits).sum()
    return LossTerms(nll + kl_weight(step, config) * kl_for_loss, nll, kl, mse)


def bits_per_dim(nats_per_image: float, num_dims: int) -> float:
    """Bits per dimension of the 8-bit image, counting each density over its 2/255-wide bin."""
    return (nats_per_image / num_dims - LOG_BIN_WIDTH) / math.log(2)


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> int:
    """Latent units whose posterior mean varies across data (Burda et al., 2016: Cov_x E[z] > 0.01)."""
    return int((mu.var(0) > threshold).sum())
