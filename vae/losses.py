"""The ELBO and the numbers that tell whether a VAE is healthy.

Every per-image quantity is in nats and *summed* over pixels and latent units. Averaging the
reconstruction over pixels instead, with the KL still summed (`--loss mse`), makes it as many times
smaller as there are pixels (2,304 at 48x48), and the KL collapses: every face decodes to the same
average face (docs/design.md, section 'The loss: the ELBO summed over pixels, with a calibrated
decoder scale').
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vae.config import ConfigError, option
from vae.conv_vae import ModelOutput

# Pixels live in [-1, 1]; an 8-bit image has 256 levels there, so each bin is 2/255 wide.
LOG_BIN_WIDTH = math.log(2 / 255)


LOSS_KINDS = ("elbo", "mse")


@dataclass(frozen=True)
class LossConfig:
    """The VAE's own objective; the expression swap adds its terms in train/objectives.py."""

    kind: str = option(
        "elbo",
        "elbo: the ELBO, summed over pixels; mse: MSE averaged over pixels + --mse-kl-weight x KL "
        "(its KL collapses: kept to show it)",
        flag="--loss",
        choices=LOSS_KINDS,
    )
    beta: float = option(1.0, "weight of the ELBO's KL term")
    mse_kl_weight: float = option(1.7, "weight of the KL beside the pixel-averaged MSE (--loss mse)")

    def __post_init__(self) -> None:
        if self.kind not in LOSS_KINDS:
            raise ConfigError(f"loss kind must be one of {', '.join(LOSS_KINDS)}, got {self.kind!r}")


def kl_per_unit(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, 1)) for every sample and latent unit, in closed form."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def reconstruction_nll(
    x: torch.Tensor, recon: torch.Tensor, log_scale: torch.Tensor, likelihood: str = "gaussian"
) -> torch.Tensor:
    """-log p(x|z) per image, summed over pixels, for a Gaussian or Laplace decoder (the Laplace one
    is kept for its comparison with the Gaussian: docs/design.md, section 'Likelihood, KL weight,
    normalisation, swap share: the realism gap')."""
    error = (x - recon).flatten(1)
    if likelihood == "laplace":
        per_pixel = math.log(2.0) + log_scale + error.abs() * torch.exp(-log_scale)
    else:
        per_pixel = 0.5 * math.log(2 * math.pi) + log_scale + 0.5 * error.pow(2) * torch.exp(-2 * log_scale)
    return per_pixel.sum(1)


@dataclass
class LossTerms:
    loss: torch.Tensor  # what the optimiser minimises
    nll: torch.Tensor  # mean -log p(x|z), nats per image
    kl: torch.Tensor  # mean KL, nats per image (zero for the autoencoder)
    mse: torch.Tensor  # mean squared error per pixel in [-1, 1] units

    @property
    def neg_elbo(self) -> torch.Tensor:
        return self.nll + self.kl


def vae_loss(x: torch.Tensor, out: ModelOutput, likelihood: str, config: LossConfig) -> LossTerms:
    nll = reconstruction_nll(x, out.recon, out.log_scale, likelihood).mean()
    mse = F.mse_loss(out.recon, x)
    kl = out.mu.new_zeros(()) if out.logvar is None else kl_per_unit(out.mu, out.logvar).sum(1).mean()
    if config.kind == "mse":
        return LossTerms(mse + config.mse_kl_weight * kl, nll, kl, mse)
    return LossTerms(nll + config.beta * kl, nll, kl, mse)


def bits_per_dim(nats_per_image: float, num_dims: int) -> float:
    """Bits per dimension of the 8-bit image, counting each density over its 2/255-wide bin."""
    return (nats_per_image / num_dims - LOG_BIN_WIDTH) / math.log(2)


def active_units(mu: torch.Tensor, threshold: float = 0.01) -> int:
    """Latent units whose posterior mean varies across data (Burda et al., 2016: Cov_x E[z] > 0.01)."""
    return int((mu.var(0) > threshold).sum())
