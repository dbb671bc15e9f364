"""What training minimises, as one module, so DistributedDataParallel can wrap all of it.

The loss, term by term (each by the name it is logged under), and where each lives:
      nll + beta * kl                    the ELBO: vae/losses.py (--loss mse: mse + mse_kl_weight * kl)
    + pixels * swap_loss                 the swap's terms, multi model only, each sized per pixel:
        adversary * adversary_ce         a latent classifier, its gradient reversed into the encoder
      + guide_real_ce                    the guide (vae/classifier.py) learning the real faces
      + ramp * guidance * guide_swap_ce  the frozen guide reading the target off swapped faces
      + ramp * cycle * cycle_mse         swapped faces re-encoded to the codes they came from
      + critic_loss                      the critic (train/critic.py) telling real from swapped
      + ramp * realism * realism         the frozen critic scoring swapped faces
The swap's terms are computed here (Objective._swap_terms); their weights and the ramp (0 to 1 over
--swap-warmup steps) are SwapConfig's (train/config.py).

The model and the helpers that exist only while training (the adversary, the guide, the critic)
live here; checkpoints export the model alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from train.augment import jitter
from train.config import SwapConfig
from train.critic import Critic, hinge_critic_loss
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


def frozen(module: nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
    """Run `module` with its weights detached: gradients reach the inputs, never the module."""
    weights = {name: p.detach() for name, p in module.named_parameters()}
    return functional_call(module, weights, inputs)


class Objective(nn.Module):
    def __init__(self, model: ConvVAE, loss: LossConfig, swap: SwapConfig, precision: str = "fp32") -> None:
        super().__init__()
        self.model = model
        self.bf16 = precision == "bf16"  # TrainConfig.precision: autocast, weights stay float32
        self.loss_config = loss
        self.swap_config = swap
        config = model.config
        multi = config.kind == "multi"
        num_expressions = len(config.expressions)
        self.adversary = None
        if multi and swap.adversary > 0:
            self.adversary = nn.Sequential(
                nn.Linear(config.latent_dim, 256), nn.ReLU(), nn.Linear(256, num_expressions)
            )
        self.guide = None
        if multi and swap.guidance > 0:
            guide_config = ClassifierConfig(
                image_size=config.image_size,
                channels=config.channels,
                widths=(16, 32, 64),
                classes=config.expressions,
            )
            self.guide = ExpressionClassifier(guide_config)
        self.critic = Critic(config.channels, num_expressions) if multi and swap.realism > 0 else None
        # Whether faces go through other expressions' decoders (the swap path) in each step.
        self.decodes_swaps = multi and (swap.guidance > 0 or swap.cycle > 0 or swap.realism > 0)

    def forward(self, x: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """Loss to minimise plus the terms worth logging (all scalars)."""
        model = self.model
        with torch.autocast(x.device.type, torch.bfloat16, enabled=self.bf16):
            out = model(x, labels if model.config.kind == "multi" else None)
            terms = vae_loss(x, out, model.config.likelihood, self.loss_config)
            logs = {"loss": terms.loss, "nll": terms.nll, "kl": terms.kl, "mse": terms.mse}
            if self.adversary is not None or self.decodes_swaps:
                logs.update(self._swap_terms(x, labels, out.mu, out.z, step))
                logs["loss"] = logs["loss"] + model.config.num_pixels * logs.pop("swap_loss")
        return logs

    def _swap_terms(
        self, x: torch.Tensor, labels: torch.Tensor, mu: torch.Tensor, z: torch.Tensor, step: int
    ) -> dict[str, torch.Tensor]:
        """Per-pixel-sized terms; helpers (adversary, guide, critic) learn from their own terms only."""
        swap, logs = self.swap_config, {}
        ramp = min(1.0, step / swap.warmup_steps) if swap.warmup_steps > 0 else 1.0
        total = x.new_zeros(())
        if self.adversary is not None:
            logs["adversary_ce"] = F.cross_entropy(self.adversary(_ReverseGradient.apply(mu)), labels)
            total = total + swap.adversary * logs["adversary_ce"]
        if not self.decodes_swaps:
            logs["swap_loss"] = total
            return logs
        n = max(1, int(len(x) * swap.fraction))
        num = len(self.model.config.expressions)
        target = (labels[:n] + torch.randint(1, num, (n,), device=labels.device)) % num
        swapped = self.model.decode(z[:n].detach(), target)  # swap terms train decoders, not codes
        if self.guide is not None:
            logs["guide_real_ce"] = F.cross_entropy(self.guide(jitter(x, blur=swap.blur)), labels)
            guide_logits = frozen(self.guide, jitter(swapped, blur=swap.blur))
            logs["guide_swap_ce"] = F.cross_entropy(guide_logits, target)
            total = total + logs["guide_real_ce"] + ramp * swap.guidance * logs["guide_swap_ce"]
        if swap.cycle > 0:
            swapped_mu, _ = self.model.encode(jitter(swapped, blur=swap.blur))
            logs["cycle_mse"] = F.mse_loss(swapped_mu, mu[:n].detach())
            total = total + ramp * swap.cycle * logs["cycle_mse"]
        if self.critic is not None:
            real = self.critic(jitter(x[:n], blur=swap.blur), labels[:n])
            fake = self.critic(jitter(swapped.detach(), blur=swap.blur), target)
            logs["critic_loss"] = hinge_critic_loss(real, fake)
            logs["realism"] = -frozen(self.critic, jitter(swapped, blur=swap.blur), target).mean()
            total = total + logs["critic_loss"] + ramp * swap.realism * logs["realism"]
        logs["swap_loss"] = total
        return logs
