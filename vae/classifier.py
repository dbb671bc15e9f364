"""A small CNN expression classifier, trained by the project on FER2013.

It is the judge of the expression swap (is decoder k's output classified as k?) and its penultimate
features are the space in which Frechet distances are measured, since no ImageNet or Inception
weights can be had offline.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from vae.config import checked_fields


@dataclass(frozen=True)
class ClassifierConfig:
    kind: str = "classifier"
    image_size: int = 48
    channels: int = 1
    widths: tuple[int, ...] = (32, 64, 128)
    classes: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    dropout: float = 0.3

    def __post_init__(self) -> None:
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClassifierConfig:
        return cls(**checked_fields(cls, data, "classifier config"))


class ExpressionClassifier(nn.Module):
    """VGG-style 3x3 conv + BatchNorm stages with max-pooling, then global average pooling.

    The full-resolution first stage has one convolution, the others two: the first stage costs the
    most per layer and sees only edges.
    """

    def __init__(self, config: ClassifierConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        in_channels = config.channels
        for stage, width in enumerate(config.widths):
            for _ in range(1 if stage == 0 else 2):
                layers += [nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)]
                layers.append(nn.ReLU(inplace=True))
                in_channels = width
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(in_channels, len(config.classes)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features, the space of the Frechet distance."""
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))
