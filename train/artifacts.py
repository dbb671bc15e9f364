"""Pictures and numbers a run leaves behind: grids of faces, loss curves, metrics JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display here, nor on most training machines
import matplotlib.pyplot as plt
import torch
from torchvision.utils import save_image

from vae.conv_vae import ConvVAE
from vae.latent import sample_latents


def to_unit(images: torch.Tensor) -> torch.Tensor:
    return (images.clamp(-1, 1) + 1) / 2


@torch.inference_mode()
def reconstruction_grid(model: ConvVAE, images: torch.Tensor, path: Path) -> None:
    """Top row: inputs. Below: reconstructions, or for a multi-decoder model one row per expression."""
    model.eval()
    mu, _ = model.encode(images)
    if model.config.kind == "multi":
        rows = model.decode_all(mu).transpose(0, 1).flatten(0, 1)
    else:
        rows = model.decode(mu)
    save_image(to_unit(torch.cat([images, rows])), path, nrow=len(images), padding=1)


@torch.inference_mode()
def sample_grid(model: ConvVAE, path: Path, n: int = 8, temperature: float = 1.0, seed: int = 0) -> None:
    """Faces from the prior; for a multi-decoder model, one row per expression over the same codes."""
    model.eval()
    if model.config.kind == "multi":
        z = sample_latents(n, model.config.latent_dim, temperature, seed)
        images = model.decode_all(z).transpose(0, 1).flatten(0, 1)
    else:
        images = model.decode(sample_latents(n * n, model.config.latent_dim, temperature, seed))
    save_image(to_unit(images), path, nrow=n, padding=1)


def loss_curves(history: list[dict[str, Any]], path: Path) -> None:
    """One panel per logged quantity, train and validation side by side, against epoch."""
    keys = [k for k in ("neg_elbo", "nll", "kl", "mse", "active_units") if any(k in h for h in history)]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for split, style in (("train", "-"), ("val", "--")):
            points = [(h["epoch"], h[key]) for h in history if h.get("split") == split and key in h]
            if points:
                ax.plot(*zip(*points), style, marker=".", label=split)
        ax.set_title(key)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_json(data: Any, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")
