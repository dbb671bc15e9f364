"""The training loop: data, model, optimiser, checkpoints, resume, grids, curves.

Runs as one process, or under `torchrun --nproc_per_node N` as N processes with
DistributedDataParallel (gloo on CPU, NCCL on GPUs). Only rank 0 writes files.

Resuming is exact: the per-epoch data order comes from (seed, epoch), and a checkpoint records
the position inside the epoch and the RNG state, so a killed run that resumes ends with the same
weights as one that was never interrupted.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from train import artifacts
from train.augment import random_flip
from train.config import TrainConfig
from train.heldout import heldout_metrics
from train.objectives import Objective
from train.warm_start import warm_start
from vae.checkpoint import CheckpointError, load_training_state, save_model, save_training_state
from vae.config import ModelConfig, preset
from vae.conv_vae import build_model, count_parameters
from vae.data import EXPRESSIONS, DataConfig, DataError, FaceData, as_float, detect_layout, load_faces

STATE_FILE = "train_state.pt"
MODEL_FILE = "model.safetensors"
VAL_FACES = 2000  # validation subset evaluated after each epoch: enough for stable numbers, quick


@dataclass
class Process:
    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0


def start_process(threads: int | None) -> Process:
    """Join the process group when launched by torchrun; a plain run is a group of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if threads:
        torch.set_num_threads(threads)
    elif world > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    if world == 1:
        return Process(device=torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    rank = dist.get_rank()
    device = torch.device("cpu")
    if backend == "nccl":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    return Process(rank, world, device)


FER_LAYOUTS = ("fer2013-csv", "fer2013-folders")  # the layouts with expression labels


def resolve_model_config(config: TrainConfig, layout: str) -> ModelConfig:
    """The architecture: a preset, the data's native framing, then explicit overrides.

    FER2013 (the only layout with expression labels) defaults to its native 48x48 grayscale.
    """
    native = layout in FER_LAYOUTS
    overrides: dict[str, Any] = {
        "kind": config.model,
        "image_size": config.image_size or (48 if native else None),
        "channels": config.channels or (1 if native else None),
        "latent_dim": config.latent_dim,
        "widths": config.widths,
        "likelihood": config.likelihood,
        "output_scale": config.output_scale,
        "decoder_sharing": config.decoder_sharing,
    }
    if config.model == "multi":
        if not native:
            raise DataError(
                f"{config.data}: the multi-decoder model needs expression labels (FER2013 layouts)"
            )
        overrides["expressions"] = EXPRESSIONS
    return preset(config.preset, **{k: v for k, v in overrides.items() if v is not None})


def load_split(config: TrainConfig, split: str, size: int, channels: int, limit: int | None) -> FaceData:
    return load_faces(
        DataConfig(
            path=config.data,
            layout=config.layout,
            split=split,
            image_size=size,
            channels=channels,
            limit=limit,
            labels=config.labels,
        )
    )


class Trainer:
    def __init__(self, config: TrainConfig, process: Process) -> None:
        self.config = config
        self.process = process
        self.out = Path(config.out)
        torch.manual_seed(config.seed)
        self.model_config = resolve_model_config(config, detect_layout(config.data, config.layout))
        size, channels = self.model_config.image_size, self.model_config.channels
        self.train_data = load_split(config, "train", size, channels, config.limit)
        self.val_data = load_split(config, "val", size, channels, VAL_FACES)
        self.model = build_model(self.model_config).to(process.device)
        # channels-last lets oneDNN pick its fast kernels (about 1.2x per step on CPU, see bench/).
        self.objective = Objective(self.model, config.loss, config.swap, config.precision).to(
            process.device, memory_format=torch.channels_last
        )
        # Separate decoders skip a step whenever their expression is not in the batch.
        sparse = self.model_config.kind == "multi" and self.model_config.decoder_sharing == "none"
        self.wrapped = (
            DistributedDataParallel(self.objective, find_unused_parameters=sparse)
            if process.world > 1
            else self.objective
        )
        self.optimizer = torch.optim.Adam(self.objective.parameters(), lr=config.lr)
        self.sampler = DistributedSampler(
            range(len(self.train_data)),
            num_replicas=process.world,
            rank=process.rank,
            shuffle=True,
            seed=config.seed,
            drop_last=True,
        )
        self.steps_per_epoch = len(self.sampler) // config.batch_size
        if self.steps_per_epoch == 0:
            raise DataError(
                f"{self.train_data.source}: {len(self.train_data)} faces is less than one batch of "
                f"{config.batch_size} per process; lower --batch-size"
            )
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.history: list[dict[str, Any]] = []
        self.preview = self.val_data.subset(torch.arange(min(8, len(self.val_data))))

    # -- state ------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "train_config": self.config.to_dict(),
            "model_config": self.model_config.to_dict(),
            "objective": self.objective.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "step": self.step,
            "rng": torch.get_rng_state(),
            "history": self.history,
        }

    def restore(self, state: dict[str, Any]) -> None:
        if state["model_config"] != self.model_config.to_dict():
            raise CheckpointError(
                f"{self.out / STATE_FILE}: was trained with model {state['model_config']}, "
                f"but these options build {self.model_config.to_dict()}"
            )
        self.objective.load_state_dict(state["objective"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.batch_in_epoch, self.step = state["epoch"], state["batch_in_epoch"], state["step"]
        self.history = list(state["history"])
        torch.set_rng_state(state["rng"])

    def save(self) -> None:
        if not self.process.main:
            return
        save_training_state(self.out / STATE_FILE, self.state())
        metadata = {
            "data": f"{Path(self.config.data).name}: {len(self.train_data)} training faces",
            "epochs": self.epoch + self.batch_in_epoch / self.steps_per_epoch,
            "steps": self.step,
            "half": self.config.half,
            "train_config": self.config.to_dict(),
            "metrics": next((h for h in reversed(self.history) if h["split"] == "val"), {}),
        }
        save_model(self.out / MODEL_FILE, self.model, metadata, half=self.config.half)

    # -- loop -------------------------------------------------------------------------------
    def run(self) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 60 * self.config.max_minutes if self.config.max_minutes else math.inf
        if self.process.main:
            self.out.mkdir(parents=True, exist_ok=True)
            print(
                f"model {self.model_config.kind}: {count_parameters(self.model):,} parameters; "
                f"data {self.train_data.source}: {len(self.train_data)} train, {len(self.val_data)} val",
                flush=True,
            )
        while self.epoch < self.config.epochs:
            finished = self.train_epoch(deadline)
            if not finished:
                self.save()
                if self.process.main:
                    print(
                        f"stopped by --max-minutes in epoch {self.epoch + 1}; --resume continues", flush=True
                    )
                break
            self.epoch, self.batch_in_epoch = self.epoch + 1, 0
            self.end_of_epoch()
        return self.history

    def train_epoch(self, deadline: float) -> bool:
        """Train from the saved position to the end of the epoch; False if the deadline came first."""
        self.objective.train()
        self.sampler.set_epoch(self.epoch)
        order = torch.tensor(list(self.sampler))
        size = self.config.batch_size
        sums: dict[str, float] = {}
        bar = tqdm(
            range(self.batch_in_epoch, self.steps_per_epoch),
            desc=f"epoch {self.epoch + 1}/{self.config.epochs}",
            disable=not self.process.main,
            mininterval=1.0 if sys.stderr.isatty() else 30.0,
            leave=False,
        )
        for batch in bar:
            if self.agree(time.monotonic() > deadline):
                return False
            index = order[batch * size : (batch + 1) * size]
            x = as_float(self.train_data.images[index]).to(
                self.process.device, memory_format=torch.channels_last
            )
            x = random_flip(x)
            labels = self.train_data.labels[index].to(self.process.device)
            self.set_learning_rate()
            logs = self.wrapped(x, labels, self.step)
            self.optimizer.zero_grad(set_to_none=True)
            logs["loss"].backward()
            torch.nn.utils.clip_grad_norm_(self.objective.parameters(), 1e4)
            self.optimizer.step()
            self.step += 1
            self.batch_in_epoch = batch + 1
            for key, value in logs.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
            bar.set_postfix(
                loss=f"{float(logs['loss'].detach()):.1f}",
                kl=f"{float(logs['kl'].detach()):.1f}",
                refresh=False,
            )
        # A resumed epoch averages the batches this process ran (those before the restart are lost).
        count = max(len(bar), 1)
        train_logs = {k: v / count for k, v in sums.items()}
        train_logs["neg_elbo"] = train_logs["nll"] + train_logs["kl"]
        self.history.append({"epoch": self.epoch + 1, "split": "train", **train_logs})
        return True

    def set_learning_rate(self) -> None:
        """Cosine decay to 5% over the planned steps, computed from the step alone, so a run resumed
        with more --epochs stretches its schedule instead of restarting or overshooting it."""
        progress = min(1.0, self.step / (self.config.epochs * self.steps_per_epoch))
        low = 0.05 * self.config.lr
        lr = low + (self.config.lr - low) * 0.5 * (1.0 + math.cos(math.pi * progress))
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def agree(self, stop: bool) -> bool:
        """Every process stops at the same step, or those still running would wait forever."""
        if self.process.world == 1:
            return stop
        flag = torch.tensor(float(stop), device=self.process.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def end_of_epoch(self) -> None:
        if not self.process.main:
            return
        metrics = heldout_metrics(self.model, self.val_data.images, self.val_data.labels)
        self.history.append({"epoch": self.epoch, "split": "val", **metrics})
        self.save()
        tag = f"{self.epoch:03d}"
        images = as_float(self.preview.images).to(self.process.device)
        artifacts.reconstruction_grid(self.model, images, self.out / f"recon_{tag}.png")
        artifacts.sample_grid(self.model, self.out / f"samples_{tag}.png", seed=self.config.seed)
        artifacts.loss_curves(self.history, self.out / "loss_curves.png")
        artifacts.write_json(self.history, self.out / "metrics.json")
        shown = {k: metrics[k] for k in ("neg_elbo", "bits_per_dim", "kl", "mse", "psnr", "active_units")}
        print(f"epoch {self.epoch}: " + "  ".join(_fmt(k, v) for k, v in shown.items()), flush=True)


def _fmt(key: str, value: float | None) -> str:
    if value is None:
        return f"{key} n/a"
    return f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"


def train(config: TrainConfig, resume: bool = False) -> list[dict[str, Any]]:
    process = start_process(config.threads)
    try:
        trainer = Trainer(config, process)
        if resume:
            trainer.restore(load_training_state(trainer.out / STATE_FILE))
        elif config.init:  # a resumed run has its own weights and no longer needs the --init file
            warm_start(trainer.model, config.init)
        return trainer.run()
    finally:
        if process.world > 1:
            dist.destroy_process_group()
