"""The baseline: VanillaVAE of the widely used PyTorch-VAE collection (AntixK/PyTorch-VAE), re-implemented
from its description for the comparisons in bench/training.py and bench/quality.py.

- Encoder: for widths 32, 64, 128, 256, 512 a 3x3 stride-2 convolution (padding 1, with bias),
  BatchNorm and LeakyReLU (slope 0.01); the flattened features go to two linear layers, the
  posterior mean and log-variance (latent 128).
- Decoder: a linear layer to 512 x 2 x 2, then mirrored 3x3 stride-2 transposed convolutions
  (padding 1, output padding 1) with BatchNorm and LeakyReLU for widths 256, 128, 64, 32, one more
  32 -> 32 transposed convolution with BatchNorm and LeakyReLU, a 3x3 convolution to the image's
  channels and tanh.
- Loss: mean squared error averaged over every pixel of the batch plus ``kld_weight`` (0.00025) x the
  KL divergence to N(0, I), summed over latent units and averaged over the batch.

Other sizes than 64x64 (FER2013 is 48x48), honestly: the encoder is unchanged and its flattened size
is measured with a dummy input rather than assumed (48 -> 24 -> 12 -> 6 -> 3 -> 2, the same 2 x 2 as
at 64); the decoder always draws 32 x that bottom size (64 x 64) and its output is centre-cropped to
the input size, so the loss and every metric see exactly the input's pixels. Nothing is resampled;
the price is that for 48x48 the last layers compute a 64x64 canvas of which 56% is used. Padding the
input to 64 instead would make the encoder do more work too and score the padding. The output
layer has as many channels as the input (the original hard-codes 3). Pixels are in [-1, 1], the
range of its tanh output (as in this project).
"""

from __future__ import annotations

from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

WIDTHS = (32, 64, 128, 256, 512)
LATENT_DIM = 128
KLD_WEIGHT = 0.00025
LEARNING_RATE = 0.005  # its published config (configs/vae.yaml): Adam, lr 0.005, ExponentialLR 0.95
SCHEDULER_GAMMA = 0.95  # per epoch


def _down(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.LeakyReLU()
    )


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1),
        nn.BatchNorm2d(c_out),
        nn.LeakyReLU(),
    )


class VanillaVAE(nn.Module):
    def __init__(
        self,
        image_size: int = 64,
        channels: int = 3,
        latent_dim: int = LATENT_DIM,
        widths: tuple[int, ...] = WIDTHS,
        kld_weight: float = KLD_WEIGHT,
    ) -> None:
        super().__init__()
        self.image_size, self.channels, self.latent_dim = image_size, channels, latent_dim
        self.kld_weight = kld_weight
        ins = (channels, *widths[:-1])
        self.encoder = nn.Sequential(*(_down(a, b) for a, b in zip(ins, widths)))
        with torch.no_grad():
            bottom = self.encoder(torch.zeros(1, channels, image_size, image_size))
        self.bottom_shape = tuple(bottom.shape[1:])  # (512, 2, 2) for 64x64 and for 48x48
        features = bottom.numel()
        self.fc_mu = nn.Linear(features, latent_dim)
        self.fc_var = nn.Linear(features, latent_dim)
        self.decoder_input = nn.Linear(latent_dim, features)
        back = widths[::-1]
        self.decoder = nn.Sequential(*(_up(a, b) for a, b in pairwise(back)))
        self.final_layer = nn.Sequential(
            _up(widths[0], widths[0]), nn.Conv2d(widths[0], channels, 3, padding=1), nn.Tanh()
        )
        self.output_size = self.bottom_shape[1] * 2 ** len(widths)  # 64 for a 2x2 bottom

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x).flatten(1)
        return self.fc_mu(h), self.fc_var(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.decoder_input(z).view(-1, *self.bottom_shape)
        out = self.final_layer(self.decoder(h))
        if self.output_size != self.image_size:  # centre crop (see the module docstring)
            start = (self.output_size - self.image_size) // 2
            out = out[..., start : start + self.image_size, start : start + self.image_size]
        return out

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction, mu, logvar); the code is sampled while training, the mean otherwise."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decode(z), mu, logvar

    def loss(
        self, x: torch.Tensor, recon: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        mse = F.mse_loss(recon, x)
        kld = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
        return {"loss": mse + self.kld_weight * kld, "mse": mse, "kl": kld}
