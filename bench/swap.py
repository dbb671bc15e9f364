"""How fast the expression swap edits a photo, and where the time goes.

    python -m bench.swap                  # 2 threads; about a minute
    python -m bench.swap --threads 1,2
    python -m bench.swap --quick          # seconds: a smoke test, not numbers

The photo is a 1-megapixel portrait: ../shared/photos/obama.jpg (910x1137) where it exists, else
scikit-image's astronaut enlarged to 1024x1024. Timed, as median and 95th percentile after warm-up:
the full swap (detect, landmarks, both models, one warp: `prepare_photo` then `render`), changing the
expression or the strength of the prepared photo (one warp), the strip of seven faces at the size
the demo cuts them out (which the demo sends after the photo when the strength changes), the
close-up of the edited face the demo sends after every change, and each
stage of the preparation on its own. Targets: a full swap within 150 ms, a change within 40 ms, at
2 threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image
from skimage import data as skimage_data

from bench.common import (
    REPO,
    describe,
    machine,
    markdown_table,
    meets,
    parser,
    set_threads,
    summarize,
    thread_counts,
    time_calls,
    warn_if_busy,
    write_json,
)
from demo.config import DemoConfig
from demo.swap import APPEARANCE_FILE, SHAPE_FILE
from vae.face_shape import shape_free
from vae.landmarks import detect_faces, face_landmarks, gray
from vae.mouth import MouthOpening
from vae.photo_edit import ExpressionModels, prepare_face, prepare_photo

PHOTO = REPO.parent / "shared" / "photos" / "obama.jpg"
FULL_SWAP_MS, CHANGE_MS = 150.0, 40.0
STRIP_SIZE = DemoConfig().strip_size  # the demo's strip tiles
CLOSEUP_SIZE = DemoConfig().closeup_size  # and its close-up of the edited face


def portrait() -> tuple[str, np.ndarray]:
    """A 1-megapixel portrait: the shared photo if present, else the astronaut enlarged."""
    if PHOTO.is_file():
        return PHOTO.name, np.array(Image.open(PHOTO).convert("RGB"))
    return "astronaut x2", cv2.resize(skimage_data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)


def tasks(photo: np.ndarray, models: ExpressionModels) -> dict[str, Any]:
    """Every timed call, by name: the three a user waits for, then the preparation's stages."""
    prepared = prepare_photo(photo, models)
    face = prepared.faces[0]
    plane = gray(photo)
    box = detect_faces(photo)[0]
    points = face_landmarks(plane, box)
    texture = torch.tensor(shape_free(plane, points, models.canonical), dtype=torch.float32)[None, None]

    def appearance() -> torch.Tensor:
        with torch.inference_mode():
            return models.appearance.decode_all(models.appearance.encode(texture / 127.5 - 1)[0])

    def shape() -> torch.Tensor:
        with torch.inference_mode():
            shapes = torch.tensor(face.points, dtype=torch.float32)[None]
            return models.shape.decode_all(models.shape.encode(shapes)[0])

    return {
        "full swap (prepare + render)": lambda: prepare_photo(photo, models).render("surprise", 1.0),
        "change expression or strength (render)": lambda: prepared.render("sad", 1.0, strength=1.5),
        "then the strip of seven faces (strip)": lambda: prepared.strip(0, 1.0, 1.2, STRIP_SIZE),
        "and the close-up (closeup)": lambda: prepared.closeup(0, "sad", 1.0, 1.5, CLOSEUP_SIZE),
        "stage: detect faces": lambda: detect_faces(photo),
        "stage: 68 landmarks": lambda: face_landmarks(plane, box),
        "stage: shape model (encode, 7 decoders)": shape,
        "stage: shape-free texture": lambda: shape_free(plane, points, models.canonical),
        "stage: appearance model (encode, 7 decoders)": appearance,
        "stage: mouth opening": lambda: MouthOpening.of(photo, points),
        "stage: prepare one face": lambda: prepare_face(photo, plane, box, models),
    }


def run(args: Any) -> dict[str, Any]:
    name, photo = portrait()
    models = ExpressionModels.load(REPO / "checkpoints" / SHAPE_FILE, REPO / "checkpoints" / APPEARANCE_FILE)
    repeat, warmup = (3, 1) if args.quick else (30, 3)
    rows = []
    for threads in args.thread_counts:
        set_threads(threads)
        for task, fn in tasks(photo, models).items():
            rows.append({"threads": threads, "task": task, **summarize(time_calls(fn, warmup, repeat, 20.0))})
    return {"photo": name, "megapixels": photo.shape[0] * photo.shape[1] / 1e6, "rows": rows}


def report(result: dict[str, Any], info: dict[str, Any]) -> str:
    targets = {"full swap (prepare + render)": FULL_SWAP_MS}
    targets["change expression or strength (render)"] = CHANGE_MS
    table = markdown_table(
        ["threads", "task", "median ms", "p95 ms", "target"],
        [
            [
                r["threads"],
                r["task"],
                f"{r['median_ms']:.1f}",
                f"{r['p95_ms']:.1f}",
                meets(r["median_ms"], targets[r["task"]]) if r["task"] in targets else "",
            ]
            for r in result["rows"]
        ],
    )
    return f"{describe(info)}\nphoto: {result['photo']} ({result['megapixels']:.2f} MP)\n\n{table}"


def main(argv: list[str] | None = None) -> None:
    p = parser("swap", __doc__)
    p.add_argument("--threads", type=thread_counts, default=[2], dest="thread_counts", help="e.g. 1,2")
    args = p.parse_args(argv)
    info = machine()
    warn_if_busy(info)
    result = run(args)
    print(report(result, info))
    print(f"\nwritten: {write_json(Path(args.json), result, info)}")


if __name__ == "__main__":
    main()
