"""The convolutional VAE (encoder, Gaussian posterior, reparameterisation, decoder), its
deterministic twin the autoencoder, and `build_model`, which builds any FaceVAE model from its config."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from vae.backbone import Decoder, Encoder
from vae.config import ModelConfig


@dataclass
class ModelOutput:
    recon: torch.Tensor  # decoder mean, in [-1, 1]
    mu: torch.Tensor  # posterior mean (the code itself for the autoencoder)
    logvar: torch.Tensor | None  # posterior log-variance; None for the deterministic autoencoder
    z: torch.Tensor  # the latent that was decoded
    log_scale: torch.Tensor  # log of the output scale of p(x|z), a scalar


class OutputScale(nn.Module):
    """Scale of p(x|z): fixed, or calibrated to each batch's maximum-likelihood value (sigma-VAE).

    Calibration keeps a running average so that evaluation and sampling use the scale the model
    trained towards rather than the scale of whatever batch they happen to see.
    """

    def __init__(self, config: ModelConfig, momentum: float = 0.01, floor: float = 1e-3) -> None:
        super().__init__()
        self.calibrated = config.output_scale is None
        self.laplace = config.likelihood == "laplace"
        self.momentum = momentum
        self.log_floor = math.log(floor)
        start = 0.1 if self.calibrated else config.output_scale
        self.register_buffer("log_scale", torch.tensor(math.log(start)))

    def forward(self, x: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
        if not (self.calibrated and self.training):
            return self.log_scale
        error = recon - x
        best = error.abs().mean() if self.laplace else error.pow(2).mean().sqrt()
        log_best = best.clamp_min(math.exp(self.log_floor)).log()
        with torch.no_grad():
            self.log_scale.lerp_(log_best.detach(), self.momentum)
        return log_best


class ConvVAE(nn.Module):
    stochastic = True  # False: a plain autoencoder with deterministic codes and no KL term

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.to_mu = nn.Linear(self.encoder.out_features, config.latent_dim)
        self.to_logvar = nn.Linear(self.encoder.out_features, config.latent_dim) if self.stochastic else None
        self.decoder = self.build_decoder(config)
        self.output_scale = OutputScale(config)

    def build_decoder(self, config: ModelConfig) -> nn.Module:
        return Decoder(config)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Posterior mean and log-variance of q(z|x)."""
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h) if self.stochastic else None

    def sample_posterior(self, mu: torch.Tensor, logvar: torch.Tensor | None) -> torch.Tensor:
        """Reparameterisation: z = mu + sigma * eps while training, the mean otherwise."""
        if logvar is None or not self.training:
            return mu
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    def decode(self, z: torch.Tensor, expression: int | torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor, expression: torch.Tensor | None = None) -> ModelOutput:
        mu, logvar = self.encode(x)
        z = self.sample_posterior(mu, logvar)
        recon = self.decode(z, expression)
        return ModelOutput(recon, mu, logvar, z, self.output_scale(x, recon))


class AutoEncoder(ConvVAE):
    """The VAE's backbone without the posterior, for the AE-versus-VAE comparison: deterministic
    codes, no log-variance head, no sampling noise, no KL term."""

    stochastic = False


def build_model(config: ModelConfig) -> ConvVAE:
    """The model `config.kind` names: vae, ae or multi (one decoder per expression)."""
    # MultiDecoderVAE subclasses ConvVAE, so its module imports this one: imported here, not on top.
    from vae.multi_decoder import MultiDecoderVAE

    kinds: dict[str, type[ConvVAE]] = {"vae": ConvVAE, "ae": AutoEncoder, "multi": MultiDecoderVAE}
    return kinds[config.kind](config)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
