"""Face data sets read from the layouts their users already have on disk.

Every loader decodes the whole split up front into one uint8 tensor ``[N, C, H, W]``: the supported
data sets are small (FER2013 is 35,887 images of 48x48), so training never waits on file I/O.

Layouts (``DataConfig.layout``; ``"auto"`` picks one from what is on disk):

- ``fer2013-csv``: the Kaggle ``fer2013.csv`` (``emotion,pixels,Usage``). Usage ``Training`` is the
  train split, ``PublicTest`` val and ``PrivateTest`` test. A CSV without a ``Usage`` column (Kaggle's
  ``train.csv``) is split by line number like the layouts without an official split, below.
  With ``labels="ferplus"`` each face takes the majority of its FER+ crowd votes instead, read from
  Microsoft's ``fer2013new.csv`` beside the CSV (vae/ferplus.py); faces no vote calls an expression
  are left out.
- ``fer2013-folders``: ``train/<expression>/*`` and ``test/<expression>/*`` (plus ``val/`` or
  ``validation/`` where present). Files in ``test/`` named ``PublicTest*`` are the val split and
  ``PrivateTest*`` the test split; without such names, val and test are both the whole ``test/``.
- ``utkface``: ``<age>_<gender>_<race>_<timestamp>.*``; a missing or out-of-range gender or race is -1.
- ``orl``: ORL / Olivetti ``s<subject>/<k>.*``; attribute ``subject`` is 0-based (``s1`` -> 0).
- ``celeba``: ``img_align_celeba/`` and the official ``list_*.txt`` files, split by
  ``list_eval_partition.txt`` (read through ``torchvision.datasets.CelebA``, never downloaded).
- ``folder``: any folder of images, searched recursively (Simpsons ``cropped/``, LFW, ...).

Layouts without an official split (utkface, orl, folder) are split by the CRC32 of each file's path
relative to the data set folder: buckets 0-89 of ``crc32 % 100`` are train, 90-94 val and 95-99 test.
That split is stable across runs and machines, and adding files never moves the existing ones.

Images are centre-cropped to a square, resized with Lanczos to ``image_size`` and converted to
``channels`` (Pillow's ``L`` or ``RGB``). ``limit`` keeps the first N images of the split in file order:
CSV row order, or natural order of the file paths (FER folders: of the file names, so the classes mix).
"""

from __future__ import annotations

import csv
import math
import re
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import takewhile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vae.ferplus import FERPLUS_FILE, majority_labels, read_votes

EXPRESSIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
LAYOUTS = ("auto", "fer2013-csv", "fer2013-folders", "utkface", "folder", "celeba", "orl")
SPLITS = ("train", "val", "test")
LABELS = ("fer", "ferplus")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".pgm")

FER_USAGE = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
UTKFACE_GENDERS = 2  # 0 = male, 1 = female
UTKFACE_RACES = 5  # 0 = white, 1 = black, 2 = asian, 3 = indian, 4 = others
UTKFACE_NAME = re.compile(r"^\d+_\d+_\d+_\d+")
ORL_SUBJECT = re.compile(r"^s(\d+)$")
CELEBA_SPLIT = {"train": "train", "val": "valid", "test": "test"}
CELEBA_FILES = (
    "img_align_celeba",
    "list_eval_partition.txt",
    "identity_CelebA.txt",
    "list_attr_celeba.txt",
    "list_bbox_celeba.txt",
    "list_landmarks_align_celeba.txt",
)


class DataError(ValueError):
    """A data set is missing, empty or malformed; the message says what was expected where."""


@dataclass(frozen=True)
class DataConfig:
    """Where a face data set is and how to decode it."""

    path: str
    layout: str = "auto"
    split: str = "train"
    image_size: int = 64
    channels: int = 1
    limit: int | None = None
    labels: str = "fer"  # FER2013 csv: fer (its own labels) | ferplus (FER+ majority, vae/ferplus.py)

    def __post_init__(self) -> None:
        checks = (
            ("layout", self.layout, LAYOUTS),
            ("split", self.split, SPLITS),
            ("labels", self.labels, LABELS),
        )
        for name, value, allowed in checks:
            if value not in allowed:
                raise DataError(f"unknown {name} {value!r} (expected one of {', '.join(allowed)})")
        if self.channels not in (1, 3):
            raise DataError(f"channels must be 1 or 3, got {self.channels}")
        if self.image_size < 1:
            raise DataError(f"image_size must be positive, got {self.image_size}")
        if self.limit is not None and self.limit < 1:
            raise DataError(f"limit must be positive or None, got {self.limit}")


@dataclass
class FaceData:
    """A decoded split: images with their expression labels and any per-image attributes."""

    images: torch.Tensor
    labels: torch.Tensor
    attributes: dict[str, torch.Tensor]
    label_names: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(
                f"images must be uint8 [N, C, H, W], got {self.images.dtype} {list(self.images.shape)}"
            )
        columns = {"labels": self.labels, **self.attributes}
        for name, column in columns.items():
            if column.shape[:1] != self.images.shape[:1]:
                raise ValueError(f"{name} has {column.shape[0]} rows for {len(self.images)} images")

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index: torch.Tensor) -> FaceData:
        """The images picked by an index or boolean mask, with their labels and attributes."""
        attributes = {name: column[index] for name, column in self.attributes.items()}
        return FaceData(self.images[index], self.labels[index], attributes, self.label_names, self.source)


def as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 images in [0, 255] -> float in [-1, 1], the range every model works in."""
    return images.float().div(127.5).sub(1.0)


def to_model_input(images: np.ndarray) -> torch.Tensor:
    """uint8 images [N, H, W] (grey) or [N, H, W, 3] (RGB), as photos hold them -> float NCHW in [-1, 1]."""
    x = as_float(torch.from_numpy(np.ascontiguousarray(images)))
    return x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Model output NCHW in [-1, 1] -> uint8 [N, H, W] for one channel, [N, H, W, 3] for three."""
    images = ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
    return images[:, 0] if images.shape[1] == 1 else images.transpose(0, 2, 3, 1)


def load_faces(config: DataConfig) -> FaceData:
    """Decode one split of the data set at ``config.path``; raises DataError naming the culprit."""
    layout, path = _locate(config.path, config.layout)
    if config.labels == "ferplus" and layout != "fer2013-csv":
        raise DataError(f"{path}: FER+ labels need the fer2013.csv layout, whose rows {FERPLUS_FILE} follows")
    return _READERS[layout](path, config)


def detect_layout(path: str | Path, layout: str = "auto") -> str:
    """The layout ``load_faces`` would read at ``path``, without decoding any image."""
    return _locate(path, layout)[0]


def _locate(path: str | Path, layout: str) -> tuple[str, Path]:
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"data path {path} does not exist")
    return _resolve_layout(path, layout)


# --- layout detection ---------------------------------------------------------------------------


def _resolve_layout(path: Path, layout: str) -> tuple[str, Path]:
    """The layout and the file/folder to read, also when ``path`` is the parent of one data set."""
    if path.is_file():
        if layout == "fer2013-csv" or (layout == "auto" and path.suffix.lower() == ".csv"):
            return "fer2013-csv", path
        raise DataError(f"{path} is a file, but only a FER2013 .csv can be read from one; pass a folder")
    found = _detect(path)
    if layout == "folder" or (found is not None and layout in ("auto", found)):
        return found if layout == "auto" else layout, path
    if not _find_images(path, recursive=False):
        inside = [
            (kind, child)
            for child in _children(path)
            if (kind := _detect(child)) and layout in ("auto", kind)
        ]
        if len(inside) > 1:
            listing = ", ".join(f"{child.name} ({kind})" for kind, child in inside)
            raise DataError(f"{path} holds several data sets: {listing}; point the path at one of them")
        if inside:
            return inside[0]
    return ("folder" if layout == "auto" else layout), path


def _detect(path: Path) -> str | None:
    """The layout ``path`` itself is in, judged without reading deeper than its direct children."""
    if path.is_file():
        return "fer2013-csv" if path.suffix.lower() == ".csv" and _has_pixels_column(path) else None
    if any((path / name).is_dir() for name in ("test", "val", "validation")) and any(
        child.name.lower() in EXPRESSIONS for child in _children(path / "train")
    ):
        return "fer2013-folders"
    if (path / "img_align_celeba").is_dir() and (path / "list_eval_partition.txt").is_file():
        return "celeba"
    subfolders = [child.name for child in _children(path) if child.is_dir()]
    if subfolders and all(ORL_SUBJECT.match(name) for name in subfolders):
        return "orl"
    images = _find_images(path, recursive=False)
    if images and sum(bool(UTKFACE_NAME.match(image.name)) for image in images) > len(images) / 2:
        return "utkface"
    return None


def _has_pixels_column(path: Path) -> bool:
    with path.open(newline="", encoding="utf-8", errors="replace") as file:
        header = next(csv.reader(file), [])
    return "pixels" in (name.strip().lower() for name in header)


def _children(folder: Path) -> list[Path]:
    """Entries of ``folder`` in natural order, without hidden ones (``.DS_Store``, ``._x.jpg``)."""
    if not folder.is_dir():
        return []
    return sorted((child for child in folder.iterdir() if not child.name.startswith(".")), key=_natural_key)


def _natural_key(path: Path | str) -> list[int | str]:
    """Sort key that puts ``s2`` before ``s10`` and ``PrivateTest_9`` before ``PrivateTest_10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(path))]


# --- readers ------------------------------------------------------------------------------------


def _read_fer_csv(path: Path, config: DataConfig) -> FaceData:
    """The rows of one Usage; only those are parsed, by numpy's C parser (all 35,887 in ~4 s)."""
    relabel = _ferplus_labels(path, config.split) if config.labels == "ferplus" else None
    images: list[np.ndarray] = []
    labels: list[int] = []
    for row, pixels, label in _fer_csv_rows(path, config.split):
        if relabel is not None:
            label = relabel(row, label)
            if label < 0:  # no FER+ vote for any expression: not a face, or unknown
                continue
        images.append(_fit_image(Image.fromarray(pixels), config))
        labels.append(label)
        if len(images) == config.limit:
            break
    return FaceData(
        images=_stack(images),
        labels=torch.tensor(labels, dtype=torch.int64),
        attributes={},
        label_names=EXPRESSIONS,
        source=f"fer2013-csv:{path}[{config.split}]",
    )


def _ferplus_labels(path: Path, split: str) -> Callable[[int, int], int]:
    """(row, FER2013 label) -> the FER+ majority label, read from fer2013new.csv beside the CSV."""
    votes_path = path.with_name(FERPLUS_FILE)
    if not votes_path.is_file():
        raise DataError(
            f"FER+ labels: no {votes_path}; put Microsoft's {FERPLUS_FILE} (github.com/microsoft/FERPlus) "
            "beside the FER2013 CSV, or use its own labels (--labels fer)"
        )
    try:
        votes, usage = read_votes(votes_path, EXPRESSIONS)
    except ValueError as error:
        raise DataError(str(error)) from None

    def relabel(row: int, label: int) -> int:
        if row >= len(usage) or usage[row] != FER_USAGE[split]:
            raise DataError(
                f"FER+ labels {votes_path}: row {row + 1} is not a {FER_USAGE[split]} face; "
                "the file must list the rows of the FER2013 CSV in the same order"
            )
        return int(majority_labels(votes[row : row + 1], np.array([label]))[0])

    return relabel


def _fer_csv_rows(path: Path, split: str) -> Iterator[tuple[int, np.ndarray, int]]:
    """(row, pixels, emotion or -1) of the rows in ``split``, in file order; DataError names the bad line."""
    with path.open(newline="", encoding="utf-8", errors="replace") as file:
        rows = csv.reader(file)
        header = [name.strip().lower() for name in next(rows, [])]
        if "pixels" not in header:
            raise DataError(
                f"FER2013 CSV {path}: header {header} has no 'pixels' column (expected emotion,pixels,Usage)"
            )
        pixels = header.index("pixels")
        emotion = _index_or_none(header, "emotion")
        usage = _index_or_none(header, "usage")
        found = 0
        try:
            for index, row in enumerate(rows):
                where = f"FER2013 CSV {path} line {rows.line_num}"
                if len(row) != len(header):
                    raise DataError(
                        f"{where}: {len(row)} fields, expected {len(header)} ({','.join(header)})"
                    )
                if _fer_row_split(row, usage, rows.line_num, where) != split:
                    continue
                found += 1
                label = -1 if emotion is None else _parse_emotion(row[emotion], where)
                yield index, _parse_pixels(row[pixels], where), label
        except csv.Error as error:  # e.g. a field over csv.field_size_limit()
            raise DataError(f"FER2013 CSV {path} line {rows.line_num}: {error}") from error
    if not found:
        wanted = f"Usage={FER_USAGE[split]}" if usage is not None else f"split {split}"
        raise DataError(f"FER2013 CSV {path}: no rows with {wanted}")


def _index_or_none(header: list[str], name: str) -> int | None:
    return header.index(name) if name in header else None


def _fer_row_split(row: list[str], usage: int | None, line: int, where: str) -> str:
    if usage is None:
        return _hash_split(str(line))
    for split, name in FER_USAGE.items():
        if row[usage].strip() == name:
            return split
    raise DataError(f"{where}: Usage {row[usage]!r} is not one of {', '.join(FER_USAGE.values())}")


def _parse_pixels(text: str, where: str) -> np.ndarray:
    """A square grayscale image from space-separated ints in 0..255."""
    try:
        values = np.fromstring(text, dtype=np.int32, sep=" ")
    except ValueError:
        values = np.empty(0, dtype=np.int32)
    side = math.isqrt(values.size)
    if values.size == 0 or side * side != values.size or values.min() < 0 or values.max() > 255:
        raise DataError(
            f"{where}: pixels must be a square number (48x48 = 2304) of space-separated ints 0..255"
        )
    return values.astype(np.uint8).reshape(side, side)


def _parse_emotion(text: str, where: str) -> int:
    text = text.strip()
    if not (text.isdigit() and int(text) < len(EXPRESSIONS)):
        raise DataError(f"{where}: emotion {text!r} is not an integer 0..{len(EXPRESSIONS) - 1}")
    return int(text)


def _read_fer_folders(path: Path, config: DataConfig) -> FaceData:
    """``<split>/<expression>/*``; the label is the expression folder's name."""
    folder, usage_prefix = _fer_split_folder(path, config.split)
    files = _find_images(folder, recursive=True, required=True)
    if usage_prefix is not None and any(
        file.name.startswith(("PublicTest", "PrivateTest")) for file in files
    ):
        files = [file for file in files if file.name.startswith(usage_prefix)]
    files.sort(key=lambda file: (_natural_key(file.name), _natural_key(file)))
    labels = [_expression_of(file, folder) for file in files]
    return _assemble("fer2013-folders", path, config, files, labels, {}, EXPRESSIONS)


def _fer_split_folder(path: Path, split: str) -> tuple[Path, str | None]:
    """The folder holding ``split``, and the file-name prefix that selects it inside ``test/``."""
    val_folders = [path / name for name in ("val", "validation") if (path / name).is_dir()]
    if split == "train":
        folder, prefix = path / "train", None
    elif split == "val" and val_folders:
        folder, prefix = val_folders[0], None
    else:
        folder, prefix = path / "test", FER_USAGE[split]
    if not folder.is_dir():
        raise DataError(f"FER2013 folders {path}: no {folder.name}/ folder for split {split}")
    return folder, prefix


def _expression_of(file: Path, split_folder: Path) -> int:
    name = file.relative_to(split_folder).parts[0].lower()
    if name not in EXPRESSIONS:
        raise DataError(
            f"FER2013 folders: {file} is not inside an expression folder ({', '.join(EXPRESSIONS)})"
        )
    return EXPRESSIONS.index(name)


def _read_utkface(path: Path, config: DataConfig) -> FaceData:
    """``<age>_<gender>_<race>_<timestamp>.*``; files with no leading age are skipped with a warning."""
    parsed = [
        (file, _parse_utkface_name(file.name)) for file in _find_images(path, recursive=False, required=True)
    ]
    skipped = [file.name for file, fields in parsed if fields is None]
    if skipped:
        warnings.warn(
            f"UTKFace {path}: skipped {len(skipped)} files whose names do not start with <age>_"
            f" (e.g. {skipped[0]})",
            stacklevel=3,
        )
    kept = [(file, fields) for file, fields in parsed if fields is not None and _in_split(file, path, config)]
    attributes = {name: [fields[i] for _, fields in kept] for i, name in enumerate(("age", "gender", "race"))}
    files = [file for file, _ in kept]
    return _assemble("utkface", path, config, files, [-1] * len(files), attributes)


def _parse_utkface_name(name: str) -> tuple[int, int, int] | None:
    """(age, gender, race), -1 for a missing or invalid code; None when there is no age."""
    age, *rest = name.split(".")[0].split("_")
    if not age.isdigit():
        return None
    codes = list(takewhile(lambda field: len(field) < 8, rest))  # the long timestamp ends the codes
    gender, race = [*codes, "", ""][:2]
    return int(age), _code_or_missing(gender, UTKFACE_GENDERS), _code_or_missing(race, UTKFACE_RACES)


def _code_or_missing(text: str, count: int) -> int:
    return int(text) if text.isdigit() and int(text) < count else -1


def _read_orl(path: Path, config: DataConfig) -> FaceData:
    """``s<subject>/<k>.*`` (ORL / Olivetti); subject ``s1`` becomes attribute value 0."""
    subjects = [
        (folder, int(m.group(1)) - 1) for folder in _children(path) if (m := ORL_SUBJECT.match(folder.name))
    ]
    if not subjects:
        raise DataError(f"ORL {path}: no s<subject>/ folders found")
    kept = [
        (file, subject)
        for folder, subject in subjects
        for file in _find_images(folder, recursive=False, required=True)
        if _in_split(file, path, config)
    ]
    files = [file for file, _ in kept]
    attributes = {"subject": [subject for _, subject in kept]}
    return _assemble("orl", path, config, files, [-1] * len(files), attributes)


def _read_folder(path: Path, config: DataConfig) -> FaceData:
    """Every image below ``path``; no labels."""
    files = [
        file for file in _find_images(path, recursive=True, required=True) if _in_split(file, path, config)
    ]
    return _assemble("folder", path, config, files, [-1] * len(files), {})


def _read_celeba(path: Path, config: DataConfig) -> FaceData:
    """Official split, identity and the 40 binary attributes, through torchvision's CelebA index."""
    missing = [name for name in CELEBA_FILES if not (path / name).exists()]
    if missing:
        raise DataError(
            f"CelebA {path}: missing {', '.join(missing)} (expected {', '.join(CELEBA_FILES)} of the "
            "official release in this folder)"
        )
    from torchvision.datasets import CelebA  # deferred: importing torchvision costs over a second

    class LocalCelebA(CelebA):
        base_folder = ""  # read the files from `path` itself, whatever that folder is called

    try:
        index = LocalCelebA(
            str(path), split=CELEBA_SPLIT[config.split], target_type="identity", download=False
        )
    except RuntimeError as error:
        raise DataError(f"CelebA {path}: torchvision rejected the list_*.txt files ({error})") from error
    files = [path / "img_align_celeba" / name for name in index.filename]
    attributes = {"identity": index.identity[:, 0].tolist()}
    attributes |= {name: index.attr[:, i].tolist() for i, name in enumerate(index.attr_names) if name}
    return _assemble("celeba", path, config, files, [-1] * len(files), attributes)


# --- shared helpers -----------------------------------------------------------------------------


def _find_images(folder: Path, recursive: bool, required: bool = False) -> list[Path]:
    """Image files in ``folder`` (or below it), in natural path order."""
    candidates = folder.rglob("*") if recursive else folder.iterdir()
    images = sorted(
        (
            file
            for file in candidates
            if file.suffix.lower() in IMAGE_SUFFIXES and not file.name.startswith(".") and file.is_file()
        ),
        key=_natural_key,
    )
    if required and not images:
        patterns = "/".join(f"*{suffix}" for suffix in IMAGE_SUFFIXES)
        raise DataError(f"no images found under {folder} (expected {patterns} files)")
    return images


def _hash_split(name: str) -> str:
    """90/5/5 train/val/test by CRC32, for data sets without an official split (see module docstring)."""
    bucket = zlib.crc32(name.encode()) % 100
    return "train" if bucket < 90 else "val" if bucket < 95 else "test"


def _in_split(file: Path, root: Path, config: DataConfig) -> bool:
    return _hash_split(file.relative_to(root).as_posix()) == config.split


def _assemble(
    layout: str,
    path: Path,
    config: DataConfig,
    files: list[Path],
    labels: list[int],
    attributes: dict[str, list[int]],
    label_names: tuple[str, ...] = (),
) -> FaceData:
    """Decode the first ``limit`` files of a split, with their labels and attributes."""
    source = f"{layout}:{path}[{config.split}]"
    keep = slice(config.limit)
    if not files:
        raise DataError(f"{source}: no images in split {config.split}")
    return FaceData(
        images=_stack([_read_image(file, config) for file in files[keep]]),
        labels=torch.tensor(labels[keep], dtype=torch.int64),
        attributes={
            name: torch.tensor(column[keep], dtype=torch.int64) for name, column in attributes.items()
        },
        label_names=label_names,
        source=source,
    )


def _read_image(file: Path, config: DataConfig) -> np.ndarray:
    try:
        with Image.open(file) as image:
            return _fit_image(image, config)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(f"cannot read image {file}: {error}") from error


def _fit_image(image: Image.Image, config: DataConfig) -> np.ndarray:
    """Centre-crop to a square, resize to ``image_size`` and convert to ``channels``: [H, W, C] uint8."""
    image = image.convert("L" if config.channels == 1 else "RGB")
    size, (width, height) = config.image_size, image.size
    if (width, height) != (size, size):
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.resize((size, size), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))
    return np.asarray(image).reshape(size, size, config.channels)


def _stack(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


_READERS = {
    "fer2013-csv": _read_fer_csv,
    "fer2013-folders": _read_fer_folders,
    "utkface": _read_utkface,
    "orl": _read_orl,
    "folder": _read_folder,
    "celeba": _read_celeba,
}
