"""A live expression mirror: every face in a stream of frames (a webcam) given a chosen expression.

An edit of a photo (vae.photo_edit) finds, fits and decodes each face once; a video cannot afford
that every frame, and need not: from one frame to the next a face moves a little and changes
slowly. So a `LiveMirror` keeps a track per face and spends per frame only what must be new:

- Faces are tracked. The detector runs every few frames, and at once while no face is tracked or
  after a track was lost; in between, each face's landmarks are fitted in the box that its last
  landmarks put it in (the detector's own box, carried along by the face's pose).
- Landmarks are smoothed over time by a One Euro filter (Casiez, Roussel and Vogel, CHI 2012): a
  low-pass whose cutoff rises with speed, so a still face stops shimmering and a moving one
  follows without visible lag.
- The shape model (a small MLP) runs every frame on the smoothed landmarks. The appearance
  model (a convolutional encoder and seven decoders, the costliest model) runs when a face is new,
  then again every few seconds or once the face has changed much, spread over frames a few
  decoders at a time, so that no frame waits for all seven.
- A face that leaves, a dark frame or a lost fit ends its track; the detector finds it again.

Nothing of a frame outlives its call: a track holds landmarks, the appearance model's 48-pixel
decodings and a few numbers, never pixels of the frame.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
import torch

from vae.face_shape import RIGID, apply, eye_distance, invert, normalise, similarity
from vae.landmarks import FaceBox, detect_boxes, face_landmarks, gray
from vae.photo_edit import (
    ExpressionModels,
    NoFaceError,
    PreparedFace,
    appearance_code,
    check_settings,
    decode_textures,
    prepare_face,
)

# px: larger frames are shrunk to this longest side first (webcams send 640x480 to 1080p): the
# detector finds faces down to 80 px there, smaller than a webcam shows the face in front of it.
MAX_SIDE = 640
MAX_FACES = 4  # faces followed at most (the detector's surest first): each costs an edit a frame
DETECT_EVERY = 10  # frames between detections while faces are tracked (new faces appear this soon)
MAX_MISSES = 2  # detections in a row that miss a tracked face end its track
MAX_GAP = 1.0  # seconds without a frame after which a stream starts afresh (no track survives)
# The appearance model runs again for a face after this many frames, or sooner once its normalised
# landmarks moved this far (eye distances, mean over points) or its brightness changed by this share.
REFRESH_EVERY, RESHAPE, RELIGHT = 45, 0.08, 0.15
HEADS_PER_FRAME = 2  # appearance decoders run per frame while a face's decodings are renewed
DARK = 35.0  # mean luma (0..255) under which a frame is too dark to find a face in
MIN_CONTRAST = 6.0  # luma standard deviation in a face's box under which nothing is there to fit
SAME_FACE = 0.25  # eye distances between two tracks' nose tips under which they follow one face
# One Euro filter: cutoff (Hz) = MIN_CUTOFF + BETA * speed (eye distances per second). Chosen on a
# still and a swaying clip (python -m bench.live): a still face's landmarks jitter about 4x less
# than the raw fit's, and a moving face's trail by about half a frame at 15 fps.
MIN_CUTOFF, BETA, SPEED_CUTOFF = 0.5, 8.0, 1.0
NOSE_TIP = 30


class OneEuroFilter:
    """One Euro filter of an array of points [..., 2], each point with its own cutoff.

    Speeds are measured in `unit`s per second (a face's eye distance), so the same settings serve a
    face of any size."""

    def __init__(
        self, min_cutoff: float = MIN_CUTOFF, beta: float = BETA, speed_cutoff: float = SPEED_CUTOFF
    ) -> None:
        self.min_cutoff, self.beta, self.speed_cutoff = min_cutoff, beta, speed_cutoff
        self.value: np.ndarray | None = None
        self.speed: np.ndarray | None = None
        self.time = 0.0

    def __call__(self, x: np.ndarray, t: float, unit: float = 1.0) -> np.ndarray:
        """The filtered value of `x`, observed at time `t` (seconds)."""
        if self.value is None or self.speed is None:
            self.value, self.speed, self.time = x.astype(np.float64), np.zeros_like(x, dtype=np.float64), t
            return self.value
        dt = max(t - self.time, 1e-3)
        self.time = t
        rate = (x - self.value) / dt / unit
        self.speed = self.speed + _smoothing(self.speed_cutoff, dt) * (rate - self.speed)
        cutoff = self.min_cutoff + self.beta * np.linalg.norm(self.speed, axis=-1, keepdims=True)
        self.value = self.value + _smoothing(cutoff, dt) * (x - self.value)
        return self.value


def _smoothing(cutoff: float | np.ndarray, dt: float) -> float | np.ndarray:
    """The weight of a new sample in an exponential low-pass of `cutoff` Hz sampled every `dt` s."""
    return 1.0 / (1.0 + 1.0 / (2 * math.pi * cutoff * dt))


@dataclass(frozen=True)
class Anchor:
    """Where the detector's box lay in a face's normalised frame, to carry it along with the face."""

    centre: np.ndarray  # [2] in the template's frame
    side: float  # in the template's pixels

    @classmethod
    def of(cls, box: FaceBox, points: np.ndarray, template: np.ndarray) -> Anchor:
        to_frame = similarity(points[RIGID], template[RIGID])
        centre = apply(to_frame, np.array([[box.x + box.w / 2, box.y + box.h / 2]]))[0]
        return cls(centre, max(box.w, box.h) * _scale(to_frame))

    def box(self, points: np.ndarray, template: np.ndarray) -> FaceBox:
        """The box the detector would draw around the face with landmarks `points`."""
        to_frame = similarity(points[RIGID], template[RIGID])
        x, y = apply(invert(to_frame), self.centre[None])[0]
        side = self.side / _scale(to_frame)
        return FaceBox(round(x - side / 2), round(y - side / 2), round(side), round(side))


def _scale(matrix: np.ndarray) -> float:
    return float(np.hypot(matrix[0, 0], matrix[1, 0]))


@dataclass(eq=False)
class Renewal:
    """A face's appearance decodings being renewed, a few decoders per frame."""

    code: torch.Tensor  # [1, latent] the appearance model's code of the face now
    shape: np.ndarray  # [68, 2] its normalised landmarks then
    brightness: float
    textures: np.ndarray  # [E, H, W], filled in expression order
    done: int = 0


@dataclass(eq=False)
class Track:
    """One face followed from frame to frame: what carries over, no pixels."""

    anchor: Anchor
    points: np.ndarray  # [68, 2] smoothed landmarks in the last frame
    smoother: OneEuroFilter
    textures: np.ndarray  # [E, H, W] the appearance decodings in use
    shape: np.ndarray  # [68, 2] normalised landmarks when they were encoded
    brightness: float  # mean luma of the face's box then
    encoded_at: int  # frame number then
    renewal: Renewal | None = None
    misses: int = 0

    @property
    def nose(self) -> np.ndarray:
        return self.points[NOSE_TIP]

    @property
    def size(self) -> float:
        return eye_distance(self.points)

    def follows(self, points: np.ndarray) -> bool:
        """Whether the face with landmarks `points` is this track's."""
        return bool(np.linalg.norm(self.nose - points[NOSE_TIP]) < SAME_FACE * self.size)

    def adopt(self, renewal: Renewal, frame_number: int) -> None:
        """Use the renewed decodings from now on."""
        self.textures, self.shape, self.brightness = renewal.textures, renewal.shape, renewal.brightness
        self.encoded_at, self.renewal = frame_number, None


@dataclass(frozen=True)
class LiveFrame:
    """An edited frame and what the mirror saw in it."""

    image: np.ndarray  # RGB uint8: the frame (shrunk to MAX_SIDE), every tracked face edited
    boxes: tuple[FaceBox, ...]  # the faces edited, left to right
    landmarks: tuple[np.ndarray, ...]  # their smoothed landmarks [68, 2], as the edit used them
    dark: bool  # darker than DARK on average (the status says so when no face is found)
    stages: dict[str, float] = field(default_factory=dict)  # seconds spent in each stage

    @property
    def status(self) -> str:
        """What the mirror sees, in words for a user."""
        if self.boxes:
            return f"{len(self.boxes)} face{'s' * (len(self.boxes) > 1)} in view"
        if self.dark:
            return "Too dark to find a face: turn on a light or face one"
        return "No face in view: face the camera"


class LiveMirror:
    """Edits a stream of frames, one call per frame, keeping what it learnt of each face between calls.

    One mirror serves one stream (a browser tab): it is not shared between threads. `smoother` makes
    each new face's landmark filter (`lambda: OneEuroFilter(min_cutoff=math.inf)` smooths nothing).
    """

    def __init__(
        self,
        models: ExpressionModels,
        smoother: Callable[[], OneEuroFilter] = OneEuroFilter,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.models = models
        self.smoother = smoother
        self.clock = clock
        self.tracks: list[Track] = []
        self.frame_number = 0
        self.next_detection = 0  # the frame number at which the detector runs next
        self.last_time = -math.inf
        self.frame_shape: tuple[int, ...] = ()
        self.stages: dict[str, float] = {}

    def reset(self) -> None:
        """Forget every face (a new stream, or a camera of another size)."""
        self.tracks = []
        self.next_detection = 0

    def __call__(
        self,
        frame: np.ndarray,
        expression: str,
        intensity: float = 1.0,
        strength: float = 1.0,
        t: float | None = None,
    ) -> LiveFrame:
        """`frame` (RGB uint8 [H, W, 3]) with every face given `expression`; `t`: when it was taken
        (seconds; default: now)."""
        if expression not in self.models.expressions:
            raise ValueError(f"unknown expression {expression!r}; the models have {self.models.expressions}")
        check_settings(intensity, strength)
        frame = _shrunk(_checked(frame))
        t = self.clock() if t is None else t
        if t - self.last_time > MAX_GAP or frame.shape != self.frame_shape:
            self.reset()
        self.last_time, self.frame_shape = t, frame.shape
        self.stages = {}
        self.frame_number += 1
        plane = gray(frame)
        dark = float(plane.mean()) < DARK

        followed = self._follow(frame, plane, t)
        if self._detection_due():
            followed += self._detect(frame, plane, t)
        elif followed:
            self._renew(plane, followed)
        kept = set(self.tracks)
        faces = sorted((face for track, face in followed if track in kept), key=lambda face: face.box.x)
        result = frame
        with self._stage("edit"):
            k = self.models.expressions.index(expression)
            for face in faces:
                result = face.edit(result, k, intensity, strength)
        boxes, landmarks = tuple(face.box for face in faces), tuple(face.points for face in faces)
        return LiveFrame(result, boxes, landmarks, dark, self.stages)

    # -- tracking ---------------------------------------------------------------------------------
    def _follow(self, frame: np.ndarray, plane: np.ndarray, t: float) -> list[tuple[Track, PreparedFace]]:
        """Every track with its face in this frame, fitted in the box its last landmarks give; tracks
        whose face is gone end (and the next frame looks for faces)."""
        followed = []
        for track in self.tracks:
            box = track.anchor.box(track.points, self.models.template)
            face = self._fit(frame, plane, box, track, t)
            if face is None:
                self.next_detection = self.frame_number  # look for it (or others) in this frame
            else:
                followed.append((track, face))
        self.tracks = [track for track, _ in followed]
        return followed

    def _fit(
        self, frame: np.ndarray, plane: np.ndarray, box: FaceBox, track: Track, t: float
    ) -> PreparedFace | None:
        """The track's face prepared from landmarks fitted in `box` and smoothed, or None if the box
        has left the frame, shows nothing (dark, flat) or the fit fails."""
        height, width = plane.shape
        if not (0 <= box.x + box.w / 2 < width and 0 <= box.y + box.h / 2 < height):
            return None
        if _window(plane, box).size == 0 or float(_window(plane, box).std()) < MIN_CONTRAST:
            return None
        with self._stage("landmarks"):
            raw = face_landmarks(plane, box)
        points = track.smoother(raw, t, unit=max(eye_distance(raw), 1.0))
        try:
            with self._stage("shape"):
                face = prepare_face(frame, plane, box, self.models, points=points, textures=track.textures)
        except NoFaceError:
            return None
        track.points = points
        return face

    def _detection_due(self) -> bool:
        return not self.tracks or self.frame_number >= self.next_detection

    def _detect(self, frame: np.ndarray, plane: np.ndarray, t: float) -> list[tuple[Track, PreparedFace]]:
        """Run the detector: faces that no track follows start tracks (returned with their faces);
        tracks that it misses too often end."""
        with self._stage("detect"):
            boxes = detect_boxes(plane)
        seen: set[Track] = set()
        started = []
        for box in boxes:
            followers = {track for track in self.tracks if _contains(box, track.nose)}
            for track in followers:
                track.anchor = Anchor.of(box, track.points, self.models.template)
            seen |= followers
            if not followers and len(self.tracks) + len(started) < MAX_FACES:
                started += self._start(frame, plane, box, t)
        for track in self.tracks:
            track.misses = 0 if track in seen else track.misses + 1
        self.tracks = [track for track in self.tracks if track.misses < MAX_MISSES]
        self.tracks += [track for track, _ in started]
        # A face missed once is looked for again in the next frame: gone, its track ends soon.
        missed = any(track.misses for track in self.tracks)
        self.next_detection = self.frame_number + (1 if missed else DETECT_EVERY)
        return started

    def _start(
        self, frame: np.ndarray, plane: np.ndarray, box: FaceBox, t: float
    ) -> list[tuple[Track, PreparedFace]]:
        """A new track for the face the detector found in `box`, with the face prepared; none if it
        cannot be edited (too small, a failed fit) or a track already follows it."""
        with self._stage("landmarks"):
            points = face_landmarks(plane, box)
        if any(track.follows(points) for track in self.tracks):
            return []
        try:
            with self._stage("shape"):
                face = prepare_face(frame, plane, box, self.models, points=points, textures=self._blank)
        except NoFaceError:
            return []
        with self._stage("appearance"):
            textures = decode_textures(self.models, appearance_code(plane, points, self.models))
        smoother = self.smoother()
        smoother(points, t, unit=eye_distance(points))
        track = Track(
            anchor=Anchor.of(box, points, self.models.template),
            points=points,
            smoother=smoother,
            textures=textures,
            shape=normalise(points, self.models.template)[0],
            brightness=float(_window(plane, box).mean()),
            encoded_at=self.frame_number,
        )
        return [(track, replace(face, textures=textures))]

    @property
    def _blank(self) -> np.ndarray:
        """Stand-in decodings, for checking that a face can be edited before decoding it."""
        size = self.models.appearance.config.image_size
        return np.zeros((len(self.models.expressions), size, size))

    # -- appearance -------------------------------------------------------------------------------
    def _renew(self, plane: np.ndarray, followed: list[tuple[Track, PreparedFace]]) -> None:
        """One step of renewing one face's appearance decodings: the face already being renewed, or
        the one whose decodings are most out of date, if any is due."""
        due = [(track, face) for track, face in followed if track.renewal or self._due(track, plane, face)]
        if not due:
            return
        track, face = max(due, key=lambda pair: (pair[0].renewal is not None, -pair[0].encoded_at))
        with self._stage("appearance"):
            renewal = track.renewal
            if renewal is None:
                renewal = track.renewal = Renewal(
                    code=appearance_code(plane, track.points, self.models),
                    shape=normalise(track.points, self.models.template)[0],
                    brightness=float(_window(plane, face.box).mean()),
                    textures=np.empty_like(track.textures),
                )
            heads = range(renewal.done, min(renewal.done + HEADS_PER_FRAME, len(renewal.textures)))
            renewal.textures[heads.start : heads.stop] = decode_textures(self.models, renewal.code, heads)
            renewal.done = heads.stop
            if renewal.done == len(renewal.textures):
                track.adopt(renewal, self.frame_number)

    def _due(self, track: Track, plane: np.ndarray, face: PreparedFace) -> bool:
        """Whether a face's decodings are old, or the face has changed since (pose, expression, light)."""
        if self.frame_number - track.encoded_at >= REFRESH_EVERY:
            return True
        shape = normalise(track.points, self.models.template)[0]
        moved = np.linalg.norm(shape - track.shape, axis=1).mean() / eye_distance(self.models.template)
        brightness = float(_window(plane, face.box).mean())
        return moved > RESHAPE or abs(brightness - track.brightness) > RELIGHT * max(track.brightness, 1.0)

    @contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.stages[name] = self.stages.get(name, 0.0) + time.perf_counter() - start


def _checked(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", None)
        raise ValueError(f"a frame must be an RGB uint8 array [H, W, 3], not {type(frame).__name__} {shape}")
    if min(frame.shape[:2]) < 1:
        raise ValueError(f"a frame must have pixels, not shape {frame.shape}")
    return frame


def _shrunk(frame: np.ndarray) -> np.ndarray:
    scale = MAX_SIDE / max(frame.shape[:2])
    if scale >= 1:
        return frame
    return cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _contains(box: FaceBox, point: np.ndarray) -> bool:
    return box.x <= point[0] < box.x + box.w and box.y <= point[1] < box.y + box.h


def _window(plane: np.ndarray, box: FaceBox) -> np.ndarray:
    """The pixels of `box` that lie in the frame."""
    return plane[max(box.y, 0) : box.y + box.h, max(box.x, 0) : box.x + box.w]
