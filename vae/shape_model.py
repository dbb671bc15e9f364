"""A multi-decoder VAE over face geometry: one shared encoder, one decoder per expression.

A face's 68 landmarks, normalised for position, scale and rotation (vae.face_shape), are encoded
once; decoder k draws that face's landmarks with expression k. A latent adversary during training
(train/shape.py) keeps the expression out of the code, so the code holds the person and the pose,
and the decoders hold the expression: decoding one code seven ways gives this face's own smile,
frown or surprise, not a mean offset.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from vae.config import ConfigError, checked_fields


@dataclass(frozen=True)
class ShapeConfig:
    kind: str = "shape"
    points: int = 68
    hidden: int = 256
    latent_dim: int = 16
    expressions: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

    def __post_init__(self) -> None:
        object.__setattr__(self, "expressions", tuple(str(e) for e in self.expressions))
        if self.kind != "shape" or min(self.points, self.hidden, self.latent_dim) < 1:
            raise ConfigError(f"not a valid shape model config: {self}")
        if len(self.expressions) < 2:
            raise ConfigError("a shape model needs at least two expressions")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShapeConfig:
        return cls(**checked_fields(cls, data, "shape model config"))


def _mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inputs, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, outputs)
    )


class ShapeVAE(nn.Module):
    """Landmarks [N, points, 2] in the template's frame <-> codes [N, latent_dim], one decoder each
    expression. Inputs are offsets from the template in units of its eye distance, so the weights
    do not depend on the pixel size of the frame; both live in buffers and travel in the checkpoint."""

    def __init__(self, config: ShapeConfig) -> None:
        super().__init__()
        self.config = config
        size = 2 * config.points
        self.encoder = _mlp(size, config.hidden, 2 * config.latent_dim)
        self.decoders = nn.ModuleList(
            _mlp(config.latent_dim, config.hidden, size) for _ in config.expressions
        )
        self.register_buffer("template", torch.zeros(config.points, 2))
        self.register_buffer("unit", torch.ones(()))
        # How much each expression's decoded departure from the mean of the seven is scaled so that,
        # over the training faces, it matches the real faces' (set after training, train/shape.py):
        # decoders trained on noisy labels draw the rarer expressions only part of the way.
        self.register_buffer("gain", torch.ones(len(config.expressions)))

    @property
    def expressions(self) -> tuple[str, ...]:
        return self.config.expressions

    def set_frame(self, template: torch.Tensor, unit: float) -> None:
        """The template shape [points, 2] and the length (pixels) that inputs are measured in."""
        self.template.copy_(template)
        self.unit.fill_(unit)

    def encode(self, shapes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) [N, latent_dim] of shapes [N, points, 2]."""
        offsets = (shapes - self.template) / self.unit
        mu, logvar = self.encoder(offsets.flatten(1)).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 8)

    def decode_all(self, z: torch.Tensor) -> torch.Tensor:
        """Every expression's shape for each code: [N, expressions, points, 2] in the template's frame."""
        flat = torch.stack([decoder(z) for decoder in self.decoders], dim=1)
        return flat.view(len(z), len(self.decoders), -1, 2) * self.unit + self.template

    def decode(self, z: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
        """Each code through its own expression's decoder: [N, points, 2] in the template's frame."""
        flat = z.new_zeros(len(z), 2 * self.config.points)
        for k in expression.unique().tolist():
            chosen = expression == k
            flat[chosen] = self.decoders[k](z[chosen])
        return flat.view(len(z), -1, 2) * self.unit + self.template

    def calibrated(self, decoded: torch.Tensor) -> torch.Tensor:
        """Decodings [N, expressions, points, 2] with each expression's departure from their mean
        scaled by its gain: strength 1 of the photo edit is then the typical real expression."""
        mean = decoded.mean(1, keepdim=True)
        return mean + self.gain[None, :, None, None] * (decoded - mean)

    def forward(
        self, shapes: torch.Tensor, expression: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction through each face's own expression decoder, mu, logvar); z is sampled
        in training mode, the posterior mean in eval mode."""
        mu, logvar = self.encode(shapes)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.decode(z, expression), mu, logvar
