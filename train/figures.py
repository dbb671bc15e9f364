"""Figures for the README and the model cards, drawn from a checkpoint and held-out faces.

    python -m train.figures checkpoints/fer-multi.safetensors --data fer2013.csv --out runs/figures

Writes `<name>-reconstructions.png`, `<name>-samples.png` (temperatures 0.5, 0.8, 1.0) and, for a
multi-decoder model, `<name>-expressions.png` (held-out faces, one from each source expression plus
one more, each through all 7 decoders) and `<name>-astronaut.png` (skimage's portrait detected,
framed by its landmarks as the model's training faces were, and swapped by the pasted-face swap,
vae.swap). Held-out faces are the data's test split, never seen in training. The
reconstruction and expression grids show faces of the data set, whose licence allows research use
only: they belong under the git-ignored runs/, not in the repository; samples and the astronaut
(a NASA photo in the public domain) may be published.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from skimage.data import astronaut

from train.evaluate import add_detail_option, strength_arg
from vae.checkpoint import CheckpointError, load_checkpoint
from vae.conv_vae import ConvVAE
from vae.data import DataConfig, DataError, FaceData, as_float, load_faces, to_uint8
from vae.faces import Framing, NoFaceError
from vae.latent import CodeDistribution
from vae.multi_decoder import MultiDecoderVAE
from vae.swap import prepare_photo

TEMPERATURES = (0.5, 0.8, 1.0)
FACES = 8


def pick_faces(data: FaceData, count: int = FACES) -> torch.Tensor:
    """Indices of the first held-out face of each expression, then the next ones: every source shows."""
    chosen: list[int] = []
    if data.labels is not None:
        for k in range(int(data.labels.max()) + 1):
            hits = (data.labels == k).nonzero().flatten()
            if len(hits):
                chosen.append(int(hits[0]))
    chosen += [i for i in range(len(data)) if i not in chosen][: count - len(chosen)]
    return torch.tensor(chosen[:count])


def rows_of(images: list[torch.Tensor]) -> np.ndarray:
    """Rows of model-space faces [N, C, H, W] -> uint8 [rows, N, H, W(, 3)] for `show`."""
    return np.stack([to_uint8(row) for row in images])


def show(images: np.ndarray, path: Path, rows: list[str], columns: list[str]) -> None:
    """A labelled grid: `images` is [rows, columns, H, W(, 3)] uint8."""
    n_rows, n_cols = images.shape[:2]
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols, 1.1 * n_rows), squeeze=False)
    for r in range(n_rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.imshow(images[r, c], cmap="gray" if images.ndim == 4 else None, vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0 and columns[c]:
                ax.set_title(columns[c], fontsize=8)
            if c == 0 and rows[r]:
                ax.set_ylabel(rows[r], fontsize=8)
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def decode_for_labels(model: ConvVAE, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    if isinstance(model, MultiDecoderVAE):
        return model.decode(z, labels)
    return model.decode(z)


@torch.inference_mode()
def reconstructions(model: ConvVAE, data: FaceData, path: Path) -> None:
    """Held-out faces (top) and their reconstructions (below), through their own expression decoder."""
    index = pick_faces(data)
    x = as_float(data.images[index])
    labels = data.labels[index] if data.labels is not None else None
    recon = decode_for_labels(model, model.encode(x)[0], labels)
    show(rows_of([x, recon]), path, ["held-out", "reconstruction"], [""] * len(x))


@torch.inference_mode()
def samples(model: ConvVAE, codes: CodeDistribution, path: Path, per_row: int = FACES, seed: int = 0) -> None:
    """Random faces as the demo draws them, one row per temperature, the same seed so only the
    spread changes (a multi-decoder model draws them through its neutral decoder)."""
    multi = isinstance(model, MultiDecoderVAE)
    neutral = torch.full((per_row,), model.expressions.index("neutral")) if multi else None
    rows = [decode_for_labels(model, codes.sample(per_row, t, seed), neutral) for t in TEMPERATURES]
    show(rows_of(rows), path, [f"T = {t}" for t in TEMPERATURES], [""] * per_row)


@torch.inference_mode()
def expressions(model: MultiDecoderVAE, data: FaceData, path: Path, strength: float, detail: float) -> None:
    """Each held-out face (first column) decoded by every expression decoder."""
    x = as_float(data.images[pick_faces(data)])
    grid = torch.cat([x[:, None], model.swap(x, strength, detail)], dim=1)
    show(rows_of(list(grid)), path, [""] * len(x), ["held-out", *model.expressions])


@torch.inference_mode()
def astronaut_swap(
    model: MultiDecoderVAE, framing: Framing, path: Path, strength: float, detail: float
) -> None:
    """The portrait, the face as the model sees it, and the face swapped into each expression."""
    photo = astronaut()
    prepared = prepare_photo(photo, model, framing, detail)
    k = 0
    face = prepared.faces[k]
    swaps = [prepared.render(e, strength) for e in model.expressions]
    drawn = prepared.grids(strength)
    box = face.box
    top, bottom = max(0, box.y - box.h // 2), min(photo.shape[0], box.y + box.h + box.h // 2)
    left, right = max(0, box.x - box.w // 2), min(photo.shape[1], box.x + box.w + box.w // 2)
    crops = [image[top:bottom, left:right] for image in [photo, *swaps]]
    fig, axes = plt.subplots(2, 8, figsize=(12, 3.4))
    axes[0, 0].imshow(photo)
    axes[0, 0].add_patch(plt.Rectangle((box.x, box.y), box.w, box.h, fill=False, color="lime", lw=1.5))
    axes[0, 0].set_title("detected", fontsize=8)
    axes[1, 0].imshow(face.image, cmap="gray")
    axes[1, 0].set_title("framed", fontsize=8)
    for i, expression in enumerate(model.expressions, start=1):
        axes[0, i].imshow(drawn[k, i - 1], cmap="gray")
        axes[0, i].set_title(expression, fontsize=8)
        axes[1, i].imshow(crops[i])
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 1].set_ylabel("decoded", fontsize=8)
    axes[1, 1].set_ylabel("pasted back", fontsize=8)
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m train.figures", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--data", required=True, help="the data the model was trained on (its test split is used)")
    p.add_argument("--out", default="runs/figures")
    p.add_argument(
        "--strength", type=strength_arg, default=1.0, help="expression strength of the swaps (default: 1)"
    )
    add_detail_option(p)
    args = p.parse_args(argv)
    try:
        checkpoint = load_checkpoint(args.checkpoint)
        model, config = checkpoint.model.eval(), checkpoint.config
        data = load_faces(
            DataConfig(args.data, split="test", image_size=config.image_size, channels=config.channels)
        )
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        name = Path(args.checkpoint).stem
        reconstructions(model, data, out / f"{name}-reconstructions.png")
        samples(model, CodeDistribution.of(checkpoint), out / f"{name}-samples.png")
        if isinstance(model, MultiDecoderVAE):
            expressions(model, data, out / f"{name}-expressions.png", args.strength, args.detail)
            framing = Framing.of(checkpoint)
            astronaut_swap(model, framing, out / f"{name}-astronaut.png", args.strength, args.detail)
    except (CheckpointError, DataError, NoFaceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
