"""A conditional patch critic: the realism constraint beside the expression guidance.

Guidance alone teaches decoders patterns that fool a classifier rather than faces that show an
expression. The critic learns to tell real faces of expression k from faces decoded through
decoder k, so such patterns get penalised as soon as they appear (a projection discriminator,
Miyato & Koyama 2018, with the hinge loss). Spectral normalisation keeps the critic smooth, so
its gradients describe faces rather than chase pixel patterns; without it the decoders learned
blotches and dotted textures within a few epochs (docs/design.md, section 'Blur every face the
swap path judges, by 2 px').
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class Critic(nn.Module):
    def __init__(self, channels: int, num_classes: int, widths: tuple[int, ...] = (32, 64, 128)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = channels
        for width in widths:
            conv = spectral_norm(nn.Conv2d(in_channels, width, 4, stride=2, padding=1))
            layers += [conv, nn.LeakyReLU(0.2, inplace=True)]
            in_channels = width
        self.features = nn.Sequential(*layers)
        self.patch = spectral_norm(nn.Conv2d(in_channels, 1, 3, padding=1))
        self.embed = nn.Embedding(num_classes, in_channels)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """One realism score per image: the mean over patches plus the class projection."""
        h = self.features(images)
        return self.patch(h).flatten(1).mean(1) + (h.mean((2, 3)) * self.embed(labels)).sum(1)


def hinge_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return torch.relu(1 - real_scores).mean() + torch.relu(1 + fake_scores).mean()
