"""The figure of the expression swap: every face of some photos in all 7 expressions, beside the
pasted-face swap of the same faces.

    python -m train.swap_figure --photos ../shared/photos --out docs/figures/swap-photos.jpg

For each face (left to right in each photo, the photos in name order, then scikit-image's astronaut):
a row of the photo-editing swap (vae.photo_edit at the demo's default strength, full amount) and a
row of the pasted-face swap (checkpoints/fer-multi.safetensors, as the demo drew it before), each
starting with the face as it was. Tiles are the face cut out of the whole returned photo at TILE px.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from train.swap_eval import pasted, photo_folder
from vae.checkpoint import load_checkpoint
from vae.photo_edit import DEFAULT_STRENGTH, ExpressionModels, PreparedFace, prepare_photo

TILE = 160
LABEL = 22  # px of caption band above each row


def caption(text: str, width: int) -> np.ndarray:
    band = np.full((LABEL, width, 3), 255, dtype=np.uint8)
    cv2.putText(band, text, (6, LABEL - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (40, 40, 40), 1, cv2.LINE_AA)
    return band


def tiles(face: PreparedFace, photos: list[np.ndarray]) -> np.ndarray:
    """The face cut out of each photo, side by side."""
    return np.hstack([face.cut_out(photo, TILE)[1] for photo in photos])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m train.swap_figure", description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", required=True, help="a folder of photos (the astronaut is added)")
    p.add_argument("--out", default="runs/figures/swap-photos.jpg", help="a .jpg (quality 90) or .png")
    p.add_argument("--shape", default="checkpoints/fer-shape.safetensors")
    p.add_argument("--appearance", default="checkpoints/fer-appearance.safetensors")
    p.add_argument("--paste", default="checkpoints/fer-multi.safetensors")
    p.add_argument("--strength", type=float, default=DEFAULT_STRENGTH)
    args = p.parse_args(argv)
    models = ExpressionModels.load(args.shape, args.appearance)
    paste_model = load_checkpoint(args.paste)
    names = ["photo", *models.expressions]
    header = np.hstack([caption(name, TILE) for name in names])
    rows = [header]
    for name, photo in photo_folder(Path(args.photos)):
        prepared = prepare_photo(photo, models)
        for i, face in enumerate(prepared.faces):
            edits = [prepared.render(e, 1.0, i, args.strength) for e in models.expressions]
            pastes = [pasted(paste_model, photo, i, e) for e in models.expressions]
            rows += [
                caption(f"{name}, face {i + 1}: the photo edited", TILE * 8),
                tiles(face, [photo, *edits]),
            ]
            rows += [
                caption(f"{name}, face {i + 1}: a decoded face pasted", TILE * 8),
                tiles(face, [photo, *pastes]),
            ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.vstack(rows)).save(out, optimize=True, quality=90)
    print(f"{out}: {(len(rows) - 1) // 4} faces")


if __name__ == "__main__":
    main()
