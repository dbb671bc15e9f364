"""Start a model from another run's trained weights: a plain VAE's decoder goes into every head.

A multi-decoder step costs about three plain-VAE steps (seven heads, plus the swap path), so within
a fixed budget the plain VAE sees three times as many faces. Starting the expression decoders from
a plain VAE trained for part of the budget gives them faces to work from before the swap terms
start to shape expressions.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from vae.checkpoint import CheckpointError, config_differences, load_checkpoint
from vae.config import ModelConfig
from vae.conv_vae import ConvVAE


def warm_start(model: ConvVAE, path: str | Path) -> None:
    """Load `path`'s weights into `model`; a tensor the heads split (head-major) is tiled per head."""
    source = load_checkpoint(path).model
    if not isinstance(source.config, ModelConfig) or source.config.kind == "multi":
        raise CheckpointError(f"{path}: --init takes a plain VAE or autoencoder checkpoint")
    comparable = replace(source.config, kind=model.config.kind, expressions=model.config.expressions)
    if comparable != model.config:
        differing = ", ".join(config_differences(comparable, model.config))
        raise CheckpointError(f"{path}: --init needs the same architecture; it has {differing}")
    own, trained = model.state_dict(), source.state_dict()
    missing = sorted(set(own) - set(trained))
    if missing:
        kinds = f"a {source.config.kind} checkpoint lacks weights a {model.config.kind} model needs"
        raise CheckpointError(f"{path}: {kinds} ({', '.join(missing[:3])})")
    heads = max(1, len(model.config.expressions))
    tiled = {}
    for name, tensor in trained.items():
        if name not in own:
            raise CheckpointError(f"{path}: {name} has no place in this model")
        tiled[name] = _tile(tensor, own[name].shape, heads)
        if tiled[name] is None:
            shapes = f"{tuple(tensor.shape)} does not fit {tuple(own[name].shape)}"
            raise CheckpointError(f"{path}: {name} {shapes}")
    model.load_state_dict(tiled)


def _tile(tensor: torch.Tensor, shape: torch.Size, heads: int) -> torch.Tensor | None:
    """`tensor` repeated `heads` times along the one axis where `shape` is `heads` times longer."""
    if tensor.shape == shape:
        return tensor
    if tensor.dim() != len(shape):
        return None
    for axis, (have, want) in enumerate(zip(tensor.shape, shape)):
        rest_equal = all(a == b for i, (a, b) in enumerate(zip(tensor.shape, shape)) if i != axis)
        if rest_equal and have * heads == want:
            return torch.cat([tensor] * heads, dim=axis)
    return None
