"""The convolutional backbone shared by every model: a strided encoder and its mirrored decoder.

The decoder can carry several *heads*: one set of expression-specific parameters (input projection,
BatchNorm affines, output layer) around a shared trunk of transposed convolutions. One head is the
plain decoder; seven heads are seven expression decoders that cost little more than one.
"""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from vae.config import ModelConfig


class Encoder(nn.Module):
    """4x4 stride-2 convolutions with BatchNorm; each one halves the image."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = config.channels
        for width in config.widths:
            layers += [
                nn.Conv2d(in_channels, width, 4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            in_channels = width
        self.features = nn.Sequential(*layers)
        self.out_features = in_channels * config.bottom_size**2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).flatten(1)


class HeadBatchNorm(nn.Module):
    """BatchNorm whose scale and shift belong to the head that decodes each sample."""

    def __init__(self, channels: int, num_heads: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(num_heads, channels)
        self.shift = nn.Embedding(num_heads, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        scale = self.scale(head)[:, :, None, None]
        shift = self.shift(head)[:, :, None, None]
        return self.norm(x) * scale + shift


class Decoder(nn.Module):
    """Linear projection to the smallest feature map, then 4x4 stride-2 transposed convolutions."""

    def __init__(self, config: ModelConfig, num_heads: int = 1) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.bottom_shape = (config.widths[-1], config.bottom_size, config.bottom_size)
        bottom_features = config.widths[-1] * config.bottom_size**2
        # Every head's projection and output layer live in one wide layer; forward picks each sample's.
        self.project = nn.Linear(config.latent_dim, num_heads * bottom_features)
        self.project_norm = HeadBatchNorm(config.widths[-1], num_heads)
        widths = config.widths[::-1]
        self.upsample = nn.ModuleList(
            nn.ConvTranspose2d(w_in, w_out, 4, stride=2, padding=1, bias=False)
            for w_in, w_out in pairwise(widths)
        )
        self.norms = nn.ModuleList(HeadBatchNorm(w, num_heads) for w in widths[1:])
        self.to_image = nn.ConvTranspose2d(widths[-1], num_heads * config.channels, 4, stride=2, padding=1)
        self.channels = config.channels

    def forward(self, z: torch.Tensor, head: torch.Tensor | None = None) -> torch.Tensor:
        if head is None:
            head = torch.zeros(len(z), dtype=torch.long, device=z.device)
        only = self._only_head(head)
        if only is None:
            h = _pick_head(self.project(z), head, self.num_heads)
        else:  # one head for the whole batch: multiply by its rows of the wide layer only
            per_head = self.project.out_features // self.num_heads
            rows = slice(only * per_head, (only + 1) * per_head)
            h = F.linear(z, self.project.weight[rows], self.project.bias[rows])
        h = torch.relu(self.project_norm(h.view(-1, *self.bottom_shape), head))
        for conv, norm in zip(self.upsample, self.norms):
            h = torch.relu(norm(conv(h), head))
        if only is None:
            return torch.tanh(_pick_head(self.to_image(h), head, self.num_heads))
        channels = slice(only * self.channels, (only + 1) * self.channels)
        layer = self.to_image
        out = F.conv_transpose2d(
            h, layer.weight[:, channels], layer.bias[channels], stride=layer.stride, padding=layer.padding
        )
        return torch.tanh(out)

    def _only_head(self, head: torch.Tensor) -> int | None:
        """The head every sample uses, when an inference batch has just one (a slider update, a
        gallery, one expression of a swap): computing only its slice of the wide projection and
        output layers gives the same faces at a fraction of the cost (decoding one 48x48 face
        reads 1.2 MB of projection weights instead of all 7 heads' 8.3 MB). None: pick per sample.
        """
        if self.num_heads == 1 or self.training or len(head) == 0:
            return None
        first = int(head[0])
        return first if bool((head == first).all()) else None


def _pick_head(stacked: torch.Tensor, head: torch.Tensor, num_heads: int) -> torch.Tensor:
    """From [B, heads * F, ...] keep each sample's own slice [B, F, ...]."""
    if num_heads == 1:
        return stacked
    per_head = stacked.view(len(stacked), num_heads, -1, *stacked.shape[2:])
    return per_head[torch.arange(len(stacked), device=stacked.device), head]
