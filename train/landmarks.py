"""Fit 68 landmarks to every FER2013 face, keeping only fits that agree with their mirror image.

    python -m train.landmarks --data data/fer2013/fer2013.csv --out data/fer2013-landmarks.npz

FER2013 faces are 48 px: each is enlarged 4x (bicubic), found by dlib's HOG detector, and fitted by
its 68-point predictor. A fit is kept when the detector finds the face and the fit of the mirrored
face, mirrored back, lands within `--max-mirror-error` eye distances of it: a predictor that is
unsure (a hand over the mouth, a profile, not a face) answers differently for the two. The archive
holds every face's points in 48x48 pixels, whether it was kept, its split, its FER2013 label and its
FER+ vote majority (where Microsoft's fer2013new.csv lies beside the csv), and the
template (the Procrustes mean shape of the kept training faces) that vae.face_shape normalises to.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from vae.data import EXPRESSIONS, FER_USAGE, SPLITS, DataConfig, DataError, load_faces
from vae.face_shape import MIRROR, eye_distance, mean_shape
from vae.ferplus import FERPLUS_FILE, majority_labels, read_votes
from vae.landmarks import FaceBox, detect_boxes, face_landmarks

UPSCALE = 4
DETECT_THRESHOLD = -0.5  # HOG score: lower than dlib's default 0, since enlarged 48 px faces are soft
MAX_MIRROR_ERROR = 0.03  # eye distances: a fit and its mirror image's that differ more are dropped


def fit_face(face: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Landmarks [68, 2] of one 48x48 grey face in its own pixels, and the mirror disagreement in
    eye distances; None when no face is detected."""
    big = cv2.resize(face, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
    boxes = detect_boxes(big, threshold=DETECT_THRESHOLD)
    if not boxes:
        return None
    box = boxes[0]
    points = face_landmarks(big, box)
    width = big.shape[1]
    mirrored_box = FaceBox(width - box.x - box.w, box.y, box.w, box.h)
    mirrored = face_landmarks(np.ascontiguousarray(big[:, ::-1]), mirrored_box)
    mirrored[:, 0] = width - 1 - mirrored[:, 0]
    error = np.linalg.norm(points - mirrored[MIRROR], axis=1).mean() / max(eye_distance(points), 1e-6)
    return (points + 0.5) / UPSCALE - 0.5, float(error)  # pixel centres stay at integers


def ferplus_labels(data: str, labels: np.ndarray, split: np.ndarray) -> np.ndarray:
    """The FER+ vote majority of each face (rows as the archive orders them), from Microsoft's
    fer2013new.csv beside the FER2013 csv; -1 where no vote names an expression or the file is absent."""
    path = Path(data).with_name(FERPLUS_FILE)
    if not path.is_file():
        return np.full_like(labels, -1)
    votes, usage = read_votes(path, EXPRESSIONS)
    usage = np.array(usage)
    per_split = [votes[usage == FER_USAGE[name]] for name in SPLITS]
    ordered = np.concatenate([v for v in per_split])
    if len(ordered) != len(labels):
        raise SystemExit(f"error: {path} has {len(ordered)} faces, the CSV {len(labels)}")
    return majority_labels(ordered, labels)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m train.landmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="FER2013 csv or folders")
    p.add_argument("--out", required=True, help="archive to write (.npz)")
    p.add_argument(
        "--max-mirror-error",
        type=float,
        default=MAX_MIRROR_ERROR,
        help=f"eye distances (default {MAX_MIRROR_ERROR})",
    )
    p.add_argument("--limit", type=int, help="the first N faces of each split only (quick runs)")
    args = p.parse_args(argv)
    try:
        splits = {
            s: load_faces(DataConfig(args.data, split=s, image_size=48, limit=args.limit)) for s in SPLITS
        }
    except DataError as exc:
        raise SystemExit(f"error: {exc}") from None
    started = time.perf_counter()
    columns: dict[str, list] = {"points": [], "mirror_error": [], "found": [], "labels": [], "split": []}
    for split_index, (split, data) in enumerate(splits.items()):
        for image, label in tqdm(zip(data.images, data.labels), total=len(data), desc=split):
            fit = fit_face(image[0].numpy())
            columns["found"].append(fit is not None)
            columns["points"].append(fit[0] if fit else np.full((68, 2), np.nan))
            columns["mirror_error"].append(fit[1] if fit else np.inf)
            columns["labels"].append(int(label))
            columns["split"].append(split_index)
    arrays = {name: np.asarray(values) for name, values in columns.items()}
    arrays["ferplus_labels"] = ferplus_labels(args.data, arrays["labels"], arrays["split"])
    kept = arrays["found"] & (arrays["mirror_error"] <= args.max_mirror_error)
    train = kept & (arrays["split"] == 0)
    template = mean_shape(arrays["points"][train])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        **arrays,
        kept=kept,
        template=template,
        expressions=np.array(EXPRESSIONS),
        splits=np.array(SPLITS),
        source=np.array(str(args.data)),
    )
    minutes = (time.perf_counter() - started) / 60
    print(
        f"{out}: {kept.sum()} of {len(kept)} faces kept ({arrays['found'].sum()} found) in {minutes:.1f} min"
    )
    for k, name in enumerate(EXPRESSIONS):
        mask = arrays["labels"] == k
        print(f"  {name:9s} {kept[mask].sum():5d} / {mask.sum():5d}")


if __name__ == "__main__":
    main()
