"""Webcam clips made from real photos, for the live mirror's bench and tests.

A clip places a photo in a 640x480 frame so that its face is as large as a webcam shows a face at
arm's length, moves it a little (or not at all) from frame to frame, and adds a webcam's sensor
noise. Each frame's placement is known exactly, so the landmarks fitted on the photo itself, carried
by it, are where a perfect tracker would put them.

The photos: ../shared/photos where present (obama.jpg; two_people.jpg for two faces), else
scikit-image's astronaut (two of her side by side for two faces).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage import data as skimage_data

from vae.face_shape import apply
from vae.landmarks import detect_faces, face_landmarks, gray

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "photos"
FRAME_SIZE = (640, 480)  # width, height
FACE_WIDTH = 200  # px: a detected face box at arm's length from a 640x480 webcam
FPS = 15.0


def photo(faces: int) -> tuple[str, np.ndarray]:
    """(name, RGB photo) with one face or two."""
    name = {1: "obama.jpg", 2: "two_people.jpg"}[faces]
    if (PHOTOS / name).is_file():
        return name, np.array(Image.open(PHOTOS / name).convert("RGB"))
    astronaut = skimage_data.astronaut()
    if faces == 1:
        return "astronaut", astronaut
    shoulders = astronaut[:, 90:360]  # her face and a little either side, twice: two people close by
    return "two astronauts", np.hstack([shoulders, shoulders])


@dataclass(frozen=True)
class Clip:
    """A photo filmed by a still or swaying webcam: frame i, and where the photo lies in it."""

    photo: np.ndarray  # RGB
    points: tuple[np.ndarray, ...]  # each face's 68 landmarks fitted on the photo
    scale: float  # photo -> frame
    centre: np.ndarray  # [2] the photo point at the frame's centre when at rest
    sway: float  # px: how far the photo moves (0: a still clip)
    noise: float  # luma levels: the sensor noise's standard deviation
    seed: int = 0

    @classmethod
    def of(
        cls, photo: np.ndarray, face_width: int = FACE_WIDTH, sway: float = 0.0, noise: float = 2.0
    ) -> Clip:
        """The photo scaled so its faces' boxes average `face_width` px, centred on them."""
        boxes = detect_faces(photo)
        if not boxes:
            raise ValueError("the clip's photo has no face")
        plane = gray(photo)
        points = tuple(face_landmarks(plane, box) for box in boxes)
        centre = np.mean([[box.x + box.w / 2, box.y + box.h / 2] for box in boxes], axis=0)
        scale = face_width / np.mean([box.w for box in boxes])
        return cls(photo, points, float(scale), centre, sway, noise)

    def placement(self, i: int) -> np.ndarray:
        """The 2x3 affine from the photo to frame i: a slow sway (1 s period), a little turn with it."""
        phase = 2 * math.pi * i / FPS
        angle = math.radians(3.0) * math.sin(phase) * (self.sway > 0)
        offset = np.array([self.sway * math.sin(phase), 0.3 * self.sway * math.sin(2 * phase)])
        rotation = self.scale * np.array(
            [[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]]
        )
        target = np.array(FRAME_SIZE) / 2 - [0, FRAME_SIZE[1] * 0.05] + offset
        return np.hstack([rotation, (target - rotation @ self.centre)[:, None]])

    def frame(self, i: int) -> np.ndarray:
        """Frame i: RGB uint8, FRAME_SIZE."""
        frame = cv2.warpAffine(
            self.photo,
            self.placement(i),
            FRAME_SIZE,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        if self.noise > 0:
            grain = np.random.default_rng((self.seed, i)).normal(0, self.noise, frame.shape[:2])
            frame = np.clip(frame + grain[..., None], 0, 255).astype(np.uint8)
        return frame

    def truth(self, i: int) -> tuple[np.ndarray, ...]:
        """Each face's landmarks [68, 2] where frame i shows them (fitted on the photo, placed)."""
        return tuple(apply(self.placement(i), points) for points in self.points)

    def time(self, i: int) -> float:
        return i / FPS


def write_y4m(frames: list[np.ndarray], path: Path, fps: float = FPS) -> Path:
    """RGB frames as a YUV4MPEG2 file (4:2:0), the format Chromium plays as a fake webcam
    (--use-file-for-fake-video-capture); it plays the file in a loop."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as file:
        file.write(f"YUV4MPEG2 W{width} H{height} F{round(fps)}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            file.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path
