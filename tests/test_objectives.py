"""Which expressions the swap path draws faces with."""

from __future__ import annotations

import pytest
import torch

from train.config import SwapConfig
from train.objectives import Objective
from vae.config import ModelConfig
from vae.losses import LossConfig
from vae.models import build_model

EXPRESSIONS = ("happy", "sad", "neutral")


def swap_targets(targets: str, labels: torch.Tensor) -> torch.Tensor:
    """The expressions one training step decodes its swapped faces with."""
    torch.manual_seed(0)
    config = ModelConfig(
        kind="multi", image_size=16, channels=1, widths=(8, 16), latent_dim=8, expressions=EXPRESSIONS
    )
    swap = SwapConfig(adversary=0, guidance=0, realism=0, cycle=1, fraction=1.0, targets=targets)
    objective = Objective(build_model(config), LossConfig(), swap)
    seen: list[torch.Tensor] = []
    decode = objective.model.decode

    def recording_decode(z: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
        seen.append(expression)
        return decode(z, expression)

    objective.model.decode = recording_decode
    objective(torch.zeros(len(labels), 1, 16, 16), labels, step=0)
    reconstructed, swapped = seen  # each face through its own decoder, then the swap
    assert torch.equal(reconstructed, labels)
    return swapped


def test_uniform_targets_are_always_another_expression() -> None:
    labels = torch.arange(60) % len(EXPRESSIONS)
    targets = swap_targets("uniform", labels)
    assert (targets != labels).all() and set(targets.tolist()) == {0, 1, 2}


def test_data_targets_follow_the_batch() -> None:
    labels = torch.tensor([0] * 57 + [1] * 3)
    assert sorted(swap_targets("data", labels).tolist()) == sorted(labels.tolist())


def test_unknown_targets_are_refused() -> None:
    with pytest.raises(ValueError, match="uniform or data"):
        SwapConfig(targets="rare")
