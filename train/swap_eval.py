"""python -m train.swap_eval: the expression swap measured on the photos a user gets back.

    python -m train.swap_eval --photos ../shared/photos --fer data/fer2013/fer2013.csv \\
        --utkface data/UTKFace --out runs/swap-eval

Every face of every photo is edited into each of the 7 expressions, through the demo's own path
(vae.photo_edit), and each returned photo is measured against its input:

- same person: dlib's face-recognition ResNet puts input and output closer than 0.6 (its published
  threshold, 99.38% on LFW);
- detail: the variance of the Laplacian of the face's luminance, output over input (1: as sharp);
- colour: the mean chroma of the face, output over input (not measured on grey faces: n/a);
- outside: PSNR (dB) of the photo outside the face's box enlarged 1.5 times (an edit changes nothing there);
- read: how often each expression judge (48x48 classifiers, checkpoints/*classifier*) reads the
  target expression on the output's face, cut out as FER2013 frames faces (by the input's landmarks
  and the FER2013 template stored with checkpoints/fer-multi.safetensors).

Two baselines go through the same measures in the same run: the unchanged photo, and the pasted-face
swap (a 48x48 face drawn by checkpoints/fer-multi.safetensors pasted over the photo's face).
The judges' reading of real held-out FER2013 faces of each expression is printed beside them.

Photo sets: every image in --photos plus scikit-image's astronaut; held-out FER2013 faces
(PrivateTest, the same number of each expression, enlarged 4x bicubic to 192 px); held-out UTKFace
faces (the test split, enlarged 4x to 256 px); both with a border of a quarter of their side, their
edge pixels repeated. Faces the detector misses are counted and skipped.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image

from train.classifier import per_class_accuracy, predict
from vae.checkpoint import Checkpoint, load_checkpoint
from vae.classifier import ExpressionClassifier
from vae.data import EXPRESSIONS, IMAGE_SUFFIXES, DataConfig, as_float, load_faces
from vae.face_shape import JAW, framed_face
from vae.faces import Framing
from vae.landmarks import SAME_PERSON, face_descriptor
from vae.photo_edit import (
    DEFAULT_STRENGTH,
    ExpressionModels,
    NoFaceError,
    PreparedFace,
    PreparedPhoto,
    prepare_photo,
)
from vae.swap import prepare_photo as prepare_paste

UPSCALE = 4
PAD = 0.25  # an enlarged held-out face gets a border of a quarter of its side, its edge pixels repeated

OUTSIDE_MARGIN = 1.5  # the face's box enlarged this much is "the face" for the outside PSNR
MIN_CHROMA = 2.0  # mean chroma (YCrCb units) below which a face is grey and has no colour to keep

Photo = tuple[str, np.ndarray]
Method = Callable[[np.ndarray, int, str], np.ndarray]  # (photo, face index, expression) -> photo


def photo_folder(folder: Path) -> Iterator[Photo]:
    from skimage.data import astronaut

    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            yield path.stem, np.array(Image.open(path).convert("RGB"))
    yield "astronaut", astronaut()


def enlarged_faces(config: DataConfig, count: int, balanced: bool) -> Iterator[Photo]:
    """Held-out faces of a data set enlarged UPSCALE x (bicubic), as RGB photos: the first of each
    label (`balanced`) or `count` spread evenly over the split. Not its first ones: UTKFace's files
    sort by age, and its first 70 held-out faces are all one or two years old."""
    data = load_faces(config)
    if balanced:
        per_label = max(1, count // len(data.label_names))
        order = torch.cat(
            [torch.nonzero(data.labels == k).flatten()[:per_label] for k in range(len(data.label_names))]
        )
    else:
        order = torch.linspace(0, len(data) - 1, min(count, len(data))).round().long()
    for i in order.tolist():
        face = data.images[i].permute(1, 2, 0).numpy()
        big = cv2.resize(face, None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
        margin = int(PAD * big.shape[0])  # the detector wants some background around a face
        big = cv2.copyMakeBorder(big, margin, margin, margin, margin, cv2.BORDER_REPLICATE)
        rgb = cv2.cvtColor(big, cv2.COLOR_GRAY2RGB) if big.ndim == 2 else big
        yield f"{Path(config.path).name}-{i}", rgb


def face_region(face: PreparedFace, shape: tuple[int, ...]) -> np.ndarray:
    """Boolean mask of the face (inside the jaw and brows) in photo pixels."""
    outline = np.vstack([face.points[JAW], face.points[26:16:-1]])
    mask = np.zeros(shape[:2], dtype=np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
    return mask.astype(bool)


def outside_region(face: PreparedFace, shape: tuple[int, ...]) -> np.ndarray:
    box = face.box
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    half_w, half_h = OUTSIDE_MARGIN * box.w / 2, OUTSIDE_MARGIN * box.h / 2
    mask = np.ones(shape[:2], dtype=bool)
    mask[max(int(cy - half_h), 0) : int(cy + half_h), max(int(cx - half_w), 0) : int(cx + half_w)] = False
    return mask


def luminance(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)


def detail(image: np.ndarray, region: np.ndarray) -> float:
    return float(cv2.Laplacian(luminance(image), cv2.CV_64F)[region].var())


def chroma(image: np.ndarray, region: np.ndarray) -> float:
    ycc = cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb).astype(np.float64)
    return float(np.hypot(ycc[..., 1] - 128, ycc[..., 2] - 128)[region].mean())


def colour_ratio(output: np.ndarray, photo: np.ndarray, region: np.ndarray) -> float | None:
    """The face's chroma, output over input; None for a face with no colour to keep (a grey photo),
    where the ratio would divide by noise."""
    before = chroma(photo, region)
    return chroma(output, region) / before if before >= MIN_CHROMA else None


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a.astype(np.float64) - b) ** 2).mean()) if a.size else 0.0
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)  # 99 dB stands for identical


class Judges:
    """The expression classifiers, reading faces cut out by landmarks as FER2013 frames them."""

    def __init__(self, paths: list[str], template: np.ndarray) -> None:
        self.models: dict[str, ExpressionClassifier] = {Path(p).stem: load_checkpoint(p).model for p in paths}
        self.template = template

    def read(self, image: np.ndarray, points: np.ndarray) -> dict[str, int]:
        crop = framed_face(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), points, self.template)
        x = as_float(torch.from_numpy(crop))[None, None]
        with torch.inference_mode():
            return {name: int(model(x).argmax(1)) for name, model in self.models.items()}

    def real_faces(self, fer: str) -> dict[str, list[float]]:
        """Each judge's per-expression accuracy on held-out FER2013 faces, against the labels it
        learnt (FER+ majorities for a judge trained on them)."""
        result = {}
        for name, model in self.models.items():
            labels = "ferplus" if "ferplus" in name else "fer"
            data = load_faces(DataConfig(fer, split="test", image_size=48, labels=labels))
            with torch.inference_mode():
                predicted = predict(model, as_float(data.images))
            result[name] = per_class_accuracy(predicted, data.labels, len(EXPRESSIONS))
        return result


def measure(
    photo: np.ndarray,
    output: np.ndarray,
    face: PreparedFace,
    target: int,
    judges: Judges,
    reference: np.ndarray,
) -> dict[str, Any]:
    region = face_region(face, photo.shape)
    outside = outside_region(face, photo.shape)
    reads = judges.read(output, face.points)
    return {
        "same_person": float(np.linalg.norm(face_descriptor(output, face.box) - reference) < SAME_PERSON),
        "detail": detail(output, region) / max(detail(photo, region), 1e-9),
        "colour": colour_ratio(output, photo, region),
        "outside_psnr": psnr(output[outside], photo[outside]),
        **{f"read_{name}": float(label == target) for name, label in reads.items()},
    }


def evaluate_photos(
    photos: Iterator[Photo],
    methods: dict[str, Method],
    models: ExpressionModels,
    judges: Judges,
    strengths: list[float],
) -> tuple[list[dict[str, Any]], int]:
    """One row per (photo face, target expression, method); and the number of photos with no face."""
    rows, missed = [], 0
    for name, photo in photos:
        try:
            prepared = prepare_photo(photo, models)
        except NoFaceError:
            missed += 1
            continue
        edits: dict[str, Method] = {
            f"edit, strength {s:g}": functools.partial(_edit, prepared, strength=s) for s in strengths
        }
        for i, face in enumerate(prepared.faces):
            reference = face_descriptor(photo, face.box)
            for k, expression in enumerate(EXPRESSIONS):
                for method, run in {**methods, **edits}.items():
                    output = run(photo, i, expression)
                    row = measure(photo, output, face, k, judges, reference)
                    rows.append({"photo": name, "face": i, "target": expression, "method": method, **row})
    return rows, missed


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """{method: {target or "all": {measure: mean}}}."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["method"], row["target"]].append(row)
        groups[row["method"], "all"].append(row)
    measures = [k for k in rows[0] if k not in ("photo", "face", "target", "method")] if rows else []
    summary: dict[str, dict[str, dict[str, float | None]]] = defaultdict(dict)
    for (method, target), group in groups.items():
        summary[method][target] = {m: _mean([r[m] for r in group]) for m in measures} | {"n": len(group)}
    return summary


def _mean(values: list[float | None]) -> float | None:
    """The mean of the values that were measured; None where none was."""
    measured = [v for v in values if v is not None]
    return float(np.mean(measured)) if measured else None


def _cell(measure: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if measure == "outside_psnr" else f"{value:.3f}"


def markdown(summary: dict[str, dict[str, dict[str, float | None]]], real: dict[str, list[float]]) -> str:
    lines = []
    for method, by_target in summary.items():
        measures = [m for m in next(iter(by_target.values())) if m != "n"]
        lines += [
            f"\n{method}",
            "| target | n | " + " | ".join(measures) + " |",
            "|---" * (len(measures) + 2) + "|",
        ]
        for target in [*EXPRESSIONS, "all"]:
            if target in by_target:
                values = by_target[target]
                cells = [_cell(m, values[m]) for m in measures]
                lines.append(f"| {target} | {values['n']} | " + " | ".join(cells) + " |")
    lines.append("\njudges on real held-out FER2013 faces (per expression, then the balanced mean)")
    for name, accuracy in real.items():
        cells = " ".join(f"{e} {a:.2f}" for e, a in zip(EXPRESSIONS, accuracy))
        lines.append(f"- {name}: {cells}; mean {np.mean(accuracy):.3f}")
    return "\n".join(lines)


def _edit(
    prepared: PreparedPhoto, photo: np.ndarray, face: int, expression: str, strength: float
) -> np.ndarray:
    return prepared.render(expression, 1.0, face, strength)


def pasted(checkpoint: Checkpoint, photo: np.ndarray, face: int, expression: str) -> np.ndarray:
    """The pasted-face swap of every face at the settings the demo used (vae.swap), or the photo
    itself where no face is found (where the demo showed no result)."""
    try:
        prepared = prepare_paste(photo, checkpoint.model, Framing.of(checkpoint), detail=0.75)
    except NoFaceError:
        return photo
    return prepared.render(expression, strength=1.3)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m train.swap_eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", help="a folder of photos (e.g. ../shared/photos); the astronaut is added")
    p.add_argument("--fer", help="FER2013 csv: held-out faces to edit, and the judges' reading of real faces")
    p.add_argument("--utkface", help="UTKFace folder: held-out colour faces to edit")
    p.add_argument("--faces", type=int, default=70, help="faces from each data set (default 70)")
    p.add_argument("--shape", default="checkpoints/fer-shape.safetensors")
    p.add_argument("--appearance", default="checkpoints/fer-appearance.safetensors")
    p.add_argument(
        "--paste", default="checkpoints/fer-multi.safetensors", help="the pasted-face baseline's model"
    )
    p.add_argument(
        "--judges",
        nargs="+",
        default=["checkpoints/fer-classifier.safetensors", "checkpoints/ferplus-classifier.safetensors"],
    )
    p.add_argument(
        "--strengths",
        type=lambda text: [float(s) for s in text.split(",")],
        default=[DEFAULT_STRENGTH],
        help=f"edit at each of these strengths, e.g. 1,1.5,2 (default: the demo's, {DEFAULT_STRENGTH})",
    )
    p.add_argument("--out", default="runs/swap-eval", help="folder for the JSON rows and summary")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    models = ExpressionModels.load(args.shape, args.appearance)
    paste_model = load_checkpoint(args.paste)
    judges = Judges(args.judges, Framing.of(paste_model).template)  # FER2013's framing, which it stores
    methods: dict[str, Method] = {
        "unchanged": lambda photo, i, e: photo,
        "paste": functools.partial(pasted, paste_model),
    }
    sets: dict[str, Iterator[Photo]] = {}
    if args.photos:
        sets["photos"] = photo_folder(Path(args.photos))
    if args.fer:
        sets["fer2013"] = enlarged_faces(DataConfig(args.fer, split="test", image_size=48), args.faces, True)
    if args.utkface:
        sets["utkface"] = enlarged_faces(
            DataConfig(args.utkface, split="test", image_size=64, channels=3), args.faces, False
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    real = judges.real_faces(args.fer) if args.fer else {}
    report = {"strengths": args.strengths, "real_faces": real, "sets": {}}
    for set_name, photos in sets.items():
        started = time.perf_counter()
        rows, missed = evaluate_photos(photos, methods, models, judges, args.strengths)
        summary = summarise(rows)
        report["sets"][set_name] = {"summary": summary, "missed_photos": missed}
        (out / f"rows-{set_name}.json").write_text(json.dumps(rows))
        faces = len({(r["photo"], r["face"]) for r in rows})
        seconds = time.perf_counter() - started
        print(f"\n## {set_name}: {faces} faces, {missed} photos with no face ({seconds:.0f} s)")
        print(markdown(summary, real))
    (out / "summary.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
