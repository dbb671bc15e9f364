"""vae.data on tiny synthetic data in each layout, plus the real FER2013 where ../shared/data exists."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vae.data import (
    EXPRESSIONS,
    DataConfig,
    DataError,
    FaceData,
    as_float,
    load_faces,
    to_model_input,
    to_uint8,
)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
USAGES = ("Training", "PublicTest", "PrivateTest")


def gray(seed: int, side: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (side, side), dtype=np.uint8)


def write_csv(
    path: Path, rows: list[tuple[object, ...]], header: tuple[str, ...] = ("emotion", "pixels", "Usage")
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def pixels(image: np.ndarray) -> str:
    return " ".join(map(str, image.ravel().tolist()))


def save(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, quality=95)
    return path


def flat(value: int, size: int = 16, channels: int = 1) -> np.ndarray:
    """A uniform image whose value identifies it after loading (resizing keeps uniform images exact)."""
    shape = (size, size) if channels == 1 else (size, size, channels)
    return np.full(shape, value, dtype=np.uint8)


def all_splits(path: Path, **kwargs: object) -> dict[str, FaceData]:
    return {
        split: load_faces(DataConfig(str(path), split=split, **kwargs)) for split in ("train", "val", "test")
    }


# --- FER2013 CSV --------------------------------------------------------------------------------

FER_ROWS = [  # (emotion, pixel seed, Usage) in file order
    (3, 0, "Training"),
    (0, 1, "Training"),
    (6, 2, "Training"),
    (5, 3, "PublicTest"),
    (1, 4, "PublicTest"),
    (4, 5, "PrivateTest"),
]


@pytest.fixture
def tiny_fer_csv(tmp_path: Path) -> Path:
    """FER_ROWS as a Kaggle fer2013.csv (named apart from conftest's larger session-wide fer_csv)."""
    return write_csv(tmp_path / "fer2013" / "fer2013.csv", [(e, pixels(gray(s)), u) for e, s, u in FER_ROWS])


@pytest.mark.parametrize(
    ("split", "usage"), [("train", "Training"), ("val", "PublicTest"), ("test", "PrivateTest")]
)
def test_fer_csv_maps_usage_to_split_and_keeps_pixels_exactly(
    tiny_fer_csv: Path, split: str, usage: str
) -> None:
    data = load_faces(DataConfig(str(tiny_fer_csv), split=split, image_size=48))
    rows = [(label, seed) for label, seed, row_usage in FER_ROWS if row_usage == usage]
    assert data.images.dtype == torch.uint8 and data.images.shape == (len(rows), 1, 48, 48)
    assert torch.equal(data.images[:, 0], torch.from_numpy(np.stack([gray(seed) for _, seed in rows])))
    assert data.labels.dtype == torch.int64 and data.labels.tolist() == [label for label, _ in rows]
    assert data.label_names == EXPRESSIONS and data.attributes == {}
    assert data.source == f"fer2013-csv:{tiny_fer_csv}[{split}]"


def test_fer_csv_resizes_converts_to_rgb_and_limits(tiny_fer_csv: Path) -> None:
    data = load_faces(DataConfig(str(tiny_fer_csv), image_size=32, channels=3, limit=2))
    assert data.images.shape == (2, 3, 32, 32) and data.labels.tolist() == [3, 0]
    assert torch.equal(data.images[:, 0], data.images[:, 2])  # gray -> RGB repeats the channel


def test_fer_csv_found_from_its_parent_folder(tiny_fer_csv: Path) -> None:
    assert load_faces(DataConfig(str(tiny_fer_csv.parent))).source.startswith(f"fer2013-csv:{tiny_fer_csv}")


# --- FER+ labels --------------------------------------------------------------------------------

FERPLUS_HEADER = (
    "Usage",
    "Image name",
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
FERPLUS_VOTES = [  # per FER_ROWS row: votes in FERPLUS_HEADER order from neutral
    (0, 8, 0, 0, 0, 0, 0, 0, 2, 0),  # happy, as labelled
    (0, 0, 4, 0, 0, 0, 6, 0, 0, 0),  # labelled angry, the crowd says fear
    (5, 0, 0, 5, 0, 0, 0, 0, 0, 0),  # a neutral-sad tie: the FER label (neutral) wins
    (0, 0, 7, 0, 0, 0, 3, 0, 0, 0),  # surprise, as labelled
    (0, 0, 0, 0, 0, 0, 0, 0, 0, 10),  # not a face: left out
    (1, 0, 0, 2, 0, 0, 0, 7, 0, 0),  # labelled sad, the crowd says contempt: its best expression is sad
]


def write_ferplus(fer_csv: Path, rows: list[tuple[object, ...]] | None = None) -> Path:
    if rows is None:
        rows = [
            (usage, f"fer{i:07d}.png", *votes)
            for i, ((_, _, usage), votes) in enumerate(zip(FER_ROWS, FERPLUS_VOTES))
        ]
    return write_csv(fer_csv.with_name("fer2013new.csv"), rows, header=FERPLUS_HEADER)


def test_ferplus_labels_are_the_vote_majority(tiny_fer_csv: Path) -> None:
    write_ferplus(tiny_fer_csv)
    splits = all_splits(tiny_fer_csv, labels="ferplus", image_size=48)
    names = {split: [EXPRESSIONS[i] for i in data.labels] for split, data in splits.items()}
    assert names == {"train": ["happy", "fear", "neutral"], "val": ["surprise"], "test": ["sad"]}
    assert torch.equal(splits["val"].images[0, 0], torch.from_numpy(gray(3)))  # the not-a-face row is gone


def test_ferplus_without_its_file_or_out_of_step_is_a_clear_error(tiny_fer_csv: Path) -> None:
    with pytest.raises(DataError, match=r"fer2013new\.csv"):
        load_faces(DataConfig(str(tiny_fer_csv), labels="ferplus"))
    write_ferplus(tiny_fer_csv, [("PublicTest", "", *votes) for votes in FERPLUS_VOTES])
    with pytest.raises(DataError, match="same order"):
        load_faces(DataConfig(str(tiny_fer_csv), labels="ferplus"))
    write_ferplus(tiny_fer_csv, [("Training", "", "x", *votes[1:]) for votes in FERPLUS_VOTES])
    with pytest.raises(DataError, match="integers"):
        load_faces(DataConfig(str(tiny_fer_csv), labels="ferplus"))


def test_ferplus_needs_the_csv_layout(tmp_path: Path) -> None:
    save(tmp_path / "train" / "happy" / "a.png", flat(1))
    save(tmp_path / "test" / "happy" / "b.png", flat(2))
    with pytest.raises(DataError, match=r"fer2013\.csv layout"):
        load_faces(DataConfig(str(tmp_path), labels="ferplus"))


def test_fer_csv_without_usage_is_split_by_line(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "train.csv", [(i % 7, pixels(flat(i))) for i in range(60)], ("emotion", "pixels")
    )
    splits = all_splits(path, image_size=16)
    values = sorted(v for data in splits.values() for v in data.images[:, 0, 0, 0].tolist())
    assert values == list(range(60)) and all(len(data) > 0 for data in splits.values())


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ((3, "12 x 255", "Training"), "line 2: pixels"),
        ((3, "1 2 3", "Training"), "line 2: pixels"),
        ((3, "1 2 3 256", "Training"), "line 2: pixels"),
        ((9, pixels(gray(0)), "Training"), "line 2: emotion '9'"),
        ((3, pixels(gray(0)), "Tranining"), "line 2: Usage 'Tranining'"),
        ((3, pixels(gray(0))), "line 2: 2 fields, expected 3"),
        ((3, pixels(gray(0)), "PublicTest"), "no rows with Usage=Training"),
    ],
)
def test_fer_csv_errors_name_file_and_line(tmp_path: Path, row: tuple[object, ...], message: str) -> None:
    path = write_csv(tmp_path / "bad.csv", [row])
    with pytest.raises(DataError, match=re.escape(f"FER2013 CSV {path}") + ".*" + re.escape(message)):
        load_faces(DataConfig(str(path)))


def test_fer_csv_without_pixels_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", [(1, 2)], ("a", "b"))
    with pytest.raises(DataError, match=f"{re.escape(str(path))}.*no 'pixels' column"):
        load_faces(DataConfig(str(path)))


# --- FER2013 folders ----------------------------------------------------------------------------


def fer_folders(root: Path, prefixed: bool = True) -> Path:
    """train/: happy, sad; test/: angry (PublicTest), fear and neutral (PrivateTest); value = row."""
    files = [("train/happy", "Training", 0), ("train/sad", "Training", 1), ("train/happy", "Training", 10)]
    files += [
        ("test/angry", "PublicTest", 2),
        ("test/fear", "PrivateTest", 3),
        ("test/neutral", "PrivateTest", 4),
    ]
    for folder, usage, row in files:
        save(root / folder / (f"{usage}_{row}.png" if prefixed else f"{row}.png"), flat(10 * row, 48))
    return root


def test_fer_folders_splits_by_folder_and_name_prefix(tmp_path: Path) -> None:
    splits = all_splits(fer_folders(tmp_path / "fer"), image_size=48)
    assert all(data.source.startswith("fer2013-folders:") for data in splits.values())
    assert all(data.label_names == EXPRESSIONS for data in splits.values())
    seen = {split: (data.images[:, 0, 0, 0].tolist(), data.labels.tolist()) for split, data in splits.items()}
    expr = EXPRESSIONS.index
    assert seen["train"] == ([0, 10, 100], [expr("happy"), expr("sad"), expr("happy")])  # natural name order
    assert seen["val"] == ([20], [expr("angry")])
    assert seen["test"] == ([30, 40], [expr("fear"), expr("neutral")])


def test_fer_folders_without_prefix_use_whole_test_folder_twice(tmp_path: Path) -> None:
    splits = all_splits(fer_folders(tmp_path, prefixed=False), image_size=48)
    assert torch.equal(splits["val"].images, splits["test"].images) and len(splits["test"]) == 3


def test_fer_folders_reject_unknown_expression(tmp_path: Path) -> None:
    fer_folders(tmp_path)
    bad = save(tmp_path / "train" / "contempt" / "Training_7.png", flat(0, 48))
    with pytest.raises(DataError, match=re.escape(str(bad))):
        load_faces(DataConfig(str(tmp_path)))


# --- UTKFace, ORL, plain folders ----------------------------------------------------------------

UTK_NAMES = [f"{20 + i}_{i % 2}_{i % 5}_2017010{i:010d}.jpg.chip.png" for i in range(40)]
UTK_ODD = {"61_1_20170109142408075.png": (61, 1, -1), "61_3_20170109150557335.png": (61, -1, -1)}


def test_utkface_parses_names_and_tolerates_malformed_ones(tmp_path: Path) -> None:
    names = [*UTK_NAMES, *UTK_ODD]
    for value, name in enumerate(names):
        save(tmp_path / "UTKFace" / name, flat(value, channels=3))
    save(tmp_path / "UTKFace" / "face.png", flat(255, channels=3))
    with pytest.warns(UserWarning, match=r"skipped 1 files .*face\.png"):
        splits = all_splits(tmp_path, image_size=16, channels=3)  # found from the parent folder
    expected = {i: (20 + i, i % 2, i % 5) for i in range(len(UTK_NAMES))}
    expected |= {len(UTK_NAMES) + k: fields for k, fields in enumerate(UTK_ODD.values())}
    got = {}
    for data in splits.values():
        assert data.source.startswith(f"utkface:{tmp_path / 'UTKFace'}")
        assert data.images.shape[1:] == (3, 16, 16)
        assert (data.labels == -1).all() and data.label_names == ()
        for image, age, gender, race in zip(
            data.images, *(data.attributes[k] for k in ("age", "gender", "race")), strict=True
        ):
            got[int(image[0, 0, 0])] = (int(age), int(gender), int(race))
    assert got == expected


def orl(root: Path) -> Path:
    for subject in (1, 2, 10):
        for k in range(1, 11):
            save(root / f"s{subject}" / f"{k}.pgm", flat(subject * 20 + k, 64))
    return root


def test_orl_subjects_and_a_stable_disjoint_split(tmp_path: Path) -> None:
    splits = all_splits(orl(tmp_path / "olivetti"), channels=3)
    values, subjects = [], []
    for data in splits.values():
        assert data.source.startswith("orl:") and data.images.shape[1:] == (3, 64, 64)
        values += data.images[:, 0, 0, 0].tolist()
        subjects += data.attributes["subject"].tolist()
    assert sorted(values) == sorted(s * 20 + k for s in (1, 2, 10) for k in range(1, 11))
    assert sorted(subjects) == [0] * 10 + [1] * 10 + [9] * 10
    again = load_faces(DataConfig(str(tmp_path / "olivetti"), split="test", channels=3))
    assert torch.equal(again.images, splits["test"].images)


def test_plain_folder_recursive_centre_crop_and_channels(tmp_path: Path) -> None:
    wide = np.zeros((30, 90, 3), dtype=np.uint8)
    wide[:, :30] = (255, 0, 0)
    wide[:, 30:60] = (0, 200, 0)  # the centre square
    wide[:, 60:] = (0, 0, 255)
    names = [f"person{i % 7}/img_{i}.jpg" for i in range(40)]
    for name in names:
        save(tmp_path / "lfw" / name, wide)
    (tmp_path / "lfw" / ".DS_Store").write_bytes(b"\0junk")
    (tmp_path / "lfw" / "person0" / "._img_0.jpg").write_bytes(b"\0junk")
    splits = all_splits(tmp_path / "lfw", image_size=24, channels=3)
    assert sum(len(data) for data in splits.values()) == len(names)
    for data in splits.values():
        assert data.source.startswith("folder:") and data.images.shape[1:] == (3, 24, 24)
        assert (data.labels == -1).all() and data.attributes == {} and data.label_names == ()
        mean = data.images.float().mean(dim=(0, 2, 3))
        assert mean[1] > 190 and mean[0] < 10 and mean[2] < 10
    gray_data = load_faces(DataConfig(str(tmp_path / "lfw"), image_size=8, channels=1, limit=3))
    assert gray_data.images.shape == (3, 1, 8, 8)


# --- CelebA -------------------------------------------------------------------------------------


def test_celeba_reads_the_official_partition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.datasets import CelebA

    monkeypatch.setattr(CelebA, "_check_integrity", lambda self: True)  # the MD5s are of the real files
    root = tmp_path / "data" / "CelebA"
    names = [f"{i:06d}.jpg" for i in range(1, 7)]
    for i, name in enumerate(names):
        save(root / "img_align_celeba" / name, np.full((218, 178, 3), 40 * i, dtype=np.uint8))
    lines = {
        "list_eval_partition.txt": [f"{n} {s}" for n, s in zip(names, [0, 0, 0, 1, 2, 2], strict=True)],
        "identity_CelebA.txt": [f"{n} {100 + i}" for i, n in enumerate(names)],
        "list_attr_celeba.txt": ["6", "Male Smiling "]
        + [f"{n}  {1 - 2 * (i % 2)} 1" for i, n in enumerate(names)],
        "list_bbox_celeba.txt": ["6", "image_id x_1 y_1 width height"] + [f"{n} 1 2 3 4" for n in names],
        "list_landmarks_align_celeba.txt": ["6", "lefteye_x lefteye_y"] + [f"{n} 1 2" for n in names],
    }
    for file, content in lines.items():
        (root / file).write_text("\n".join(content) + "\n")
    test = load_faces(DataConfig(str(tmp_path / "data"), split="test", channels=3))  # parent folder
    assert test.source == f"celeba:{root}[test]" and test.images.shape == (2, 3, 64, 64)
    assert test.attributes["identity"].tolist() == [104, 105]
    assert test.attributes["Male"].tolist() == [1, 0] and test.attributes["Smiling"].tolist() == [1, 1]
    assert abs(int(test.images[1, 0, 10, 10]) - 200) <= 2
    assert len(load_faces(DataConfig(str(root), layout="celeba"))) == 3


def test_celeba_without_files_says_what_is_expected_where(tmp_path: Path) -> None:
    (tmp_path / "img_align_celeba").mkdir()
    with pytest.raises(
        DataError, match=f"CelebA {re.escape(str(tmp_path))}: missing list_eval_partition.txt"
    ):
        load_faces(DataConfig(str(tmp_path), layout="celeba"))


# --- errors, config, FaceData -------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"{re.escape(str(tmp_path / 'nope'))} does not exist"):
        load_faces(DataConfig(str(tmp_path / "nope")))


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("no faces here")
    with pytest.raises(DataError, match=f"no images found under {re.escape(str(tmp_path))} \\(expected"):
        load_faces(DataConfig(str(tmp_path)))


def test_corrupt_image_is_named(tmp_path: Path) -> None:
    for i in range(30):
        save(tmp_path / f"{i}.png", flat(i))
    bad = tmp_path / "0.png"
    bad.write_bytes(bad.read_bytes()[:40])
    corrupt = [split for split in ("train", "val", "test") if _raises_for(tmp_path, split, bad)]
    assert len(corrupt) == 1  # exactly the split that holds the file


def _raises_for(folder: Path, split: str, bad: Path) -> bool:
    try:
        load_faces(DataConfig(str(folder), split=split))
    except DataError as error:
        assert str(error).startswith(f"cannot read image {bad}")
        return True
    return False


def test_several_data_sets_under_one_path_is_ambiguous(tmp_path: Path) -> None:
    fer_folders(tmp_path / "fer2013-folders")
    orl(tmp_path / "olivetti")
    with pytest.raises(DataError, match=r"several data sets: fer2013-folders .*olivetti"):
        load_faces(DataConfig(str(tmp_path)))
    assert load_faces(DataConfig(str(tmp_path), layout="orl", split="val")).source.startswith("orl:")


def test_non_csv_file_is_rejected(tmp_path: Path) -> None:
    path = save(tmp_path / "a.png", flat(0))
    with pytest.raises(DataError, match=re.escape(str(path))):
        load_faces(DataConfig(str(path)))


@pytest.mark.parametrize(
    "kwargs", [{"layout": "lfw"}, {"split": "validation"}, {"channels": 2}, {"image_size": 0}, {"limit": 0}]
)
def test_config_is_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(DataError, match=str(next(iter(kwargs.values())))):
        DataConfig("x", **kwargs)


def test_subset_and_as_float(tiny_fer_csv: Path) -> None:
    data = load_faces(DataConfig(str(tiny_fer_csv), split="train"))
    part = data.subset(torch.tensor([2, 0]))
    assert part.labels.tolist() == [6, 3] and torch.equal(part.images[1], data.images[0])
    image = as_float(part.images)[0]
    assert image.dtype == torch.float32 and image.shape == (1, 64, 64) and part.labels.dtype == torch.int64
    assert image.min() >= -1 and image.max() <= 1
    assert torch.allclose((image + 1) * 127.5, part.images[0].float())


def test_photo_pixels_to_model_input_and_back() -> None:
    grey = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4) * 7
    rgb = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    assert to_model_input(grey).shape == (2, 1, 4, 4)
    assert to_model_input(rgb).shape == (2, 3, 4, 4)
    assert float(to_model_input(grey).min()) >= -1 and float(to_model_input(rgb).max()) <= 1
    np.testing.assert_array_equal(to_uint8(to_model_input(grey)), grey)
    np.testing.assert_array_equal(to_uint8(to_model_input(rgb)), rgb)


# --- real FER2013 (../shared/data) --------------------------------------------------------------


@pytest.fixture(scope="session")
def real_fer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real FER2013 unpacked once per session into the CSV and folder layouts."""
    if not (SHARED_DATA / "unpack.py").is_file():
        pytest.skip(f"real face data not found at {SHARED_DATA}")
    out = tmp_path_factory.mktemp("real")
    subprocess.run(
        [sys.executable, str(SHARED_DATA / "unpack.py"), str(out), "--only", "fer2013"], check=True
    )
    return out


def published_counts() -> dict[str, list[int]]:
    """Per-class counts and total per Usage, from the table in ../shared/data/README.md."""
    table = {}
    for line in (SHARED_DATA / "README.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("| ").split("|")]
        if cells[0] in USAGES and all(cell.isdigit() for cell in cells[1:]):
            table[cells[0]] = [int(cell) for cell in cells[1:]]
    return table


@pytest.mark.real_data
@pytest.mark.slow
def test_real_fer2013_counts_match_the_published_ones(real_fer: Path) -> None:
    counts = published_counts()
    assert [counts[usage][-1] for usage in USAGES] == [28709, 3589, 3589]
    loaded = {}
    for layout, path in (
        ("fer2013-csv", real_fer / "fer2013"),
        ("fer2013-folders", real_fer / "fer2013-folders"),
    ):
        for split, usage in zip(("train", "val", "test"), USAGES, strict=True):
            data = load_faces(DataConfig(str(path), split=split, image_size=48))
            assert data.source.startswith(layout) and data.images.shape == (counts[usage][-1], 1, 48, 48)
            assert torch.bincount(data.labels, minlength=7).tolist() == counts[usage][:-1]
            loaded[layout, split] = data
    for split in ("train", "val", "test"):  # both layouts hold the same faces in the same order
        assert torch.equal(loaded["fer2013-csv", split].images, loaded["fer2013-folders", split].images)
        assert torch.equal(loaded["fer2013-csv", split].labels, loaded["fer2013-folders", split].labels)
