"""The swap evaluation's summary: what it reports where a measure cannot be taken."""

from __future__ import annotations

import numpy as np
from PIL import Image

from train.swap_eval import colour_ratio, enlarged_faces, markdown, summarise
from vae.data import DataConfig, load_faces


def test_colour_is_not_measured_on_a_grey_face() -> None:
    grey = np.full((32, 32, 3), 120, dtype=np.uint8)
    tinted = grey.copy()
    tinted[..., 0] += 20
    region = np.ones((32, 32), dtype=bool)
    assert colour_ratio(tinted, grey, region) is None  # dividing by a grey face's chroma is noise
    ratio = colour_ratio(grey, tinted, region)
    assert ratio is not None and ratio < 0.1  # the tint gone: the colour was lost


def test_summary_averages_what_was_measured_and_says_n_a_for_the_rest() -> None:
    rows = [
        {"photo": "a", "face": 0, "target": "happy", "method": "edit", "colour": None, "detail": 1.0},
        {"photo": "b", "face": 0, "target": "happy", "method": "edit", "colour": 0.5, "detail": 3.0},
        {"photo": "c", "face": 0, "target": "sad", "method": "edit", "colour": None, "detail": 2.0},
    ]
    summary = summarise(rows)["edit"]
    assert summary["happy"] == {"colour": 0.5, "detail": 2.0, "n": 2}
    assert summary["sad"]["colour"] is None and summary["all"]["detail"] == 2.0
    table = markdown(summarise(rows), {})
    assert "| sad | 1 | n/a | 2.000 |" in table and "| happy | 2 | 0.500 | 2.000 |" in table


def test_held_out_faces_of_a_folder_sorted_by_age_span_its_ages(tmp_path) -> None:
    folder = tmp_path / "UTKFace"
    folder.mkdir()
    for age in range(1, 201):  # UTKFace's names start with the age: a sorted folder runs young to old
        Image.fromarray(np.full((8, 8, 3), age, dtype=np.uint8)).save(folder / f"{age}_0_0_{age}.png")
    config = DataConfig(str(folder), split="test", image_size=8, channels=3)
    held_out = sorted(int(face[0, 0, 0]) for face in load_faces(config).images)
    ages = [int(photo[0, 0, 0]) for _, photo in enlarged_faces(config, 5, balanced=False)]
    assert len(held_out) > 5 and len(ages) == 5
    assert min(ages) == held_out[0] and max(ages) == held_out[-1]  # the youngest to the oldest
