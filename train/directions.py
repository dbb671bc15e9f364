"""python -m train.directions: compute slider directions and the sampling distribution once, and
store them in the checkpoint.

    python -m train.directions checkpoints/utkface-vae.safetensors --data data/UTKFace

Principal directions of the encoded training set come first (the axes along which faces differ
most), then directions from labels where the data has them: each expression against the others
for FER2013; older and female for UTKFace, fitted together so that neither carries the other.
Each direction's scale is the standard deviation of the training codes along it, so a slider from
-3 to 3 spans the faces the model has seen. The same pass fits the Gaussian that the demo samples
random faces from (vae.latent.CodeDistribution): where the training codes lie, not the prior. The
demo reads both from the file instead of recomputing them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from vae.checkpoint import CheckpointError, load_checkpoint, save_model
from vae.data import DataConfig, DataError, FaceData, as_float, load_faces
from vae.latent import CodeDistribution, encode_posteriors, labelled_directions, principal_directions


def label_groups(data: FaceData) -> list[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
    """Labels whose directions are fitted together, as (faces that count, {name: faces with it}):
    each expression alone against the others; UTKFace's age and gender together, among adults of
    known gender, so that neither slider carries the other (vae.latent.labelled_directions)."""
    groups = [(data.labels >= 0, {name: data.labels == k}) for k, name in enumerate(data.label_names)]
    attributes: dict[str, torch.Tensor] = {}
    valid = torch.ones(len(data.images), dtype=torch.bool)
    if "age" in data.attributes:
        age = data.attributes["age"]
        attributes["older"] = age >= 50
        valid &= (age >= 50) | ((age >= 18) & (age <= 30))  # adults only: no children
    if "gender" in data.attributes:
        gender = data.attributes["gender"]
        attributes["female"] = gender == 1
        valid &= gender >= 0
    if attributes:
        groups.append((valid, attributes))
    return groups


def compute_directions(codes: torch.Tensor, data: FaceData, principal: int) -> tuple[list[str], torch.Tensor]:
    """Names and unit directions [k, latent_dim]: principal axes, then labelled ones."""
    axes, _ = principal_directions(codes, principal)
    names = [f"PC{i + 1}" for i in range(principal)]
    rows = list(axes)
    for valid, labels in label_groups(data):
        usable = {name: has[valid] for name, has in labels.items() if 0 < has[valid].sum() < valid.sum()}
        if usable:
            names += list(usable)
            rows += list(labelled_directions(codes[valid], torch.stack(list(usable.values()), 1)))
    return names, torch.stack(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m train.directions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--data", required=True, help="the data the model was trained on")
    p.add_argument("--principal", type=int, default=8, help="number of principal directions")
    args = p.parse_args(argv)
    try:
        checkpoint = load_checkpoint(args.checkpoint)
        config = checkpoint.config
        data = load_faces(
            DataConfig(args.data, split="train", image_size=config.image_size, channels=config.channels)
        )
    except (CheckpointError, DataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    codes, logvar = encode_posteriors(checkpoint.model, as_float(data.images))
    names, directions = compute_directions(codes, data, args.principal)
    scales = ((codes - codes.mean(0)) @ directions.T).std(0)
    metadata = {**checkpoint.metadata, "direction_names": names}
    fitted = CodeDistribution.fit(codes, logvar)
    extras = {**checkpoint.extras, "directions": directions, "direction_scales": scales, **fitted.as_extras()}
    save_model(args.checkpoint, checkpoint.model, metadata, extras, half=bool(metadata.get("half")))
    for name, scale in zip(names, scales.tolist()):
        print(f"{name:>10}: scale {scale:.3f}")
    spread = float(fitted.scale_tril.square().sum())  # the trace of the covariance
    print(
        f"training codes: mean at distance {fitted.mean.norm():.2f} from the prior's, total variance "
        f"{spread:.1f} against the prior's {fitted.latent_dim}"
    )
    print(f"{len(names)} directions and the code distribution stored in {args.checkpoint}")


if __name__ == "__main__":
    main()
