"""The plain autoencoder: the VAE's backbone without the posterior, for the AE-versus-VAE comparison."""

from __future__ import annotations

from vae.conv_vae import ConvVAE


class AutoEncoder(ConvVAE):
    """Deterministic codes: no log-variance head, no sampling noise, no KL term."""

    stochastic = False
