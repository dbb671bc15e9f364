"""Faces cut out of photos the way an image model's training faces were framed.

An image model stores its framing as a landmark template (`python -m train.directions` adds it to the
checkpoint): the mean 68-point shape of its training faces in its own crop. A face in a photo is found
by dlib's HOG detector, its 68 landmarks are fitted (vae.landmarks), and the similarity that puts its
rigid points (eye corners, nose) onto the template's cuts it out, levelled and scaled, whatever its
size or tilt (as vae.face_shape.framed_face does).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vae.checkpoint import Checkpoint, CheckpointError
from vae.face_shape import POINTS, RIGID, similarity, warp_down
from vae.landmarks import FaceBox, detect_faces, face_landmarks, gray

__all__ = ["FACE_TEMPLATE", "FramedFace", "Framing", "NoFaceError", "NoTemplateError", "find_faces"]

FACE_TEMPLATE = "face_template"  # the checkpoint extra: [68, 2] landmarks in the model's crop pixels


class NoFaceError(ValueError):
    """No face that can be used was found; the message can be shown to a user as is."""


class NoTemplateError(CheckpointError):
    """An image model whose checkpoint stores no face template, so it cannot take faces from photos."""


def find_faces(photo: np.ndarray) -> list[FaceBox]:
    """The faces of an RGB photo, left to right; NoFaceError if there is none."""
    boxes = detect_faces(photo)
    if not boxes:
        raise NoFaceError(
            "No face was found. Try an upright, frontal, well-lit photo where the face is not too small."
        )
    return boxes


@dataclass(frozen=True)
class FramedFace:
    """A face found in a photo and cut out for a model, with what is needed to put a drawing back."""

    box: FaceBox  # the detector's box, in photo pixels
    points: np.ndarray  # [68, 2] landmarks in photo pixels
    to_frame: np.ndarray  # 2x3 similarity, photo pixel -> crop pixel (pixel centres at integers)
    image: np.ndarray  # uint8 crop: size x size (grey) or size x size x 3 (RGB), as the model's faces


@dataclass(frozen=True)
class Framing:
    """How an image model's training faces were framed: its landmark template in a size x size crop,
    grey (1 channel, BT.601 luma) or RGB (3)."""

    template: np.ndarray | None  # [68, 2] in crop pixels; None: the checkpoint stores none
    size: int
    channels: int

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> Framing:
        """The framing stored with an image model (its template may be missing: see `faces`)."""
        config = checkpoint.config
        stored = checkpoint.extras.get(FACE_TEMPLATE)
        if stored is not None and tuple(stored.shape) != (POINTS, 2):
            raise CheckpointError(
                f"{checkpoint.path}: its face template has shape {list(stored.shape)}, not [{POINTS}, 2]"
            )
        template = None if stored is None else stored.double().numpy()
        return cls(template, config.image_size, config.channels)

    def faces(self, photo: np.ndarray) -> list[FramedFace]:
        """Every face of an RGB uint8 photo, left to right, cut out as this framing frames faces;
        NoFaceError if there is none, NoTemplateError if the model has no template."""
        if self.template is None:
            raise NoTemplateError(
                "This model's checkpoint stores no face template, so it cannot take a face from a photo "
                "(python -m train.directions CHECKPOINT --data DATA adds one)."
            )
        plane = gray(photo)
        source = plane if self.channels == 1 else photo
        framed = []
        for box in find_faces(photo):
            points = face_landmarks(plane, box)
            to_frame = similarity(points[RIGID], self.template[RIGID])
            framed.append(FramedFace(box, points, to_frame, warp_down(source, to_frame, self.size)))
        return framed
