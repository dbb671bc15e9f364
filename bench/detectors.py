"""Face detectors on the same photos: OpenCV's Haar cascade against dlib's HOG (vae.landmarks).

    python -m bench.detectors                     # ~8 min on 2 busy cores: every case, every detector
    python -m bench.detectors --sheet sheet.png   # also a contact sheet of the hard cases
    python -m bench.detectors --quick             # seconds: a smoke test

Both are called as ``detect_faces(photo, min_size_frac)`` is (0.08 of the shorter side unless a
case says otherwise), on the same photos (bench/face_scenes.py), in turn. The Haar cascade is the
detector the project used before this measurement chose dlib's HOG; it is kept here (``haar_faces``),
and only here, so that the comparison can be run again. A third column, "HOG 2-pass", is dlib's
detector with its upsampled pass always run (``hog_two_passes``).
The cases:

- single faces: held-out UTKFace (test split) and FER2013 (PrivateTest, grey) faces enlarged x4
  bicubic in a neutral grey border, the face a third of the picture;
- turned: the astronaut and held-out UTKFace faces turned -30 to +30 degrees (+ is anticlockwise);
- small: the astronaut's head and UTKFace faces pasted 40 to 200 px wide into 1600x1200 scenes, with
  the default smallest face (0.08 x 1200 = 96 px) and with detectors allowed down to 0.02 (24 px);
- glasses: UTKFace has no glasses label, so Olivetti's 400 faces, marked by eye with or without
  glasses (the same 40 people, so the two rows differ mainly in the glasses);
- groups: 2 to 4 held-out UTKFace faces, 110 to 260 px wide, pasted on 1200x900 scenes (seeded), and
  the real photos of ../shared/photos (one with two faces); scenes with no face, for false positives.

A hit is a detection whose box centre lies inside the true face box and whose side (square root of
its area) is within a factor 2 of the true one; each true face takes at most one detection (the
nearest centre), every other detection is a false positive. Time: each call once per photo, wall
clock, median per case; OpenCV runs at ``--threads`` (dlib's HOG runs on one). The data are read from
``--data`` (the folder ``python ../shared/data/unpack.py data`` writes); a case whose data is absent
is skipped, with the reason in the report.
"""

from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench import face_scenes
from bench.common import describe, machine, markdown_table, parser, set_threads, warn_if_busy, write_json
from bench.face_scenes import Box, Scene
from vae import landmarks as hog
from vae.data import DataConfig, load_faces

# The Haar settings as the project used them: on 300 padded training faces, 60 synthetic group photos
# and 9 face-free scenes, this cascade, unequalised, with 5 neighbours found the most faces with no
# false positive (equalising lost group faces and added false positives; 3 neighbours added false
# positives, 8 lost faces).
HAAR_CASCADE = "haarcascade_frontalface_default.xml"  # shipped in opencv-python 4.x wheels, not in 5.0
HAAR_SCALE_FACTOR = 1.1
HAAR_MIN_NEIGHBORS = 5
HAAR_MIN_PX = 40  # photos are shrunk so the smallest wanted face is this big: same result, faster


@functools.cache
def haar_cascade() -> cv2.CascadeClassifier:
    path = Path(cv2.data.haarcascades) / HAAR_CASCADE
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"OpenCV cascade {path} is missing; opencv 4.x wheels ship it, 5.0 does not.")
    return cascade


def haar_faces(image: np.ndarray, min_size_frac: float = 0.08) -> list[hog.FaceBox]:
    """OpenCV's frontal-face Haar cascade: faces at least `min_size_frac` of the shorter side, left to
    right, one box per face (the same duplicate rule as the HOG detector's)."""
    plane = hog.gray(image)
    min_px = max(1, round(min_size_frac * min(plane.shape)))
    shrink = min(1.0, HAAR_MIN_PX / min_px)
    if shrink < 1.0:
        plane = cv2.resize(plane, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    boxes, counts = haar_cascade().detectMultiScale2(
        plane, HAAR_SCALE_FACTOR, HAAR_MIN_NEIGHBORS, minSize=(max(1, round(min_px * shrink)),) * 2
    )
    boxes, counts = np.reshape(boxes, (-1, 4)), np.reshape(counts, -1)
    faces = [hog.FaceBox(*(round(float(v) / shrink) for v in box)) for box in boxes[np.argsort(-counts)]]
    return sorted(hog._suppress_overlaps(faces), key=lambda face: face.x)  # most confident first


def hog_two_passes(image: np.ndarray, min_size_frac: float = 0.08) -> list[hog.FaceBox]:
    """``vae.landmarks.detect_faces`` with its upsampled pass always run, not only when the first pass
    finds nothing: measured beside it because faces under 80 px at its 640 px search size (HOG's
    window) are otherwise lost whenever a larger face is in the same photo."""
    plane = hog.gray(image)
    min_px = max(1, round(min_size_frac * min(plane.shape)))
    shrink = min(1.0, hog.DETECT_SIDE / max(plane.shape))
    small = (
        cv2.resize(plane, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA) if shrink < 1 else plane
    )
    faces = hog.detect_boxes(small, shrink=shrink) + hog.detect_boxes(small, upsample=1, shrink=shrink)
    faces = [face for face in faces if min(face.w, face.h) >= min_px]
    return sorted(hog._suppress_overlaps(faces), key=lambda face: face.x)  # its own duplicate rule


DETECTORS: dict[str, Callable[[np.ndarray, float], Sequence[Any]]] = {
    "Haar": haar_faces,  # OpenCV frontal-face cascade, the detector the project used before
    "HOG": hog.detect_faces,  # dlib's frontal HOG detector, in front of the 68 landmarks
    "HOG 2-pass": hog_two_passes,
}
MIN_SIZE_FRAC = 0.08  # both detectors' default, what the demo uses
SMALL_FRAC = 0.02  # the small-face cases again with the detectors allowed this small
ANGLES = (-30, -15, 0, 15, 30)
SMALL_WIDTHS = (40, 60, 80, 120, 200)
SMALL_SCENE = (1600, 1200)
SIZE_FACTOR = 2.0  # a hit's side is within this factor of the true face's
PHOTOS = Path("../shared/photos")


@dataclass
class Case:
    """Photos measured together, one row of the table."""

    name: str
    scenes: list[Scene]
    min_size_frac: float = MIN_SIZE_FRAC


@dataclass
class Outcome:
    """One detector on one photo."""

    boxes: list[Box]
    seconds: float
    hits: list[tuple[int, int]]  # (true face, detection)

    @property
    def false_positives(self) -> int:
        return len(self.boxes) - len(self.hits)


def centre(box: Box) -> tuple[float, float]:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def side(box: Box) -> float:
    return math.sqrt(box[2] * box[3])


def is_hit(truth: Box, found: Box) -> bool:
    """The detection's centre is inside the true box and its side within SIZE_FACTOR of the true side."""
    x, y = centre(found)
    ratio = side(found) / side(truth)
    inside = truth[0] <= x <= truth[0] + truth[2] and truth[1] <= y <= truth[1] + truth[3]
    return inside and 1 / SIZE_FACTOR <= ratio <= SIZE_FACTOR


def match(truths: Sequence[Box], found: Sequence[Box]) -> list[tuple[int, int]]:
    """Each true face paired with the nearest-centred unused detection that hits it, if any."""
    pairs, used = [], set()
    for t, truth in enumerate(truths):
        candidates = [d for d, box in enumerate(found) if d not in used and is_hit(truth, box)]
        if candidates:
            best = min(candidates, key=lambda d: math.dist(centre(found[d]), centre(truth)))
            pairs.append((t, best))
            used.add(best)
    return pairs


def detect(name: str, scene: Scene, min_size_frac: float) -> Outcome:
    start = time.perf_counter()
    found = DETECTORS[name](scene.image, min_size_frac)
    seconds = time.perf_counter() - start
    boxes = [(f.x, f.y, f.w, f.h) for f in found]
    return Outcome(boxes, seconds, match(scene.faces, boxes))


def run_case(case: Case) -> dict[str, list[Outcome]]:
    """Every detector on every photo of the case, taking turns photo by photo so that other work on
    the machine slows them alike."""
    outcomes: dict[str, list[Outcome]] = {name: [] for name in DETECTORS}
    for scene in case.scenes:
        for name in DETECTORS:
            outcomes[name].append(detect(name, scene, case.min_size_frac))
    return outcomes


def summary(case: Case, outcomes: list[Outcome]) -> dict[str, Any]:
    faces = sum(len(scene.faces) for scene in case.scenes)
    found = sum(len(o.hits) for o in outcomes)
    ratios = [
        side(o.boxes[d]) / side(scene.faces[t]) for scene, o in zip(case.scenes, outcomes) for t, d in o.hits
    ]
    missed = [
        round(side(box))
        for scene, o in zip(case.scenes, outcomes)
        for t, box in enumerate(scene.faces)
        if t not in {hit[0] for hit in o.hits}
    ]
    return {
        "found": found,
        "missed": faces - found,
        "missed_sides": sorted(missed),  # px: which faces a detector loses
        "false_positives": sum(o.false_positives for o in outcomes),
        "false_positives_by_photo": {
            scene.name: o.false_positives for scene, o in zip(case.scenes, outcomes) if o.false_positives
        },
        "found_pct": 100 * found / faces if faces else math.nan,
        "median_ms": 1e3 * statistics.median(o.seconds for o in outcomes),
        "box_side_over_true_median": statistics.median(ratios) if ratios else math.nan,
    }


# -- the cases ------------------------------------------------------------------------------------


def sample(images: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``count`` images [N, H, W, C] picked at random (seeded), in data set order."""
    index = np.sort(
        np.random.default_rng(seed).choice(len(images), size=min(count, len(images)), replace=False)
    )
    return images[index]


def held_out(path: Path, layout: str, split: str, size: int, channels: int) -> np.ndarray:
    """A test split as uint8 [N, H, W, C] through the project's own loader."""
    config = DataConfig(path=str(path), layout=layout, split=split, image_size=size, channels=channels)
    return load_faces(config).images.permute(0, 2, 3, 1).numpy()


@dataclass(frozen=True)
class Extent:
    """How many photos each case takes."""

    faces: int = 200  # held-out faces of each data set, one per photo
    turned: int = 40  # of those UTKFace photos, turned besides the astronaut
    small_widths: tuple[int, ...] = SMALL_WIDTHS
    stickers: int = 4  # the astronaut and 3 UTKFace faces, each pasted small on every backdrop
    backdrops: int = len(face_scenes.BACKDROPS)
    olivetti: int | None = None  # with and without glasses each; None: all
    groups: int = 30
    face_free: int | None = None  # None: every scene of face_scenes.FACE_FREE


FULL = Extent()
QUICK = Extent(
    faces=3, turned=1, small_widths=(60, 200), stickers=1, backdrops=1, olivetti=3, groups=2, face_free=3
)


def build_cases(data: Path, photos: Path, extent: Extent) -> tuple[list[Case], list[str]]:
    """The cases whose data is here, and one line for each part left out for want of its data."""
    cases, skipped = [], []
    folder = data / "UTKFace"
    utkface = held_out(folder, "utkface", "test", 64, 3) if folder.is_dir() else np.empty((0, 64, 64, 3))
    if not len(utkface):
        skipped.append(f"UTKFace faces (single, turned, small, groups): {folder} not found")
    singles = [
        face_scenes.padded_face(f"utkface test {i}", f)
        for i, f in enumerate(sample(utkface, extent.faces, 0))
    ]
    if singles:
        cases.append(Case("single: UTKFace test, x4 (face 256 px in 768)", singles))
    cases += single_fer(data / "fer2013" / "fer2013.csv", extent, skipped)
    for angle in ANGLES:
        scenes = [face_scenes.turned(s, angle) for s in [face_scenes.astronaut(), *singles[: extent.turned]]]
        cases.append(Case(f"turned {angle:+d} deg: astronaut + {len(scenes) - 1} UTKFace", scenes))
    cases += small_faces(utkface, extent)
    cases += glasses(data / "olivetti", extent, skipped)
    if len(utkface):
        pool = [face_scenes.face_sticker(f"utkface {i}", f) for i, f in enumerate(utkface)]
        scenes = [face_scenes.group(i, pool, seed=3) for i in range(extent.groups)]
        cases.append(Case("groups: 2-4 UTKFace faces (110-260 px) on 1200x900 scenes", scenes))
    present = [photos / name for name in face_scenes.PHOTO_FACES if (photos / name).is_file()]
    if present:
        cases.append(Case("real photos, faces marked by hand", [face_scenes.photo(p) for p in present]))
    else:
        skipped.append(f"real photos: {photos} not found")
    free = [face_scenes.face_free(name) for name in face_scenes.FACE_FREE[: extent.face_free]]
    cases.append(Case("no face: scikit-image scenes (long side 1200)", free))
    return cases, skipped


def single_fer(csv: Path, extent: Extent, skipped: list[str]) -> list[Case]:
    if not csv.is_file():
        skipped.append(f"FER2013 faces: {csv} not found")
        return []
    fer = sample(held_out(csv, "fer2013-csv", "test", 48, 1), extent.faces, 1)
    scenes = [face_scenes.padded_face(f"fer2013 private test {i}", f) for i, f in enumerate(fer)]
    return [Case("single: FER2013 PrivateTest, x4 grey (192 px in 576)", scenes)]


def small_faces(utkface: np.ndarray, extent: Extent) -> list[Case]:
    """Each sticker alone on each backdrop at each width, with both smallest sizes."""
    stickers = [face_scenes.astronaut_head()]
    stickers += [face_scenes.face_sticker(f"utkface {i}", f) for i, f in enumerate(sample(utkface, 3, 2))]
    cases = []
    for frac in (MIN_SIZE_FRAC, SMALL_FRAC):
        for width in extent.small_widths:
            scenes = [
                face_scenes.pasted(
                    f"{sticker.name} {width} px on {name}",
                    face_scenes.backdrop(name, *SMALL_SCENE),
                    [sticker],
                    [width],
                    seed=s * 100 + b,
                )
                for s, sticker in enumerate(stickers[: extent.stickers])
                for b, name in enumerate(face_scenes.BACKDROPS[: extent.backdrops])
            ]
            cases.append(Case(f"small: face {width} px in 1600x1200, min size {frac:g}", scenes, frac))
    return cases


def glasses(folder: Path, extent: Extent, skipped: list[str]) -> list[Case]:
    if not folder.is_dir():
        skipped.append(f"glasses (Olivetti): {folder} not found")
        return []
    wearing, bare = face_scenes.olivetti(folder)
    return [
        Case("glasses: Olivetti with glasses, x4", wearing[: extent.olivetti]),
        Case("glasses: Olivetti without glasses, x4", bare[: extent.olivetti]),
    ]


# -- report ---------------------------------------------------------------------------------------


def found_cell(stats: dict[str, Any], faces: int) -> str:
    return f"{stats['found']}/{faces} ({stats['found_pct']:.0f}%)" if faces else "-"


def report(rows: list[dict[str, Any]], skipped: list[str]) -> None:
    headers = ["case", "photos", "faces"]
    for name in DETECTORS:
        headers += [f"{name} found", f"{name} false pos.", f"{name} ms"]
    table = []
    for row in rows:
        cells = [row["case"], row["photos"], row["faces"]]
        for name in DETECTORS:
            stats = row["detectors"][name]
            cells += [found_cell(stats, row["faces"]), stats["false_positives"], stats["median_ms"]]
        table.append(cells)
    print(markdown_table(headers, table))
    for name in DETECTORS:
        ratios = [r["detectors"][name]["box_side_over_true_median"] for r in rows]
        ratios = [r for r in ratios if not math.isnan(r)]
        if ratios:
            spread = f"{min(ratios):.2f} to {max(ratios):.2f}"
            print(f"\n{name}: box side over the true side, median per case: {spread}")
    if skipped:
        print()
    for line in skipped:
        print(f"skipped: {line}")


# -- contact sheet --------------------------------------------------------------------------------

TILE = 240
COLOURS = {"truth": (0, 200, 0), "Haar": (230, 0, 0), "HOG": (0, 90, 255), "HOG 2-pass": (255, 170, 0)}


def hard(outcomes: dict[str, Outcome], scene: Scene) -> bool:
    return any(len(o.hits) < len(scene.faces) or o.false_positives for o in outcomes.values())


def tile(scene: Scene, outcomes: dict[str, Outcome]) -> np.ndarray:
    """The part of the photo around its faces and detections: true boxes green, Haar red, HOG blue,
    HOG 2-pass orange (thin)."""
    boxes = [*scene.faces, *(b for o in outcomes.values() for b in o.boxes)]
    rows, cols = scene.image.shape[:2]
    if boxes:
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
        margin = max(x1 - x0, y1 - y0) // 3
        x0, y0, x1, y1 = (
            max(x0 - margin, 0),
            max(y0 - margin, 0),
            min(x1 + margin, cols),
            min(y1 + margin, rows),
        )
    else:
        x0, y0, x1, y1 = 0, 0, cols, rows
    scale = TILE / max(x1 - x0, y1 - y0)
    view = cv2.resize(scene.image[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((TILE + 30, TILE, 3), 255, np.uint8)
    canvas[: view.shape[0], : view.shape[1]] = view
    for label, group in [("truth", scene.faces), *((n, o.boxes) for n, o in outcomes.items())]:
        for x, y, w, h in group:
            corner = (round((x - x0) * scale), round((y - y0) * scale))
            far = (corner[0] + round(w * scale), corner[1] + round(h * scale))
            cv2.rectangle(canvas, corner, far, COLOURS[label], 1 if label == "HOG 2-pass" else 2)
    cv2.putText(canvas, scene.name[:34], (3, TILE + 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1)
    for i, (name, outcome) in enumerate(outcomes.items()):  # found/faces+false positives, in its colour
        counts = f"{len(outcome.hits)}/{len(scene.faces)}+{outcome.false_positives}"
        cv2.putText(canvas, counts, (3 + 80 * i, TILE + 26), cv2.FONT_HERSHEY_SIMPLEX, 0.4, COLOURS[name], 1)
    return canvas


def contact_sheet(path: Path, results: list[tuple[Case, dict[str, list[Outcome]]]], limit: int) -> None:
    """The first photo of every case (to check its true boxes), then the photos where a detector
    missed a face or found one that is not there, taken from each case in turn; 8 tiles a row."""
    per_scene = [
        [(scene, {n: outs[n][i] for n in outs}) for i, scene in enumerate(case.scenes)]
        for case, outs in results
    ]
    chosen = [scenes[0] for scenes in per_scene if scenes]
    queues = [[s for s in scenes[1:] if hard(s[1], s[0])] for scenes in per_scene]
    while len(chosen) < limit and any(queues):
        chosen += [queue.pop(0) for queue in queues if queue][: limit - len(chosen)]
    tiles = [tile(scene, outcomes) for scene, outcomes in chosen]
    tiles += [np.full_like(tiles[0], 255)] * (-len(tiles) % 8)
    sheet = np.vstack([np.hstack(tiles[i : i + 8]) for i in range(0, len(tiles), 8)])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {path} ({len(chosen)} photos)")


def main(argv: list[str] | None = None) -> None:
    p = parser("detectors", __doc__)
    p.add_argument("--data", type=Path, default=Path("data"), help="UTKFace/, fer2013/fer2013.csv, olivetti/")
    p.add_argument(
        "--photos", type=Path, default=PHOTOS, help="the real photos (see face_scenes.PHOTO_FACES)"
    )
    p.add_argument("--threads", type=int, default=2, help="OpenCV threads (default: %(default)s)")
    p.add_argument("--sheet", type=Path, help="write a contact sheet of the hard cases here (PNG)")
    p.add_argument("--sheet-tiles", type=int, default=64)
    args = p.parse_args(argv)
    set_threads(args.threads)
    info = machine()
    print(describe(info), flush=True)
    warn_if_busy(info)
    cases, skipped = build_cases(args.data, args.photos, QUICK if args.quick else FULL)
    for name in DETECTORS:  # load each model before anything is timed
        detect(name, cases[0].scenes[0], MIN_SIZE_FRAC)
    results, rows = [], []
    for case in cases:
        outcomes = run_case(case)
        results.append((case, outcomes))
        rows.append(
            {
                "case": case.name,
                "photos": len(case.scenes),
                "faces": sum(len(s.faces) for s in case.scenes),
                "min_size_frac": case.min_size_frac,
                "detectors": {name: summary(case, outcomes[name]) for name in DETECTORS},
            }
        )
        print(f"  {case.name}: done", flush=True)
    print()
    report(rows, skipped)
    after = machine()["load_average_1m"]
    print(f"\nload average {info['load_average_1m']} before, {after} after, on {info['cores']} cores")
    if args.sheet:
        contact_sheet(args.sheet, results, args.sheet_tiles)
    payload = {
        "threads": args.threads, "size_factor": SIZE_FACTOR, "rows": rows, "skipped": skipped,
        "load_average_after": after,
    }  # fmt: skip
    write_json(args.json, payload, info)


if __name__ == "__main__":
    main()
