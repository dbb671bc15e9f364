"""Build any FaceVAE model from its config."""

from __future__ import annotations

from vae.autoencoder import AutoEncoder
from vae.config import ModelConfig
from vae.conv_vae import ConvVAE
from vae.multi_decoder import MultiDecoderVAE

MODEL_CLASSES: dict[str, type[ConvVAE]] = {"vae": ConvVAE, "ae": AutoEncoder, "multi": MultiDecoderVAE}


def build_model(config: ModelConfig) -> ConvVAE:
    return MODEL_CLASSES[config.kind](config)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
