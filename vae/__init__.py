"""FaceVAE: convolutional VAEs for faces.

from vae import CodeDistribution, load_checkpoint
checkpoint = load_checkpoint("checkpoints/utkface-vae.safetensors")
codes = CodeDistribution.of(checkpoint)  # where the training faces' codes lie (the prior if not stored)
faces = checkpoint.model.decode(codes.sample(16, temperature=0.8, seed=0))
"""

from vae.checkpoint import CheckpointError, load_checkpoint, save_model
from vae.config import PRESETS, ConfigError, ModelConfig, preset
from vae.conv_vae import AutoEncoder, ConvVAE, build_model
from vae.data import EXPRESSIONS, DataConfig, DataError, load_faces
from vae.latent import (
    CodeDistribution,
    interpolate,
    labelled_directions,
    principal_directions,
    sample_latents,
    slerp,
)
from vae.multi_decoder import MultiDecoderVAE

__all__ = [
    "EXPRESSIONS",
    "PRESETS",
    "AutoEncoder",
    "CheckpointError",
    "CodeDistribution",
    "ConfigError",
    "ConvVAE",
    "DataConfig",
    "DataError",
    "ModelConfig",
    "MultiDecoderVAE",
    "build_model",
    "interpolate",
    "labelled_directions",
    "load_checkpoint",
    "load_faces",
    "preset",
    "principal_directions",
    "sample_latents",
    "save_model",
    "slerp",
]
