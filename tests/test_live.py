"""The live mirror (vae.live) on clips made from a real face, with tiny random-weight models: tracking,
smoothing, faces that come and go, dark frames, and that no frame outlives its call; and the
demo's live mode (demo.live): frames in and out as data URLs, nothing written."""

from __future__ import annotations

import base64
import itertools
import math
from collections.abc import Iterator

import cv2
import gradio as gr
import numpy as np
import pytest
import torch

from bench.clips import Clip, write_y4m
from demo.live import LiveMode, frame_payload, read_frame
from demo.swap import APPEARANCE_FILE, SHAPE_FILE
from vae.images import ImageLimits
from vae.landmarks import detect_faces, face_landmarks, gray
from vae.live import DETECT_EVERY, MAX_GAP, MAX_MISSES, LiveMirror, OneEuroFilter
from vae.mouth import MouthOpening
from vae.photo_edit import ExpressionModels, appearance_code, decode_textures, prepare_face

pytest_plugins = ["tests.test_demo_support"]

STILL = 16  # frames


@pytest.fixture(scope="module")
def models(tiny_checkpoints) -> ExpressionModels:
    return ExpressionModels.load(tiny_checkpoints / SHAPE_FILE, tiny_checkpoints / APPEARANCE_FILE)


@pytest.fixture(scope="module")
def still(astronaut) -> Clip:
    """The astronaut as a still webcam films her: the same picture, new sensor noise every frame."""
    return Clip.of(astronaut)


@pytest.fixture(scope="module")
def two_faces(astronaut) -> Clip:
    shoulders = astronaut[:, 90:360]
    return Clip.of(np.hstack([shoulders, shoulders]), face_width=130)


def edit(mirror: LiveMirror, clip: Clip, frames: range, expression: str = "surprise"):
    return [mirror(clip.frame(i), expression, 1.0, 1.5, t=clip.time(i)) for i in frames]


def jitter(points: list[np.ndarray]) -> float:
    return float(np.mean([np.linalg.norm(b - a, axis=1).mean() for a, b in itertools.pairwise(points)]))


def test_the_one_euro_filter_stills_noise_and_follows_a_move() -> None:
    rng = np.random.default_rng(0)
    smoother = OneEuroFilter()
    noisy = [np.array([[100.0, 50.0]]) + rng.normal(0, 1.0, (1, 2)) for _ in range(60)]
    smoothed = [smoother(x, i / 15, unit=50.0) for i, x in enumerate(noisy)]
    assert jitter(smoothed[10:]) < 0.5 * jitter(noisy[10:])
    moved = [smoother(np.array([[130.0, 50.0]]), (60 + i) / 15, unit=50.0) for i in range(15)]
    assert np.allclose(moved[-1], [[130.0, 50.0]], atol=0.5), "a second after a move, the filter is there"


def test_an_infinite_cutoff_lets_every_sample_through() -> None:
    smoother = OneEuroFilter(min_cutoff=math.inf)
    samples = [np.array([[float(i), 2.0 * i]]) for i in range(5)]
    assert all(np.array_equal(smoother(x, i / 15), x) for i, x in enumerate(samples))


def test_a_still_face_jitters_less_tracked_and_smoothed_than_fitted_afresh(models, still) -> None:
    raw = []
    for i in range(STILL):
        frame = still.frame(i)
        raw.append(face_landmarks(gray(frame), detect_faces(frame)[0]))
    mirror = LiveMirror(models)
    smoothed = [result.landmarks[0] for result in edit(mirror, still, range(STILL))]
    assert jitter(smoothed[4:]) < 0.6 * jitter(raw[4:])
    truth = still.truth(0)[0]
    assert np.linalg.norm(smoothed[-1] - truth, axis=1).mean() < 3, "smoothed, yet on the face"


def test_every_frame_with_a_face_is_edited_there_and_only_near_it(models, still) -> None:
    mirror = LiveMirror(models)
    for i, result in enumerate(edit(mirror, still, range(4))):
        frame = still.frame(i)
        assert result.status == "1 face in view" and result.image.shape == frame.shape
        points = result.landmarks[0]
        x0, y0 = points.min(0).astype(int)
        x1, y1 = points.max(0).astype(int)
        change = np.abs(result.image.astype(int) - frame)
        assert change[y0:y1, x0:x1].mean() > 1
        assert change[:, : max(x0 - (x1 - x0), 1)].max() == 0, "far left of the face, nothing moves"


def test_switching_the_expression_changes_the_next_frame(models, still) -> None:
    mirror = LiveMirror(models)
    frames = [mirror(still.frame(0), "happy", t=0.0), mirror(still.frame(0), "sad", t=1 / 15)]
    assert np.abs(frames[0].image.astype(int) - frames[1].image).mean() > 0.1


def test_two_faces_are_both_followed_and_edited(models, two_faces) -> None:
    results = edit(LiveMirror(models), two_faces, range(3))
    assert all(len(result.boxes) == 2 for result in results)
    assert results[-1].status == "2 faces in view"
    assert results[-1].boxes[0].x < results[-1].boxes[1].x


def test_a_face_that_leaves_is_let_go_and_found_again_when_it_returns(models, still, faceless) -> None:
    mirror = LiveMirror(models)
    empty = cv2.resize(faceless, still.frame(0).shape[1::-1])
    statuses = [result.status for result in edit(mirror, still, range(3))]
    for i in range(3, 3 + DETECT_EVERY + MAX_MISSES + 1):
        result = mirror(empty, "happy", t=still.time(i))
        statuses.append(result.status)
        assert np.array_equal(result.image, empty) or result.boxes
    back = [mirror(still.frame(i), "happy", t=still.time(i)).status for i in range(20, 23)]
    assert statuses[:3] == ["1 face in view"] * 3
    assert statuses[-1] == "No face in view: face the camera"
    assert back[-1] == "1 face in view"


def test_a_face_sliding_out_of_the_frame_is_edited_while_it_can_be(models, still) -> None:
    mirror = LiveMirror(models)
    frame = still.frame(0)
    statuses = []
    for i, drop in enumerate(range(0, 480, 24)):  # down and out, mouth and chin first
        shift = np.float32([[1, 0, 0], [0, 1, drop]])
        moved = cv2.warpAffine(frame, shift, frame.shape[1::-1], borderValue=(128, 128, 128))
        statuses.append(mirror(moved, "surprise", t=i / 15).status)
    assert statuses[0] == "1 face in view" and statuses[-1] == "No face in view: face the camera"


def test_a_mouth_outside_the_photo_has_no_opening(astronaut) -> None:
    points = face_landmarks(gray(astronaut), detect_faces(astronaut)[0])
    opening = MouthOpening.of(astronaut, points + np.array([0.0, 1000.0]))
    assert not opening.at(points[:, 0], points[:, 1] + 1000.0).any()


def test_no_face_and_dark_frames_pass_through_and_say_why(models, still, faceless) -> None:
    mirror = LiveMirror(models)
    result = mirror(faceless, "happy", t=0.0)
    assert np.array_equal(result.image, faceless) and result.boxes == () and not result.dark
    assert result.status == "No face in view: face the camera"
    mirror(still.frame(0), "happy", t=0.1)
    dim = (still.frame(1) * 0.1).astype(np.uint8)  # a dim room: the face is still there to edit
    assert mirror(dim, "happy", t=0.2).status == "1 face in view"
    noise = np.random.default_rng(0).normal(4, 2, dim.shape)
    covered = np.clip(noise, 0, 255).astype(np.uint8)  # the lens covered: sensor noise only
    for i in range(3):
        result = mirror(covered, "happy", t=0.3 + i / 15)
        assert result.dark and result.boxes == () and np.array_equal(result.image, covered)
        assert result.status.startswith("Too dark")
    assert mirror(np.zeros_like(dim), "happy", t=0.6).status.startswith("Too dark")
    assert mirror(still.frame(2), "happy", t=0.7).status == "1 face in view"


def test_a_pause_in_the_stream_starts_afresh(models, still) -> None:
    mirror = LiveMirror(models)
    mirror(still.frame(0), "happy", t=0.0)
    assert len(mirror.tracks) == 1
    first = mirror.tracks[0]
    mirror(still.frame(1), "happy", t=MAX_GAP + 0.5)
    assert len(mirror.tracks) == 1 and mirror.tracks[0] is not first


def test_large_frames_are_shrunk_and_bad_ones_refused(models, astronaut) -> None:
    mirror = LiveMirror(models)
    big = cv2.resize(astronaut, (1280, 1280))
    assert mirror(big, "happy", t=0.0).image.shape == (640, 640, 3)
    with pytest.raises(ValueError, match="RGB uint8"):
        mirror(astronaut.astype(np.float32), "happy")
    with pytest.raises(ValueError, match="RGB uint8"):
        mirror(astronaut[..., 0], "happy")
    with pytest.raises(ValueError, match="unknown expression"):
        mirror(astronaut, "smug")
    with pytest.raises(ValueError, match="intensity"):
        mirror(astronaut, "happy", intensity=2.0)


def arrays_in(value: object, seen: set[int] | None = None) -> Iterator[np.ndarray | torch.Tensor]:
    """Every array and tensor reachable from `value` (attributes, containers), models aside."""
    seen = set() if seen is None else seen
    if id(value) in seen or isinstance(value, ExpressionModels | torch.nn.Module):
        return
    seen.add(id(value))
    if isinstance(value, np.ndarray | torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from arrays_in(item, seen)
    elif isinstance(value, list | tuple | set):
        for item in value:
            yield from arrays_in(item, seen)
    elif hasattr(value, "__dict__"):
        yield from arrays_in(vars(value), seen)


def test_the_mirror_keeps_no_frame_once_it_has_answered(models, still, two_faces) -> None:
    mirror = LiveMirror(models)
    edit(mirror, still, range(DETECT_EVERY + 2))
    edit(mirror, two_faces, range(3))
    frame_pixels = still.frame(0).shape[0] * still.frame(0).shape[1]
    kept = list(arrays_in(mirror))
    assert kept, "the mirror keeps its tracks (landmarks, decodings)"
    assert (
        max(array.numel() if isinstance(array, torch.Tensor) else array.size for array in kept)
        < frame_pixels / 4
    )


def test_decoding_some_expressions_gives_those_of_all(models, astronaut) -> None:
    points = face_landmarks(gray(astronaut), detect_faces(astronaut)[0])
    code = appearance_code(gray(astronaut), points, models)
    every = decode_textures(models, code)
    assert every.shape == (7, 48, 48) and every.min() >= 0 and every.max() <= 255
    assert np.allclose(decode_textures(models, code, [5, 2]), every[[5, 2]], atol=1e-4)


def test_a_face_prepared_from_given_landmarks_and_decodings_uses_them(models, astronaut) -> None:
    plane, box = gray(astronaut), detect_faces(astronaut)[0]
    fitted = prepare_face(astronaut, plane, box, models)
    moved = fitted.points + np.array([1.5, -0.5])
    given = prepare_face(astronaut, plane, box, models, points=moved, textures=fitted.textures)
    assert np.array_equal(given.points, moved) and given.textures is fitted.textures
    assert np.allclose(fitted.textures, prepare_face(astronaut, plane, box, models).textures)


# -- the demo's live mode -----------------------------------------------------------------------


def data_url(frame: np.ndarray) -> dict:
    _, jpeg = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return {"url": "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode(), "path": None}


def test_a_frame_is_read_from_its_data_url_and_answered_as_one(still) -> None:
    frame = still.frame(0)
    pixels = read_frame(data_url(frame), ImageLimits())
    assert pixels.shape == frame.shape and np.abs(pixels.astype(int) - frame).mean() < 3
    answer = frame_payload(frame)
    assert answer["path"] is None and answer["url"].startswith("data:image/jpeg;base64,")
    assert read_frame(answer, ImageLimits()).shape == frame.shape


@pytest.mark.parametrize(
    "payload",
    [
        {"path": "/etc/passwd", "url": None},
        {"url": "data:text/plain;base64,aGk="},
        {"url": "data:image/jpeg;base64,not base64!"},
        {"url": "data:image/jpeg;base64," + base64.b64encode(b"not an image").decode()},
        "frame.png",
    ],
)
def test_anything_but_a_webcam_frame_is_refused_with_a_reason(payload) -> None:
    with pytest.raises(gr.Error):
        read_frame(payload, ImageLimits())


def test_the_live_handler_edits_frames_and_says_what_it_sees(models, demo_config, still, faceless) -> None:
    mode = LiveMode(models, demo_config, lambda e, i, s: (e, float(i), float(s)))
    answer, status, mirror = mode.frame(data_url(still.frame(0)), "sad", 1.0, 1.3, None)
    assert answer["url"].startswith("data:image/jpeg") and status == "1 face in view: now looks **sad**."
    _, status, same = mode.frame(data_url(faceless), "sad", 1.0, 1.3, mirror)
    assert same is mirror and status == "No face in view: face the camera."
    assert mode.frame(None, "sad", 1.0, 1.3, mirror)[::2] == (None, None)


def test_a_webcam_clip_makes_a_file_chromium_can_play(tmp_path, still) -> None:
    path = write_y4m([still.frame(i) for i in range(3)], tmp_path / "camera.y4m")
    header, _, rest = path.read_bytes().partition(b"\n")
    assert header == b"YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg"
    assert len(rest) == 3 * (len(b"FRAME\n") + 640 * 480 * 3 // 2)
