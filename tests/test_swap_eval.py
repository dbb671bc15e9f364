"""The swap evaluation's summary: what it reports where a measure cannot be taken."""

from __future__ import annotations

import numpy as np

from train.swap_eval import colour_ratio, markdown, summarise


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
