"""python -m train.directions: compute slider directions and the sampling distribution once, and
store them in the checkpoint.

    python -m train.directions checkpoints/utkface-vae.safetensors --data data/UTKFace

Principal directions of the encoded training set come first (the axes along which faces differ
most), then directions from labels where the data has them: each expression against the others
for FER2013; older and female for UTKFace, fitted together so that neither carries the other.
Each direction's scale is the standard deviation of the training codes along it, so a slider from
-3 to 3 spans the faces the model has seen. The same pass fits the Gaussian that the demo samples
random faces from (vae.latent.CodeDistribution): where the training codes lie, not the prior.

It also stores the model's face template (vae.faces): the mean 68-point shape of its training faces
in its own crop, by which faces are cut out of photos for it. A few thousand faces, evenly spread
over the training split, are fitted as train.landmarks fits FER2013 (enlarged 4x, dlib's HOG
detector and 68-point predictor, fits that disagree with their mirror image dropped) and averaged
by generalised Procrustes on the rigid points. Data without enough real faces gets no template.
The demo reads all of it from the file instead of recomputing it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from train.landmarks import MAX_MIRROR_ERROR, fit_face
from vae.checkpoint import CheckpointError, load_checkpoint, save_model
from vae.data import DataConfig, DataError, FaceData, as_float, load_faces
from vae.face_shape import eye_distance, mean_shape
from vae.faces import FACE_TEMPLATE
from vae.landmarks import gray
from vae.latent import CodeDistribution, encode_posteriors, labelled_directions, principal_directions

TEMPLATE_FACES = 3000  # faces fitted for the face template (about 10 ms each)
MIN_TEMPLATE_FACES = 100  # fewer kept fits than this: the data has no real faces, no template


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


def face_template(images: torch.Tensor, count: int) -> tuple[np.ndarray | None, int]:
    """The mean 68-point shape [68, 2] of up to `count` of `images` (uint8 [N, C, H, W], taken evenly
    spread), in their own pixels, and how many fits it averages; None for the shape where fewer than
    MIN_TEMPLATE_FACES fit."""
    picked = np.unique(np.linspace(0, len(images) - 1, min(count, len(images))).round().astype(int))
    shapes = []
    for i in picked:
        fit = fit_face(gray(images[i].permute(1, 2, 0).squeeze(2).numpy()))
        if fit is not None and fit[1] <= MAX_MIRROR_ERROR:
            shapes.append(fit[0])
    if len(shapes) < MIN_TEMPLATE_FACES:
        return None, len(shapes)
    return mean_shape(np.stack(shapes)), len(shapes)


def add_face_template(extras: dict[str, torch.Tensor], images: torch.Tensor, count: int) -> None:
    """Put the face template fitted to `images` into `extras` (replacing a stored one), or, where too
    few faces fit, leave none and say so."""
    started = time.perf_counter()
    template, fits = face_template(images, count)
    extras.pop(FACE_TEMPLATE, None)
    if template is None:
        print(
            f"no face template: {fits} of {min(count, len(images))} training faces fitted, "
            f"{MIN_TEMPLATE_FACES} needed; this model cannot take faces from photos"
        )
        return
    extras[FACE_TEMPLATE] = torch.tensor(template, dtype=torch.float32)
    corners = [template[i].round(1).tolist() for i in (36, 45)]
    print(
        f"face template: the mean of {fits} fitted faces ({time.perf_counter() - started:.0f} s); outer eye "
        f"corners at {corners[0]} and {corners[1]}, {eye_distance(template):.1f} px apart"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m train.directions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--data", required=True, help="the data the model was trained on")
    p.add_argument("--principal", type=int, default=8, help="number of principal directions")
    p.add_argument(
        "--template-faces",
        type=int,
        default=TEMPLATE_FACES,
        help=f"training faces fitted for the face template (default {TEMPLATE_FACES})",
    )
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
    add_face_template(extras, data.images, args.template_faces)
    save_model(args.checkpoint, checkpoint.model, metadata, extras, half=bool(metadata.get("half")))
    for name, scale in zip(names, scales.tolist()):
        print(f"{name:>10}: scale {scale:.3f}")
    spread = float(fitted.scale_tril.square().sum())  # the trace of the covariance
    print(
        f"training codes: mean at distance {fitted.mean.norm():.2f} from the prior's, total variance "
        f"{spread:.1f} against the prior's {fitted.latent_dim}"
    )
    template = " and the face template" if FACE_TEMPLATE in extras else ""
    print(f"{len(names)} directions, the code distribution{template} stored in {args.checkpoint}")


if __name__ == "__main__":
    main()
