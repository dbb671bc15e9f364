"""Write FER2013 with every face warped to one shape: the training set of the appearance model.

    python -m train.shape_free --data data/fer2013/fer2013.csv --landmarks data/fer2013-landmarks.npz \\
        --out data/fer2013-shapefree

Each face whose landmarks were kept (python -m train.landmarks) is warped so its landmarks land on
the canonical shape (the mean FER2013 shape with parted lips, vae.face_shape.canonical_shape). The
textures no longer carry the geometry of the face or of its expression: that is the shape model's
job, and what is left for the appearance model is what geometry cannot draw (an open mouth's dark
inside, teeth, furrows). The output is the FER2013 folder layout (`train/<expression>/`,
`test/<expression>/PublicTest_*` and `PrivateTest_*`), which `python -m train` reads as it is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from vae.data import EXPRESSIONS, SPLITS, DataConfig, DataError, load_faces
from vae.face_shape import canonical_shape, shape_free

FILE_PREFIX = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m train.shape_free", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the FER2013 csv the landmarks were fitted to")
    p.add_argument("--landmarks", required=True, help="archive written by python -m train.landmarks")
    p.add_argument("--out", required=True, help="folder to write (FER2013 folder layout)")
    p.add_argument(
        "--labels",
        default="ferplus",
        choices=["fer", "ferplus"],
        help="file faces under FER2013's label or the FER+ majority (default; faces with none: left out)",
    )
    args = p.parse_args(argv)
    archive = dict(np.load(args.landmarks))  # read every array once: an NpzFile decompresses on each access
    canonical = canonical_shape(archive["template"])
    out = Path(args.out)
    written = 0
    for split_index, split in enumerate(SPLITS):
        try:
            data = load_faces(DataConfig(args.data, split=split, image_size=48))
        except DataError as exc:
            raise SystemExit(f"error: {exc}") from None
        rows = np.flatnonzero(archive["split"] == split_index)
        if len(rows) != len(data):
            raise SystemExit(
                f"error: {args.landmarks} has {len(rows)} {split} faces, {args.data} has {len(data)}"
            )
        folder = out / ("train" if split == "train" else "test")
        for name in EXPRESSIONS:
            (folder / name).mkdir(parents=True, exist_ok=True)
        labels = archive["ferplus_labels" if args.labels == "ferplus" else "labels"]
        for i, row in enumerate(tqdm(rows, desc=split)):
            if not archive["kept"][row] or labels[row] < 0:
                continue
            face = shape_free(data.images[i, 0].numpy(), archive["points"][row], canonical)
            name = EXPRESSIONS[int(labels[row])]
            Image.fromarray(face).save(folder / name / f"{FILE_PREFIX[split]}_{i:05d}.png")
            written += 1
    print(f"{out}: {written} shape-free faces")


if __name__ == "__main__":
    main()
