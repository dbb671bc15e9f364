"""python -m train.classifier: train the expression classifier that judges the swap.

Trained on the FER2013 training split only; the held-out split it is evaluated on is the one the
swap is judged on. Classes are weighted by inverse square-root frequency so that disgust (1.5% of
FER2013) is not ignored without letting its 436 faces dominate.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from train.augment import jitter, random_flip
from vae.checkpoint import save_model
from vae.classifier import ClassifierConfig, ExpressionClassifier
from vae.data import EXPRESSIONS, DataConfig, DataError, as_float, load_faces


@torch.inference_mode()
def predict(classifier: ExpressionClassifier, images: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Class predictions for float images in [-1, 1]."""
    classifier.eval()
    return torch.cat([classifier(b).argmax(1) for b in images.split(batch_size)])


def per_class_accuracy(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int) -> list[float]:
    return [float((predicted[labels == k] == k).float().mean()) for k in range(num_classes)]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m train.classifier", description=__doc__)
    p.add_argument("--data", required=True, help="FER2013 csv or train|test folders")
    p.add_argument("--out", default="runs/classifier/classifier.safetensors")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-minutes", type=float)
    p.add_argument("--limit", type=int, help="use only the first N training faces")
    p.add_argument(
        "--labels", default="fer", choices=["fer", "ferplus"], help="FER2013 or FER+ majority labels"
    )
    p.add_argument(
        "--widths", type=lambda s: tuple(int(w) for w in s.split(",")), help="stage widths, e.g. 48,96,192"
    )
    args = p.parse_args(argv)
    torch.manual_seed(args.seed)
    config = ClassifierConfig(widths=args.widths) if args.widths else ClassifierConfig()
    try:
        train_set = load_faces(
            DataConfig(
                args.data, split="train", image_size=48, channels=1, limit=args.limit, labels=args.labels
            )
        )
        val_set = load_faces(
            DataConfig(args.data, split="val", image_size=48, channels=1, labels=args.labels)
        )
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if train_set.label_names != EXPRESSIONS:
        print(f"error: {train_set.source} has no FER2013 expression labels", file=sys.stderr)
        raise SystemExit(2)

    model = ExpressionClassifier(config)
    counts = torch.bincount(train_set.labels, minlength=len(EXPRESSIONS)).float().clamp_min(1)
    weights = (counts.sum() / counts).sqrt()
    weights = weights / weights.mean()
    steps = args.epochs * (len(train_set) // args.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=max(steps, 1))
    deadline = time.monotonic() + 60 * args.max_minutes if args.max_minutes else math.inf
    val_images = as_float(val_set.images)
    best = -1.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(train_set))
        batches = order[: len(order) // args.batch_size * args.batch_size].view(-1, args.batch_size)
        for index in tqdm(batches, desc=f"epoch {epoch}/{args.epochs}", leave=False, mininterval=5):
            x = jitter(random_flip(as_float(train_set.images[index])), shift=4, noise=0.02)
            loss = F.cross_entropy(model(x), train_set.labels[index], weight=weights, label_smoothing=0.1)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        predicted = predict(model, val_images)
        accuracy = float((predicted == val_set.labels).float().mean())
        per_class = per_class_accuracy(predicted, val_set.labels, len(EXPRESSIONS))
        print(
            f"epoch {epoch}: val accuracy {accuracy:.3f}  per class "
            + " ".join(f"{n} {a:.2f}" for n, a in zip(EXPRESSIONS, per_class)),
            flush=True,
        )
        if accuracy > best:
            best = accuracy
            metadata = {
                "data": train_set.source,
                "labels": args.labels,
                "epochs": epoch,
                "val_accuracy": accuracy,
                "val_per_class": dict(zip(EXPRESSIONS, per_class)),
            }
            save_model(Path(args.out), model, metadata)
        if time.monotonic() > deadline:
            print("stopped by --max-minutes", flush=True)
            break
    print(f"best val accuracy {best:.3f} -> {args.out}")


if __name__ == "__main__":
    main()
