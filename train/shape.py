"""Train the shape model (vae.shape_model.ShapeVAE) on the landmarks of FER2013 faces.

    python -m train.landmarks --data data/fer2013/fer2013.csv --out data/fer2013-landmarks.npz
    python -m train.shape --landmarks data/fer2013-landmarks.npz --out runs/fer-shape

Each face's landmarks go through the encoder and its own expression's decoder (a Gaussian
likelihood whose scale is calibrated per batch, as for the image models, plus the KL to N(0, I)).
A latent adversary reads the expression from the code through a reversed gradient, so the encoder
learns codes that do not say the expression, and the decoders must carry it. Faces are mirrored
for twice the data. Expressions are drawn in proportion to the square root of their frequency,
so disgust (1.5% of FER2013) is seen about four times as often as its share, without the few
hundred disgust shapes being repeated as often as the thousands of happy ones.
The model is written to OUT/model.safetensors after every epoch; a run takes a few minutes on a CPU.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from train.objectives import _ReverseGradient
from vae.checkpoint import save_model
from vae.face_shape import MIRROR, eye_distance, normalise
from vae.shape_model import ShapeConfig, ShapeVAE

MODEL_FILE = "model.safetensors"


@dataclass(frozen=True)
class ShapeTrainConfig:
    landmarks: str
    out: str = "runs/fer-shape"
    epochs: int = 40
    batch_size: int = 256
    lr: float = 2e-3
    labels: str = "ferplus"  # fer | ferplus: FER2013's own labels or the FER+ vote majority
    adversary: float = 30.0  # weight of the reversed expression cross-entropy on the code
    beta: float = 10.0  # weight of the KL: more squeezes the code, so the decoders must carry the expression
    latent_dim: int = 16
    hidden: int = 256
    seed: int = 0


@dataclass(frozen=True)
class ShapeData:
    shapes: torch.Tensor  # [N, 68, 2] normalised to the template
    labels: torch.Tensor  # [N]


def load_shapes(
    path: str | Path, split: int, mirror: bool, labels: str = "ferplus"
) -> tuple[ShapeData, np.ndarray, tuple[str, ...]]:
    """Kept faces of one split that have a label, normalised to the archive's template (and
    mirrored, for training)."""
    archive = dict(np.load(path))
    column = archive["ferplus_labels" if labels == "ferplus" else "labels"]
    template = archive["template"]
    chosen = archive["kept"] & (archive["split"] == split) & (column >= 0)
    points, labels = archive["points"][chosen], column[chosen]
    if mirror:
        flipped = points[:, MIRROR].copy()
        flipped[..., 0] = 47 - flipped[..., 0]  # FER2013 faces are 48 px wide, pixel centres at integers
        points, labels = np.concatenate([points, flipped]), np.concatenate([labels, labels])
    shapes = np.stack([normalise(p, template)[0] for p in points])
    data = ShapeData(torch.tensor(shapes, dtype=torch.float32), torch.tensor(labels, dtype=torch.long))
    return data, template, tuple(str(e) for e in archive["expressions"])


def epoch_order(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One epoch of face indices, each expression's share proportional to the square root of its count."""
    counts = torch.bincount(labels).float()
    weights = (counts.sqrt() / counts)[labels]
    return torch.multinomial(weights, len(labels), replacement=True, generator=generator)


def step_losses(
    model: ShapeVAE, adversary: nn.Module, shapes: torch.Tensor, labels: torch.Tensor
) -> dict[str, torch.Tensor]:
    own, mu, logvar = model(shapes, labels)
    error = ((own - shapes) / model.unit) ** 2  # in eye distances
    variance = error.mean().detach().clamp_min(1e-6)  # calibrated scale (sigma-VAE)
    nll = (0.5 * error / variance).sum((1, 2)).mean() + 0.5 * error[0].numel() * variance.log()
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1).mean()
    adversary_ce = F.cross_entropy(adversary(_ReverseGradient.apply(mu)), labels)
    return {"nll": nll, "kl": kl, "adversary_ce": adversary_ce, "rmse": variance.sqrt()}


@torch.no_grad()
def validate(model: ShapeVAE, data: ShapeData) -> dict[str, float]:
    """Held-out reconstruction error (eye distances) through the face's own decoder, and how often
    the decoder that reconstructs a face best is its labelled expression (chance: 1/7)."""
    model.eval()
    decoded = model.decode_all(model.encode(data.shapes)[0])
    errors = ((decoded - data.shapes[:, None]) / model.unit).pow(2).mean((2, 3))  # [N, E]
    own = errors[torch.arange(len(data.labels)), data.labels]
    model.train()
    return {
        "val_rmse": float(own.mean().sqrt()),
        "val_best_decoder_is_label": float((errors.argmin(1) == data.labels).float().mean()),
    }


MAX_GAIN = 3.0


@torch.no_grad()
def expression_gains(model: ShapeVAE, data: ShapeData) -> torch.Tensor:
    """Per expression, the least-squares scale that takes the decoders' mean departure from the mean
    of the seven onto the real faces' (each expression's mean shape minus the mean of those means),
    within 1..MAX_GAIN: a decoder is never drawn weaker than trained, nor more than 3 times."""
    model.eval()
    decoded = model.decode_all(model.encode(data.shapes)[0])
    drawn = (decoded - decoded.mean(1, keepdim=True)).mean(0)  # [E, points, 2]
    means = torch.stack([data.shapes[data.labels == k].mean(0) for k in range(len(model.expressions))])
    real = means - means.mean(0)
    gains = (drawn * real).sum((1, 2)) / (drawn * drawn).sum((1, 2)).clamp_min(1e-12)
    model.train()
    return gains.clamp(1.0, MAX_GAIN)


def train_shape_model(config: ShapeTrainConfig) -> Path:
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    train, template, expressions = load_shapes(config.landmarks, 0, mirror=True, labels=config.labels)
    val, _, _ = load_shapes(config.landmarks, 1, mirror=False, labels=config.labels)
    model = ShapeVAE(
        ShapeConfig(
            latent_dim=config.latent_dim,
            hidden=config.hidden,
            expressions=expressions,
        )
    )
    model.set_frame(torch.tensor(template, dtype=torch.float32), eye_distance(template))
    adversary = nn.Sequential(nn.Linear(config.latent_dim, 128), nn.SiLU(), nn.Linear(128, len(expressions)))
    optimiser = torch.optim.AdamW([*model.parameters(), *adversary.parameters()], lr=config.lr)
    batches = len(train.labels) // config.batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, config.lr, total_steps=config.epochs * batches)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        totals: dict[str, float] = {}
        order = epoch_order(train.labels, generator)
        for batch in order[: batches * config.batch_size].view(batches, -1):
            terms = step_losses(model, adversary, train.shapes[batch], train.labels[batch])
            loss = terms["nll"] + config.beta * terms["kl"] + config.adversary * terms["adversary_ce"]
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            for name, value in terms.items():
                totals[name] = totals.get(name, 0.0) + float(value.detach()) / batches
        metrics = {**{k: round(v, 4) for k, v in totals.items()}, **validate(model, val)}
        metrics["minutes"] = round((time.perf_counter() - started) / 60, 2)
        print(
            f"epoch {epoch}/{config.epochs} " + " ".join(f"{k} {v:.4g}" for k, v in metrics.items()),
            flush=True,
        )
        metadata = {"train_config": asdict(config), "epoch": epoch, "metrics": metrics}
        save_model(out / MODEL_FILE, model.eval(), metadata=metadata)
        model.train()
    model.gain.copy_(expression_gains(model, train))
    metrics["gains"] = dict(zip(expressions, [round(float(g), 3) for g in model.gain]))
    print("expression gains " + " ".join(f"{k} {v}" for k, v in metrics["gains"].items()))
    metadata = {"train_config": asdict(config), "epoch": config.epochs, "metrics": metrics}
    save_model(out / MODEL_FILE, model.eval(), metadata=metadata)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return out / MODEL_FILE


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m train.shape", description=__doc__.split("\n\n")[0])
    defaults = ShapeTrainConfig(landmarks="")
    p.add_argument("--landmarks", required=True, help="archive written by python -m train.landmarks")
    for name, value in asdict(defaults).items():
        if name != "landmarks":
            p.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = p.parse_args(argv)
    print(train_shape_model(ShapeTrainConfig(**vars(args))))


if __name__ == "__main__":
    main()
