"""python -m train.strength: the expression swap across strengths, to choose the demo's default.

    python -m train.strength checkpoints/fer-multi.safetensors --data fer2013.csv \
        --classifier checkpoints/fer-classifier.safetensors --split val --strengths 1,1.5,2

For each strength (vae.multi_decoder.exaggerate), at one `--detail` (keep_detail): swap accuracy per
target, identity kept, and the Frechet distance of swapped faces from real ones in the classifier's
feature space, their sharpness and their spectral excess (textures). A stronger
expression convinces a judge more easily but drifts from the person and, past some point, from real
faces; choose on the validation split (PublicTest), report on the test split.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from train.artifacts import write_json
from train.evaluate import add_detail_option, embed, strength_arg, swap_metrics
from vae.checkpoint import CheckpointError, load_checkpoint
from vae.data import DataConfig, DataError, as_float, load_faces
from vae.multi_decoder import MultiDecoderVAE


def sweep(
    checkpoint: Path,
    data: str,
    classifier_path: Path,
    split: str,
    labels: str,
    strengths: list[float],
    detail: float = 0.0,
) -> list[dict[str, Any]]:
    model = load_checkpoint(checkpoint).model
    if not isinstance(model, MultiDecoderVAE):
        raise CheckpointError(f"{checkpoint} is not a multi-decoder model: it has no expressions to swap")
    classifier = load_checkpoint(classifier_path).model
    size, channels = model.config.image_size, model.config.channels
    faces, train_faces = (
        load_faces(DataConfig(data, split=s, image_size=size, channels=channels, labels=labels))
        for s in (split, "train")
    )
    real_features = embed(classifier, as_float(faces.images))
    return [
        swap_metrics(model, classifier, faces, train_faces, real_features, s, detail=detail)
        for s in strengths
    ]


def markdown_table(rows: list[dict[str, Any]]) -> str:
    names = list(rows[0]["swap_accuracy_per_target"])
    lines = [
        f"| strength | swap accuracy | {' | '.join(names)} | identity top-1 | FD swaps | sharpness "
        "| excess |",
        "|---" * (len(names) + 6) + "|",
    ]
    for r in rows:
        per_target = " | ".join(f"{100 * v:.1f}%" for v in r["swap_accuracy_per_target"].values())
        lines.append(
            f"| {r['swap_strength']:g} | {100 * r['swap_accuracy']:.1f}% | {per_target} "
            f"| {r['identity_top1']:.3f} | {r['fd_swaps']:.2f} | {r['sharpness_swaps']:.3f} "
            f"| {r['spectral_excess_swaps']:.4f} |"
        )
    return "\n".join(lines)


def strengths_arg(text: str) -> list[float]:
    return [strength_arg(s) for s in text.split(",")]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m train.strength",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--data", required=True)
    p.add_argument(
        "--classifier", type=Path, required=True, help="the judge, from python -m train.classifier"
    )
    p.add_argument("--split", default="val", choices=["val", "test"])
    p.add_argument("--labels", default="fer", choices=["fer", "ferplus"], help="the labels the judge knows")
    p.add_argument("--strengths", type=strengths_arg, default=[1.0, 1.5, 2.0], help="comma-separated")
    add_detail_option(p)
    p.add_argument("--json", type=Path, help="write every row here")
    args = p.parse_args(argv)
    try:
        rows = sweep(
            args.checkpoint, args.data, args.classifier, args.split, args.labels, args.strengths, args.detail
        )
    except (DataError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(markdown_table(rows))
    if args.json:
        write_json(rows, args.json)


if __name__ == "__main__":
    main()
