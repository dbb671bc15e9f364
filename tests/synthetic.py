"""Small synthetic face-like data sets, written in the real layouts, for the core test suite.

Each "face" is a bright ellipse on a darker background with two eyes and a mouth whose curvature
depends on the expression label, so models have structure to learn and expressions to tell apart.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from vae.data import EXPRESSIONS

USAGES = ("Training", "PublicTest", "PrivateTest")


def synthetic_faces(n: int, size: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n grayscale uint8 faces [n, size, size] and their expression labels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    labels = np.arange(n) % len(EXPRESSIONS)
    faces = np.empty((n, size, size), dtype=np.uint8)
    for i, label in enumerate(labels):
        cx, cy = 0.5 + rng.normal(0, 0.03, 2)
        face = ((xx - cx) / 0.32) ** 2 + ((yy - cy) / 0.42) ** 2 < 1
        image = 40 + 150 * face * rng.uniform(0.7, 1.0)
        for ex in (cx - 0.12, cx + 0.12):
            image[((xx - ex) ** 2 + (yy - cy + 0.1) ** 2) < 0.003] = 20
        curve = (label - 3) / 3 * 0.08
        mouth_y = cy + 0.18 + curve * ((xx - cx) / 0.15) ** 2
        image[(np.abs(yy - mouth_y) < 0.025) & (np.abs(xx - cx) < 0.15)] = 30
        faces[i] = np.clip(image + rng.normal(0, 4, image.shape), 0, 255)
    return faces, labels


def write_fer_csv(path: Path, per_usage: tuple[int, int, int] = (224, 56, 56), seed: int = 0) -> Path:
    """A fer2013.csv in the Kaggle format (emotion,pixels,Usage)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["emotion", "pixels", "Usage"])
        for usage, count in zip(USAGES, per_usage):
            faces, labels = synthetic_faces(count, seed=seed + len(usage))
            for face, label in zip(faces, labels):
                writer.writerow([int(label), " ".join(map(str, face.ravel().tolist())), usage])
    return path
