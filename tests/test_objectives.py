"""Who learns from which term: the critics from their own losses, the model from the realism terms."""

from __future__ import annotations

import pytest
import torch

from train.config import DetailConfig, SwapConfig
from train.objectives import Objective
from vae.config import ModelConfig
from vae.losses import LossConfig
from vae.models import build_model

EXPRESSIONS = ("happy", "sad", "neutral")
NO_SWAP = SwapConfig(adversary=0, guidance=0, cycle=0, realism=0)


def objective(kind: str, start_step: int = 0) -> Objective:
    torch.manual_seed(0)
    config = ModelConfig(
        kind=kind,
        image_size=16,
        channels=1,
        widths=(8, 16),
        latent_dim=8,
        expressions=EXPRESSIONS if kind == "multi" else (),
    )
    detail = DetailConfig(critic=1.0, start_step=start_step, warmup_steps=0)
    return Objective(build_model(config), LossConfig(), NO_SWAP, detail)


def gradients(module: torch.nn.Module) -> float:
    return sum(float(p.grad.abs().sum()) for p in module.parameters() if p.grad is not None)


@pytest.mark.parametrize("kind", ["vae", "ae", "multi"])
def test_detail_critic_trains_apart_from_the_model(kind: str) -> None:
    obj = objective(kind)
    x = torch.rand(8, 1, 16, 16) * 2 - 1
    labels = torch.arange(8) % len(EXPRESSIONS)

    logs = obj(x, labels, step=10)
    logs["detail_realism"].backward()
    assert gradients(obj.model.decoder) > 0
    assert gradients(obj.detail_critic) == 0

    obj.zero_grad(set_to_none=True)
    logs = obj(x, labels, step=10)
    logs["detail_critic_loss"].backward()
    assert gradients(obj.detail_critic) > 0
    assert gradients(obj.model) == 0


def test_detail_terms_start_at_their_step() -> None:
    start = 5
    obj = objective("vae", start_step=start)
    x, labels = torch.zeros(4, 1, 16, 16), torch.zeros(4, dtype=torch.long)
    assert "detail_realism" not in obj(x, labels, step=start - 1)
    assert "detail_realism" in obj(x, labels, step=start)


def test_zero_weight_builds_no_detail_critic() -> None:
    config = ModelConfig(image_size=16, channels=1, widths=(8, 16), latent_dim=8)
    obj = Objective(build_model(config), LossConfig(), NO_SWAP, DetailConfig(critic=0))
    logs = obj(torch.zeros(4, 1, 16, 16), torch.zeros(4, dtype=torch.long), step=0)
    assert obj.detail_critic is None and not any(key.startswith("detail") for key in logs)
