"""FER+ labels (Barsoum et al., ICMI 2016): ten crowd votes per FER2013 face that fix its labels.

Microsoft's ``fer2013new.csv`` (github.com/microsoft/FERPlus, MIT licence) has one row per row of
``fer2013.csv``, in the same order: ``Usage, Image name``, then the votes for neutral, happiness,
surprise, sadness, anger, disgust, fear, contempt, unknown and NF (not a face). A third of the
FER2013 labels disagree with the majority vote (of the training faces labelled fear, 85%), and a
decoder trained on such a mix draws an average of several expressions rather than its own.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

FERPLUS_FILE = "fer2013new.csv"
# The FER+ vote columns that are FER2013 expressions, under their FER2013 names.
VOTE_COLUMNS = {
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fear",
    "happiness": "happy",
    "sadness": "sad",
    "surprise": "surprise",
    "neutral": "neutral",
}


def read_votes(path: Path, expressions: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Votes [rows, len(expressions)] in the order of ``expressions``, and each row's Usage.

    Raises ValueError naming the line of a malformed file.
    """
    with path.open(newline="", encoding="utf-8") as file:
        rows = csv.reader(file)
        header = [name.strip().lower() for name in next(rows, [])]
        missing = [name for name in ("usage", *VOTE_COLUMNS) if name not in header]
        if missing:
            raise ValueError(f"FER+ labels {path}: header has no {', '.join(missing)} column")
        usage_column = header.index("usage")
        columns = [header.index(name) for name in VOTE_COLUMNS]
        order = [expressions.index(fer_name) for fer_name in VOTE_COLUMNS.values()]
        usage, votes = [], []
        for row in rows:
            try:
                usage.append(row[usage_column].strip())
                counts = [int(row[c] or 0) for c in columns]
            except (ValueError, IndexError):
                raise ValueError(f"FER+ labels {path} line {rows.line_num}: votes must be integers") from None
            ordered = [0] * len(expressions)
            for count, index in zip(counts, order):
                ordered[index] = count
            votes.append(ordered)
    return np.array(votes, dtype=np.int64).reshape(-1, len(expressions)), usage


def majority_labels(votes: np.ndarray, fer_labels: np.ndarray) -> np.ndarray:
    """The most voted expression of each face; the FER2013 label wins a tie it is part of.

    -1 where no vote went to an expression (faces voted unknown, contempt or not a face).
    """
    top = votes.max(1, keepdims=True)
    winners = (votes == top) & (top > 0)
    keep_fer = winners[np.arange(len(votes)), fer_labels.clip(0)] & (fer_labels >= 0)
    labels = np.where(keep_fer, fer_labels, winners.argmax(1))
    return np.where(top[:, 0] > 0, labels, -1)
