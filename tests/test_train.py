"""The training CLI end to end on small synthetic data: learning, resume, torchrun, clear errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from train.augment import random_flip
from train.cli import config_from_args, main, parser, resumed_config
from train.config import SwapConfig, TrainConfig
from train.heldout import heldout_metrics
from train.trainer import STATE_FILE, Process, Trainer
from train.warm_start import warm_start
from vae.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_training_state,
    save_model,
    save_training_state,
)
from vae.config import ConfigError, ModelConfig
from vae.conv_vae import build_model
from vae.data import as_float
from vae.latent import sample_latents
from vae.losses import LossConfig

REPO = Path(__file__).resolve().parents[1]
TINY = ["--widths", "8,16,32,32", "--latent-dim", "16", "--batch-size", "32", "--threads", "1"]


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "train", *args], cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(run / "model.safetensors")


def test_one_epoch_lowers_the_heldout_loss_and_writes_every_artifact(fer_csv, tmp_path) -> None:
    config = TrainConfig(
        data=str(fer_csv),
        out=str(tmp_path / "run"),
        epochs=1,
        batch_size=32,
        widths=(8, 16, 32, 32),
        latent_dim=16,
        threads=1,
    )
    trainer = Trainer(config, Process())
    before = heldout_metrics(trainer.model, trainer.val_data.images, trainer.val_data.labels)
    history = trainer.run()
    after = heldout_metrics(trainer.model, trainer.val_data.images, trainer.val_data.labels)
    assert after["neg_elbo"] < before["neg_elbo"] and after["mse"] < before["mse"]
    assert [h["split"] for h in history] == ["train", "val"]
    run = tmp_path / "run"
    model = trainer.model.eval()

    saved = load_checkpoint(run / "model.safetensors", expect=trainer.model_config)
    assert saved.metadata["epochs"] == 1 and saved.metadata["metrics"] == history[-1]
    for name, value in model.state_dict().items():
        assert torch.equal(saved.model.state_dict()[name], value), name
    state = load_training_state(run / STATE_FILE)
    assert (state["epoch"], state["step"], state["history"]) == (1, trainer.steps_per_epoch, history)
    assert json.loads((run / "metrics.json").read_text()) == history
    assert history[-1] == {"epoch": 1, "split": "val", **after}

    # The grids show what the model draws: inputs over their reconstructions, and prior samples.
    preview = trainer.val_data.images[:8]
    with torch.inference_mode():
        recon = model.decode(model.encode(as_float(preview))[0])
        samples = model.decode(sample_latents(64, config.latent_dim, seed=config.seed))
    inputs, reconstructions = grid_faces(run / "recon_001.png", columns=8).split(8)
    assert torch.equal(inputs, preview[:, 0])  # 8-bit faces survive the PNG exactly
    assert (reconstructions.int() - to_uint8(recon)).abs().max() <= 1
    assert (grid_faces(run / "samples_001.png", columns=8).int() - to_uint8(samples)).abs().max() <= 1
    with Image.open(run / "loss_curves.png") as curves:  # one panel per logged quantity
        assert curves.width > 4 * curves.height and len(curves.getcolors(2**16)) > 16


def grid_faces(path: Path, columns: int, side: int = 48) -> torch.Tensor:
    """The grey faces of a torchvision grid (1-pixel padding), row by row: uint8 [N, side, side]."""
    with Image.open(path) as image:
        grid = torch.from_numpy(np.array(image.convert("L")))
    step = side + 1
    rows = (grid.shape[0] - 1) // step
    assert grid.shape == (rows * step + 1, columns * step + 1)
    return torch.stack(
        [
            grid[1 + r * step : r * step + step, 1 + c * step : c * step + step]
            for r in range(rows)
            for c in range(columns)
        ]
    )


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Model output in [-1, 1] as the grids store it: [N, side, side], 0..255."""
    return (images.clamp(-1, 1)[:, 0] + 1).mul(127.5).round().int()


def test_random_flip_mirrors_some_faces_of_a_batch_and_leaves_the_others() -> None:
    torch.manual_seed(0)
    faces = torch.randn(64, 1, 8, 8)
    flipped = random_flip(faces)
    mirrored = (flipped == faces.flip(-1)).flatten(1).all(1)
    kept = (flipped == faces).flatten(1).all(1)
    assert (mirrored | kept).all() and mirrored.any() and kept.any()


def test_multi_decoder_trains_with_the_swap_terms(fer_csv, tmp_path) -> None:
    args = "--model multi --epochs 1 --adversary 1 --guidance 1 --cycle 1 --realism 1".split()
    main(["--data", str(fer_csv), "--out", str(tmp_path), *args, *TINY])
    state = torch.load(tmp_path / "train_state.pt", weights_only=True)
    assert {h["split"] for h in state["history"]} == {"train", "val"}
    logged = state["history"][0]
    assert {"adversary_ce", "guide_swap_ce", "cycle_mse", "critic_loss", "realism"} <= set(logged)


@pytest.mark.slow
def test_bf16_mixed_precision_learns_keeps_float32_weights_and_resumes_in_bf16(fer_csv, tmp_path) -> None:
    run = ["--out", str(tmp_path), "--threads", "1"]
    main(["--data", str(fer_csv), "--model", "multi", "--epochs", "1", "--precision", "bf16", *TINY, *run])
    config = resumed_config(parser().parse_args(["--resume", "--epochs", "2", *run]))
    assert config.precision == "bf16"
    main(["--resume", "--epochs", "2", *run])
    state = torch.load(tmp_path / STATE_FILE, weights_only=True)
    first, second = [h["neg_elbo"] for h in state["history"] if h["split"] == "val"]
    assert second < first
    assert {t.dtype for t in weights(tmp_path).values() if t.is_floating_point()} == {torch.float32}


def test_an_unknown_precision_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="precision 'fp16'"):
        TrainConfig(data="faces.csv", precision="fp16")


def test_init_puts_a_trained_vae_in_every_expression_decoder(tmp_path) -> None:
    torch.manual_seed(0)
    config = ModelConfig(kind="vae", image_size=16, channels=1, widths=(8, 16), latent_dim=4)
    vae = build_model(config)
    vae(torch.randn(6, 1, 16, 16))  # training-mode pass: BatchNorm statistics that differ from init
    save_model(tmp_path / "vae.safetensors", vae.eval())
    multi = build_model(replace(config, kind="multi", expressions=("a", "b", "c"))).eval()
    warm_start(multi, tmp_path / "vae.safetensors")
    x, z = torch.randn(5, 1, 16, 16), torch.randn(5, 4)
    assert torch.allclose(multi.encode(x)[0], vae.encode(x)[0])
    for head in (0, 1, 2, torch.tensor([0, 1, 2, 0, 1])):
        assert torch.allclose(multi.decode(z, head), vae.decode(z), atol=1e-6)

    other = build_model(replace(config, kind="multi", latent_dim=8, expressions=("a", "b")))
    with pytest.raises(CheckpointError, match="latent_dim=4"):
        warm_start(other, tmp_path / "vae.safetensors")
    save_model(tmp_path / "ae.safetensors", build_model(replace(config, kind="ae")))
    with pytest.raises(CheckpointError, match="ae checkpoint lacks weights a multi model needs"):
        warm_start(multi, tmp_path / "ae.safetensors")


@pytest.mark.slow
def test_a_warm_started_run_resumes_without_its_init_file(fer_csv, tmp_path) -> None:
    main(["--data", str(fer_csv), "--out", str(tmp_path / "vae"), "--epochs", "1", *TINY])
    init = tmp_path / "vae.safetensors"
    (tmp_path / "vae" / "model.safetensors").rename(init)
    multi = ["--out", str(tmp_path / "multi"), *TINY]
    main(["--data", str(fer_csv), "--model", "multi", "--epochs", "1", "--init", str(init), *multi])
    init.unlink()
    main(["--resume", "--epochs", "2", *multi])
    assert torch.load(tmp_path / "multi" / STATE_FILE, weights_only=True)["epoch"] == 2


@pytest.mark.slow
def test_resume_after_sigkill_matches_an_uninterrupted_run(fer_csv, tmp_path) -> None:
    args = ["--data", str(fer_csv), "--epochs", "4", *TINY]
    assert run_cli(*args, "--out", str(tmp_path / "whole")).returncode == 0

    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "train", *args, "--out", str(killed)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not (killed / "train_state.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    state = torch.load(killed / "train_state.pt", weights_only=True)
    assert state["epoch"] < 4, "the run finished before it could be killed"

    resumed = run_cli("--out", str(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    whole, again = weights(tmp_path / "whole"), weights(killed)
    assert whole.keys() == again.keys()
    assert all(torch.equal(whole[k], again[k]) for k in whole)


@pytest.mark.slow
def test_a_run_stopped_mid_epoch_by_its_budget_resumes_exactly(fer_csv, tmp_path) -> None:
    args = ["--data", str(fer_csv), "--epochs", "2", *TINY]
    main([*args, "--out", str(tmp_path / "whole")])
    main([*args, "--out", str(tmp_path / "split"), "--max-minutes", "0.0001"])
    stopped = torch.load(tmp_path / "split" / "train_state.pt", weights_only=True)
    assert stopped["epoch"] == 0
    main(["--out", str(tmp_path / "split"), "--resume", "--max-minutes", "60"])
    whole, split = weights(tmp_path / "whole"), weights(tmp_path / "split")
    assert all(torch.equal(whole[k], split[k]) for k in whole)


@pytest.mark.slow
@pytest.mark.parametrize("model", [["--model", "vae"], ["--model", "multi", "--decoder-sharing", "none"]])
def test_torchrun_with_two_cpu_processes(fer_csv, tmp_path, model) -> None:
    """Separate decoders with every swap term is the hard case: parameters unused in some steps."""
    torchrun = Path(sys.executable).with_name("torchrun")
    args = ["--nproc_per_node", "2", "-m", "train", "--data", str(fer_csv), "--out", str(tmp_path)]
    result = subprocess.run(
        [str(torchrun), *args, "--epochs", "2", *model, *TINY],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    state = torch.load(tmp_path / "train_state.pt", weights_only=True)
    assert state["epoch"] == 2
    # Each process sees half the data: 224 faces / 2 processes / 32 per batch = 3 steps per epoch.
    assert state["step"] == 2 * 3
    assert "epoch 2:" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "/no/such/place"], "/no/such/place"),
        (["--out", "/no/such/run", "--resume"], "no training state"),
        (["--data", "{csv}", "--image-size", "50"], "divisible"),
        (["--data", "{csv}", "--batch-size", "100000"], "lower --batch-size"),
        (["--data", "{csv}", "--model", "multi", "--init", "/no/such.safetensors"], "/no/such.safetensors"),
    ],
)
def test_bad_input_gives_a_one_line_error(fer_csv, tmp_path, capsys, args, message) -> None:
    args = [a.replace("{csv}", str(fer_csv)) for a in args]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--out", str(tmp_path / "run")] if "--out" not in args else args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and err.startswith("error:")


def test_resume_keeps_the_run_config_but_takes_a_new_budget_and_swap_weight(tmp_path) -> None:
    original = TrainConfig(data="faces.csv", out="elsewhere", model="multi", epochs=8, lr=1e-3)
    save_training_state(tmp_path / STATE_FILE, {"train_config": original.to_dict()})
    args = parser().parse_args(["--out", str(tmp_path), "--resume", "--epochs", "12", "--guidance", "0.2"])
    config = resumed_config(args)
    expected_swap = replace(original.swap, guidance=0.2)
    assert config == replace(original, out=str(tmp_path), epochs=12, swap=expected_swap)


def test_every_config_field_is_a_flag_and_a_bare_command_line_gives_the_defaults() -> None:
    args = ["--data", "faces.csv"]
    assert config_from_args(parser().parse_args(args)) == TrainConfig(data="faces.csv")
    given = [
        *args, "--widths", "8,16", "--half", "--loss", "mse", "--mse-kl-weight", "2",
        "--swap-warmup", "7", "--swap-fraction", "0.25", "--swap-blur", "1", "--channels", "3",
    ]  # fmt: skip
    config = config_from_args(parser().parse_args(given))
    assert (config.widths, config.half, config.channels) == ((8, 16), True, 3)
    assert config.loss == LossConfig(kind="mse", mse_kl_weight=2.0)
    assert config.swap == replace(SwapConfig(), warmup_steps=7, fraction=0.25, blur=1.0)
    flags = {a.dest for a in parser()._actions}
    for section, config_type in (("", TrainConfig), ("loss.", LossConfig), ("swap.", SwapConfig)):
        options = {f.name for f in fields(config_type)} - {"loss", "swap"}
        assert {section + name for name in options} <= flags


def test_a_run_saved_under_the_old_option_names_resumes() -> None:
    saved = TrainConfig(data="faces.csv", preset="large128", loss=LossConfig(kind="mse")).to_dict()
    saved["preset"] = "simpsons"
    saved["loss"] = {"kind": "seed", "beta": 1.0, "warmup_steps": 0, "free_bits": 0.0, "seed_kl_weight": 1.7}
    assert TrainConfig.from_dict(saved) == TrainConfig(
        data="faces.csv", preset="large128", loss=LossConfig("mse")
    )
    saved["loss"]["free_bits"] = 0.5  # a run that used an option this version no longer has
    with pytest.raises(ConfigError, match="free_bits"):
        TrainConfig.from_dict(saved)


def test_resuming_a_run_saved_with_an_option_this_version_lacks_is_a_one_line_error(tmp_path, capsys) -> None:
    saved = TrainConfig(data="faces.csv", model="multi").to_dict()
    saved["swap"]["guide_radius"] = 0.0  # an option a later version removed
    save_training_state(tmp_path / STATE_FILE, {"train_config": saved})
    with pytest.raises(SystemExit) as exit_info:
        main(["--out", str(tmp_path), "--resume"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "guide_radius" in err and str(tmp_path / STATE_FILE) in err and "\n" not in err
