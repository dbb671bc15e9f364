"""BatchNorm running statistics describe real faces: the swap path leaves them alone, and a
checkpoint trained before that can have them re-estimated."""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from train.config import SwapConfig
from train.objectives import Objective
from train.recalibrate import main, recalibrate
from vae.checkpoint import load_checkpoint, save_model
from vae.config import ModelConfig
from vae.data import EXPRESSIONS, as_float
from vae.losses import LossConfig
from vae.models import build_model

CONFIG = ModelConfig(
    kind="multi", image_size=16, channels=1, widths=(8, 16), latent_dim=4, expressions=EXPRESSIONS
)


def running_statistics(module: nn.Module) -> list[torch.Tensor]:
    return [b.clone() for name, b in module.named_buffers() if name.endswith(("running_mean", "running_var"))]


def test_the_swap_path_leaves_the_running_statistics_to_the_real_faces() -> None:
    x, labels = torch.rand(16, 1, 16, 16) * 2 - 1, torch.arange(16) % len(EXPRESSIONS)
    swapping = SwapConfig(adversary=0.1, guidance=0.1, cycle=0.1, realism=0.1, warmup_steps=0)
    statistics, logged = [], []
    for swap in (swapping, SwapConfig(adversary=0.1, guidance=0, cycle=0, realism=0)):
        torch.manual_seed(0)
        objective = Objective(build_model(CONFIG), LossConfig(), swap)
        torch.manual_seed(1)
        logged.append(set(objective(x, labels, step=10)))
        statistics.append(running_statistics(objective.model))
    assert "cycle_mse" in logged[0] and "cycle_mse" not in logged[1]
    with_swaps, without = statistics
    for a, b in zip(with_swaps, without, strict=True):
        assert torch.equal(a, b)
    momenta = {m.momentum for m in objective.model.modules() if isinstance(m, nn.BatchNorm2d)}
    assert momenta == {0.1}  # restored after the swap path


def test_recalibrate_averages_the_statistics_over_the_faces_and_keeps_eval_mode() -> None:
    torch.manual_seed(0)
    model = build_model(CONFIG)
    model(torch.randn(32, 1, 16, 16) * 5, torch.zeros(32, dtype=torch.long))  # statistics of other inputs
    model.eval()
    images = torch.randint(0, 256, (40, 1, 16, 16), dtype=torch.uint8)
    recalibrate(model, images, torch.arange(40) % len(EXPRESSIONS), batch_size=8)  # equal batches
    assert not model.training
    first_conv, first_norm = model.encoder.features[0], model.encoder.features[1]
    with torch.no_grad():
        features = first_conv(as_float(images))
    assert torch.allclose(first_norm.running_mean, features.mean((0, 2, 3)), atol=1e-5)


def test_the_command_rewrites_the_checkpoint_and_keeps_its_extras(fer_csv, tmp_path, capsys) -> None:
    config = replace(CONFIG, image_size=48)
    torch.manual_seed(0)
    model = build_model(config)
    path = tmp_path / "model.safetensors"
    directions = torch.randn(3, config.latent_dim)
    save_model(path, model.eval(), {"train_config": {"labels": "fer"}}, {"directions": directions})
    main([str(path), "--data", str(fer_csv)])
    out = capsys.readouterr().out
    assert "BatchNorm statistics from 224 training faces" in out and "reconstruction MSE" in out
    loaded = load_checkpoint(path)
    assert loaded.metadata["batchnorm_recalibrated"] == 224
    assert torch.equal(loaded.extras["directions"], directions)
    assert not torch.equal(
        loaded.model.encoder.features[1].running_mean, model.encoder.features[1].running_mean
    )
