"""python -m train.recalibrate: BatchNorm running statistics re-estimated on real training faces.

    python -m train.recalibrate checkpoints/fer-multi.safetensors --data data/fer2013/fer2013.csv

In training mode BatchNorm normalises with each batch's own statistics and keeps running averages
for eval mode, which is how every held-out number, the demo and the exported model see the network.
The multi-decoder's swap path also runs in training mode: the encoder on blurred swapped faces (the
cycle term) and the decoders on other expressions' codes. Until Session 14 those passes updated the
running averages too, so eval mode normalised real faces with statistics partly taken from blurred
ones (docs/swap-design.md, Session 14). Training now keeps them out (`running_statistics_frozen`);
this command mends a checkpoint trained before, in place, keeping its metadata and slider
directions (run `python -m train.directions` after it: the codes move a little).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from train.heldout import heldout_metrics
from vae.checkpoint import CheckpointError, load_checkpoint, save_model
from vae.conv_vae import ConvVAE
from vae.data import DataConfig, DataError, as_float, load_faces


def _norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@contextmanager
def running_statistics_frozen(module: nn.Module) -> Iterator[None]:
    """Batch statistics still normalise; the running averages (eval mode's) stay as they are."""
    norms = _norms(module)
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum


@torch.no_grad()
def recalibrate(model: ConvVAE, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 128) -> None:
    """Running averages set to the mean of the batches' statistics over `images` (uint8), as
    training mode sees them: each face through the encoder and, for a multi-decoder, its own
    expression's decoder.

    torch.optim.swa_utils.update_bn does this for models called with one input; the multi-decoder
    also needs each face's expression.
    """
    norms = _norms(model)
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over every batch
    was_training = model.training
    model.train()
    multi = model.config.kind == "multi"
    for start in range(0, len(images), batch_size):
        x = as_float(images[start : start + batch_size])
        model(x, labels[start : start + batch_size] if multi else None)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.train(was_training)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m train.recalibrate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--data", required=True, help="the data the model was trained on")
    p.add_argument("--labels", default=None, help="fer | ferplus (default: the run's own)")
    args = p.parse_args(argv)
    try:
        checkpoint = load_checkpoint(args.checkpoint)
        config = checkpoint.config
        labels = args.labels or checkpoint.metadata.get("train_config", {}).get("labels", "fer")
        train_faces, val_faces = (
            load_faces(
                DataConfig(
                    args.data,
                    split=split,
                    image_size=config.image_size,
                    channels=config.channels,
                    labels=labels,
                )
            )
            for split in ("train", "val")
        )
    except (CheckpointError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    model = checkpoint.model
    before = heldout_metrics(model, val_faces.images, val_faces.labels)["mse"]
    recalibrate(model, train_faces.images, train_faces.labels)
    after = heldout_metrics(model, val_faces.images, val_faces.labels)["mse"]
    metadata = {**checkpoint.metadata, "batchnorm_recalibrated": len(train_faces)}
    save_model(args.checkpoint, model, metadata, checkpoint.extras, half=bool(metadata.get("half")))
    print(f"{args.checkpoint}: BatchNorm statistics from {len(train_faces)} training faces")
    print(f"held-out ({val_faces.source}) reconstruction MSE {before:.4f} -> {after:.4f}")


if __name__ == "__main__":
    main()
