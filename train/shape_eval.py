"""python -m train.shape_eval: does a shape model give faces a new expression, in landmarks alone?

    python -m train.shape_eval checkpoints/fer-shape.safetensors --landmarks data/fer2013-landmarks.npz

On held-out FER2013 faces (PublicTest, FER+ majority labels), each face's landmarks are moved as the
photo edit moves them (vae.photo_edit: the target decoding minus the decoding of the face's present
expression, at each strength) and read by a small classifier of shapes, trained here on the real
training shapes (class-balanced). Printed per expression, beside that classifier's reading of real
held-out shapes: how often an edited shape reads as its target; how much of the real difference
between each expression's mean shape and the neutral one the decoders reproduce (the projection of
the decoded difference on the real one, before the expression gains: 1 is all of it);
and how much the decoded expression offsets
vary from face to face (eye distances; 0 would be one mean offset for everybody).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from train.shape import ShapeData, load_shapes
from vae.checkpoint import load_checkpoint
from vae.photo_edit import DEFAULT_STRENGTH, exaggerate, present_weights
from vae.shape_model import ShapeVAE


@torch.enable_grad()
def shape_classifier(train: ShapeData, template: torch.Tensor, unit: float, seed: int = 0) -> nn.Module:
    """An MLP reading expressions from landmarks (offsets from the template, in eye distances)."""
    torch.manual_seed(seed)
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(136, 256), nn.ReLU(), nn.Linear(256, 7))
    optimiser = torch.optim.Adam(classifier.parameters(), 1e-3, weight_decay=1e-4)
    x = (train.shapes - template) / unit
    weight = 1 / torch.bincount(train.labels, minlength=7).float().clamp_min(1)
    for _ in range(30):
        for batch in torch.randperm(len(x)).split(256):
            loss = F.cross_entropy(classifier(x[batch]), train.labels[batch], weight=weight / weight.mean())
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return classifier.eval()


@torch.no_grad()
def shape_metrics(model: ShapeVAE, landmarks: str, strengths: list[float]) -> dict[str, list[float]]:
    train, _, expressions = load_shapes(landmarks, 0, mirror=True)
    val, _, _ = load_shapes(landmarks, 1, mirror=False)
    unit, template = float(model.unit), model.template
    classifier = shape_classifier(train, template, unit)

    def reads(shapes: torch.Tensor) -> torch.Tensor:
        return classifier((shapes - template) / unit).argmax(1)

    real = reads(val.shapes)
    result = {"real": [float((real[val.labels == k] == k).float().mean()) for k in range(len(expressions))]}
    raw = model.decode_all(model.encode(val.shapes)[0])
    decoded, calibrated = raw.double().numpy(), model.calibrated(raw).double().numpy()
    shapes = val.shapes.double().numpy()
    errors = (((decoded - shapes[:, None]) / unit) ** 2).mean((2, 3))
    present = np.stack([present_weights(e) for e in errors])
    for strength in strengths:  # as vae.photo_edit moves a face's landmarks
        moved = exaggerate(calibrated.transpose(1, 0, 2, 3), strength).transpose(1, 0, 2, 3)
        before = np.einsum("ne,nepc->npc", present, calibrated)
        result[f"edited, strength {strength:g}"] = [
            float(
                (reads(torch.tensor(shapes + moved[:, k] - before, dtype=torch.float32)) == k).float().mean()
            )
            for k in range(len(expressions))
        ]
    labels = val.labels.numpy()
    neutral = expressions.index("neutral")
    means = np.stack([shapes[labels == k].mean(0) for k in range(len(expressions))])
    decoded_means = decoded.mean(0)
    ratios = []
    for k in range(len(expressions)):
        real_difference = (means[k] - means[neutral]).ravel()
        decoded_difference = (decoded_means[k] - decoded_means[neutral]).ravel()
        norm = real_difference @ real_difference
        ratios.append(float(decoded_difference @ real_difference / norm) if norm > 0 else float("nan"))
    result["decoded share of the real difference"] = ratios
    offsets = decoded - decoded.mean(1, keepdims=True)
    variation = np.linalg.norm(offsets - offsets.mean(0), axis=(2, 3)).mean(0) / unit
    result["face-to-face variation of the offsets"] = [float(v) for v in variation]
    return result | {"expressions": list(expressions)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m train.shape_eval", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("--landmarks", required=True, help="archive written by python -m train.landmarks")
    p.add_argument(
        "--strengths",
        type=lambda text: [float(s) for s in text.split(",")],
        default=[1.0, DEFAULT_STRENGTH, 2.0],
    )
    args = p.parse_args(argv)
    model = load_checkpoint(args.checkpoint).model
    metrics = shape_metrics(model, args.landmarks, args.strengths)
    expressions = metrics.pop("expressions")
    print("| | " + " | ".join(expressions) + " | mean |")
    print("|---" * (len(expressions) + 2) + "|")
    for name, values in metrics.items():
        finite = [v for v in values if np.isfinite(v)]
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in values) + f" | {np.mean(finite):.3f} |")


if __name__ == "__main__":
    main()
