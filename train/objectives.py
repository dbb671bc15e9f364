"""What training minimises, as one module, so DistributedDataParallel can wrap all of it.

The model plus the helpers that exist only while training (the latent adversary and the guidance
classifier of the expression swap) live here; checkpoints export the model alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from train.augment import jitter
from train.config import SwapConfig
from vae.classifier import ClassifierConfig, ExpressionClassifier
from vae.conv_vae import ConvVAE
from vae.losses import LossConfig, vae_loss


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return -grad


class Objective(nn.Module):
    def __init__(self, model: ConvVAE, loss: LossConfig, swap: SwapConfig) -> None:
        super().__init__()
        self.model = model
        self.loss_config = loss
        self.swap = swap
        config = model.config
        num_expressions = len(config.expressions)
        self.adversary = None
        self.guide = None
        if config.kind == "multi" and swap.adversary > 0:
            self.adversary = nn.Sequential(
                nn.Linear(config.latent_dim, 256), nn.ReLU(), nn.Linear(256, num_expressions)
            )
        if config.kind == "multi" and (swap.guidance > 0 or swap.cycle > 0):
            self.guide = ExpressionClassifier(
                ClassifierConfig(
                    image_size=config.image_size,
                    channels=config.channels,
                    widths=(16, 32, 64),
                    classes=config.expressions,
                )
            )

    def forward(self, x: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """Loss to minimise plus the terms worth logging (all scalars)."""
        model = self.model
        out = model(x, labels if model.config.kind == "multi" else None)
        terms = vae_loss(x, out, model.config.likelihood, self.loss_config, step)
        logs = {"loss": terms.loss, "nll": terms.nll, "kl": terms.kl, "mse": terms.mse}
        if self.adversary is not None or self.guide is not None:
            logs.update(self._swap_terms(x, labels, out.mu, out.z))
            logs["loss"] = logs["loss"] + model.config.num_pixels * logs.pop("swap_loss")
        return logs

    def _swap_terms(
        self, x: torch.Tensor, labels: torch.Tensor, mu: torch.Tensor, z: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        swap, logs = self.swap, {}
        total = x.new_zeros(())
        if self.adversary is not None:
            logits = self.adversary(_ReverseGradient.apply(mu))
            logs["adversary_ce"] = F.cross_entropy(logits, labels)
            total = total + swap.adversary * logs["adversary_ce"]
        if self.guide is not None:
            num = len(self.model.config.expressions)
            target = (labels + torch.randint(1, num, labels.shape, device=labels.device)) % num
            swapped = self.model.decode(z.detach(), target)  # swap terms train decoders, not codes
            # The guide learns from real faces only; on swapped faces it judges with frozen weights.
            logs["guide_real_ce"] = F.cross_entropy(self.guide(jitter(x)), labels)
            frozen = {name: p.detach() for name, p in self.guide.named_parameters()}
            guide_logits = functional_call(self.guide, frozen, (jitter(swapped),))
            logs["guide_swap_ce"] = F.cross_entropy(guide_logits, target)
            swapped_mu, _ = self.model.encode(swapped)
            logs["cycle_mse"] = F.mse_loss(swapped_mu, mu.detach())
            total = total + logs["guide_real_ce"] + swap.guidance * logs["guide_swap_ce"]
            total = total + swap.cycle * logs["cycle_mse"]
        logs["swap_loss"] = total
        return logs
