"""One shared encoder, one decoder per facial expression.

A face is encoded once; decoding its code with decoder k draws that person with expression k.
Training sends each face through its own expression's decoder (plus, in train/objectives.py, the
terms that force the code to hold the person and the decoders to hold the expression).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vae.backbone import Decoder
from vae.config import ModelConfig
from vae.conv_vae import ConvVAE

MAX_STRENGTH = 3.0
MAX_DETAIL = 4.0  # pixels: a coarser cut would keep the photo's expression, not only its detail
AGREEMENT_BLUR = 2.0  # pixels: where the decoders disagree is a region (a mouth), not single pixels


def _in_range(value: float, high: float, what: str, unit: str = "") -> float:
    """The value itself, or ValueError with a message a user can act on."""
    if not 0.0 <= value <= high:
        raise ValueError(f"{what} must lie in 0..{high}{unit}, not {value}")
    return value


def check_strength(strength: float) -> float:
    return _in_range(strength, MAX_STRENGTH, "the expression strength")


def check_detail(detail: float) -> float:
    return _in_range(detail, MAX_DETAIL, "the photo detail", " pixels")


def exaggerate(decoded: torch.Tensor, strength: float) -> torch.Tensor:
    """Faces of each code through every decoder, [batch, expressions, C, H, W], each moved `strength`
    times as far from that code's mean over the decoders (1: as drawn; 0: the mean, no expression).

    The latent adversary keeps the expression out of the code, so what the decoders draw alike is
    the person and what sets decoder k apart is expression k. Scaling that departure strengthens
    the expression without asking any classifier what an expression looks like.
    """
    if check_strength(strength) == 1.0:
        return decoded
    mean = decoded.mean(1, keepdim=True)
    return (mean + strength * (decoded - mean)).clamp(-1, 1)


def _blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of [..., H, W] over 3 sigma with reflected borders: torchvision's gaussian_blur
    (tests/test_models.py checks they agree), written out because importing torchvision for it
    alone added 164 MiB to the demo's memory at its first swap (README: Benchmarks)."""
    radius = math.ceil(3 * sigma)
    x = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = kernel / kernel.sum()
    planes = F.pad(images.reshape(-1, 1, *images.shape[-2:]), (radius,) * 4, mode="reflect")
    planes = F.conv2d(F.conv2d(planes, kernel.view(1, 1, 1, -1)), kernel.view(1, 1, -1, 1))
    return planes.reshape(images.shape)


def own_detail(decoded: torch.Tensor, faces: torch.Tensor, detail: float) -> torch.Tensor:
    """The source faces' [batch, C, H, W] own detail finer than a Gaussian of `detail` pixels,
    weighted by how alike the decoders draw each pixel (`decoded`, [batch, expressions, C, H, W],
    before any strength); zeros for 0. It depends on no strength, so a swap computes it once.

    The decoders draw blurred faces. Where all of them draw alike, the pixels hold the person, so
    the photo's fine detail belongs there; where they differ, the pixels hold the expression, and
    the photo's detail there is its old expression's (the teeth of a smile), so it fades out. No
    classifier is asked where the expression is.
    """
    if check_detail(detail) == 0.0:
        return torch.zeros_like(faces)
    spread = _blur(decoded.std(1), AGREEMENT_BLUR)
    agreement = 1 - spread / spread.amax((1, 2, 3), keepdim=True).clamp_min(1e-8)
    return agreement * (faces - _blur(faces, detail))


def keep_detail(
    drawn: torch.Tensor, decoded: torch.Tensor, faces: torch.Tensor, detail: float
) -> torch.Tensor:
    """Drawn faces [batch, expressions, C, H, W] with the source faces' `own_detail` added (0: none)."""
    if check_detail(detail) == 0.0:
        return drawn
    return add_detail(drawn, own_detail(decoded, faces, detail))


def add_detail(drawn: torch.Tensor, detail_layer: torch.Tensor) -> torch.Tensor:
    """Drawn faces [batch, expressions, C, H, W] plus one `own_detail` layer [batch, C, H, W] each."""
    return (drawn + detail_layer[:, None]).clamp(-1, 1)


class SeparateDecoders(nn.Module):
    """The plain design: independent decoders, each sample sent to its own."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.decoders = nn.ModuleList(Decoder(config) for _ in config.expressions)
        self.image_shape = (config.channels, config.image_size, config.image_size)

    def forward(self, z: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
        out = z.new_empty(len(z), *self.image_shape)
        for k in head.unique().tolist():
            mask = head == k
            out[mask] = self.decoders[k](z[mask])
        return out


class MultiDecoderVAE(ConvVAE):
    def build_decoder(self, config: ModelConfig) -> nn.Module:
        if config.decoder_sharing == "none":
            return SeparateDecoders(config)
        return Decoder(config, num_heads=len(config.expressions))

    @property
    def expressions(self) -> tuple[str, ...]:
        return self.config.expressions

    def expression_index(self, expression: int | str | torch.Tensor, batch: int, device) -> torch.Tensor:
        """Any way of naming an expression, as one index per sample."""
        if isinstance(expression, str):
            if expression not in self.expressions:
                raise ValueError(f"unknown expression {expression!r}; this model has {self.expressions}")
            expression = self.expressions.index(expression)
        if isinstance(expression, int):
            if not 0 <= expression < len(self.expressions):
                raise ValueError(f"expression index {expression} out of range 0..{len(self.expressions) - 1}")
            return torch.full((batch,), expression, dtype=torch.long, device=device)
        return expression.to(device=device, dtype=torch.long)

    def decode(self, z: torch.Tensor, expression: int | str | torch.Tensor | None = None) -> torch.Tensor:
        if expression is None:
            raise ValueError("a multi-decoder model needs the expression to decode with")
        return self.decoder(z, self.expression_index(expression, len(z), z.device))

    def decode_all(self, z: torch.Tensor, strength: float = 1.0) -> torch.Tensor:
        """Every expression for every code: [batch, expressions, C, H, W], at `strength` (exaggerate).

        In eval mode the codes go through the decoders as one batch of batch x expressions (the
        same faces: eval BatchNorm works per sample), 3x faster for one face than one decoder at a
        time; in training mode each decoder sees its own batch, as BatchNorm statistics expect.
        """
        count = len(self.expressions)
        if self.training:
            faces = torch.stack([self.decode(z, k) for k in range(count)], dim=1)
        else:
            heads = torch.arange(count, device=z.device).repeat_interleave(len(z))
            faces = self.decoder(z.repeat(count, 1), heads)
            faces = faces.view(count, len(z), *faces.shape[1:]).transpose(0, 1)
        return exaggerate(faces, strength)

    def swap(self, x: torch.Tensor, strength: float = 1.0, detail: float = 0.0) -> torch.Tensor:
        """Faces `x` through every decoder at `strength`, their own detail kept (keep_detail):
        [batch, expressions, C, H, W], as a swap shows them."""
        decoded = self.decode_all(self.encode(x)[0])
        return keep_detail(exaggerate(decoded, strength), decoded, x, detail)
