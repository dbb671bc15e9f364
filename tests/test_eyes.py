"""The eyes in an expression edit (vae.eyes), on a drawn eye whose iris and white are known."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.test_demo_support import template_shape
from vae.eyes import (
    BROW_NEAREST,
    NARROWEST,
    WIDEST,
    Eyeball,
    brows_limited,
    opening,
    opening_limited,
    outline,
    redraw_eye,
    visible,
)
from vae.face_shape import EACH_EYE

SKIN, WHITE, IRIS = (200, 150, 120), (225, 220, 215), (70, 45, 30)
SHADOWED_WHITE = (95, 60, 55)  # the white of a narrow eye in its lids' shadow: dark and the skin's hue
CENTRE, WIDTH, RADIUS = np.array([60.0, 45.0]), 60.0, 12.0


def eye(opening: float) -> np.ndarray:
    """Six landmarks of an eye CENTRE, WIDTH wide, its lids `opening` widths apart."""
    x, y = CENTRE
    half, lid = WIDTH / 2, opening * WIDTH / 2
    corners, thirds = [[x - half, y], [x + half, y]], [x - half / 3, x + half / 3]
    upper, lower = [[u, y - lid] for u in thirds], [[u, y + lid] for u in thirds[::-1]]
    return np.array([corners[0], *upper, corners[1], *lower])


def photo_of(
    points: np.ndarray, white: tuple[int, int, int] = WHITE, iris_at: np.ndarray = CENTRE
) -> np.ndarray:
    """Skin, and between the lids `points` a `white` eyeball with a round iris of RADIUS at `iris_at`."""
    photo = np.full((90, 120, 3), SKIN, dtype=np.uint8)
    ball = np.full_like(photo, white)
    cv2.circle(ball, tuple(int(v) for v in iris_at), int(RADIUS), IRIS, -1, cv2.LINE_AA)
    between = np.zeros(photo.shape[:2], dtype=np.uint8)
    cv2.fillPoly(between, [np.round(outline(points)).astype(np.int32)], 1)
    photo[between > 0] = ball[between > 0]
    return photo


def test_an_eye_opened_wider_keeps_its_iris_round_and_shows_white_above_it() -> None:
    narrow, wide = eye(0.28), eye(0.7)
    photo = photo_of(narrow)
    ball = Eyeball.of(photo, narrow)
    assert ball is not None and np.linalg.norm(ball.centre - CENTRE) < 2
    # What the warp alone draws: the narrow eye stretched to the wide one's height.
    stretched = cv2.resize(photo[33:58], (120, 63), interpolation=cv2.INTER_LINEAR)
    region = photo.astype(np.float32)
    region[14:77] = stretched
    redrawn = redraw_eye(region, photo, narrow, wide, ball)

    between_lids = visible(wide, photo.shape[:2]) > 0.5  # short of the lids' edges, which the warp keeps

    def iris_height_over_width(image: np.ndarray) -> float:
        ys, xs = np.nonzero((image.mean(-1) < 90) & between_lids)
        return (np.ptp(ys) + 1) / (np.ptp(xs) + 1)

    assert iris_height_over_width(region) > 1.6  # the stretch: a tall dark oval
    assert 0.8 < iris_height_over_width(redrawn) < 1.25  # redrawn: round
    above = redrawn[int(CENTRE[1] - RADIUS - 3), int(CENTRE[0])]  # between the iris and the new upper lid
    assert above.mean() > 130 and above[0] - above[2] < 40  # a light, nearly grey white, not skin


def test_an_eye_the_edit_does_not_open_is_left_as_it_is() -> None:
    points = eye(0.35)
    photo = photo_of(points)
    ball = Eyeball.of(photo, points)
    assert ball is not None
    redrawn = redraw_eye(photo.astype(np.float32), photo, points, points, ball)
    assert np.abs(redrawn - photo).mean() < 0.5


def test_a_shut_eye_shows_no_eyeball_to_move() -> None:
    points = eye(0.05)
    assert Eyeball.of(photo_of(points), points) is None


def test_an_eye_opened_in_a_black_and_white_photo_stays_grey() -> None:
    narrow, wide = eye(0.28), eye(0.7)
    photo = np.repeat(photo_of(narrow).mean(-1, keepdims=True), 3, axis=-1).round().astype(np.uint8)
    ball = Eyeball.of(photo, narrow)
    redrawn = redraw_eye(photo.astype(np.float32), photo, narrow, wide, ball)
    assert np.abs(redrawn - photo).mean() > 1 and np.ptp(redrawn, axis=-1).max() < 0.5


def test_a_narrow_eyes_white_in_shadow_opens_lit_and_nearly_grey() -> None:
    narrow, wide = eye(0.28), eye(0.7)
    looking_aside = CENTRE + np.array([12.0, 0.0])
    photo = photo_of(narrow, white=SHADOWED_WHITE, iris_at=looking_aside)
    ball = Eyeball.of(photo, narrow)
    assert ball is not None
    redrawn = redraw_eye(photo.astype(np.float32), photo, narrow, wide, ball)
    x, y = int(CENTRE[0] - 12), int(CENTRE[1])  # white the photo shows, 24 px from the iris
    assert tuple(photo[y, x]) == SHADOWED_WHITE
    white = redrawn[y, x]
    assert white.mean() > 1.4 * np.mean(SHADOWED_WHITE)  # lit as the lids open
    assert white[0] - white[2] < 0.5 * (SKIN[0] - SKIN[2])  # and far less colourful than skin


def test_a_narrow_eye_with_dark_lashes_opens_a_white_no_darker_than_the_cheek() -> None:
    narrow, wide = eye(0.28), eye(0.7)
    photo = photo_of(narrow, white=SHADOWED_WHITE, iris_at=CENTRE + np.array([12.0, 0.0]))
    cv2.polylines(photo, [np.round(outline(narrow)).astype(np.int32)], True, (40, 30, 30), 5)  # lashes
    ball = Eyeball.of(photo, narrow)
    assert ball is not None
    redrawn = redraw_eye(photo.astype(np.float32), photo, narrow, wide, ball)
    white = redrawn[int(CENTRE[1]), int(CENTRE[0] - 12)]
    assert white.mean() > 0.85 * np.mean(SKIN)  # (drawn as dark as the lids, it was 0.45)


def test_an_expression_opens_an_eye_no_wider_than_its_iris_and_a_sliver_of_white() -> None:
    face = np.zeros((68, 2))
    beside = np.array([100.0, 0.0])
    face[EACH_EYE[0]], face[EACH_EYE[1]] = eye(0.3), eye(0.6) + beside  # the second eye wide open already
    target = face.copy()
    target[EACH_EYE[0]] = eye(0.8)  # white all round the iris: a stare
    target[EACH_EYE[1]] = eye(0.7) + beside
    limited = opening_limited(target, face)
    assert opening(limited[EACH_EYE[0]]) == pytest.approx(WIDEST)
    assert opening(limited[EACH_EYE[1]]) == pytest.approx(0.6)  # no wider than the photo's own
    assert np.allclose(limited[EACH_EYE[0]][[0, 3]], target[EACH_EYE[0]][[0, 3]])  # the corners stay


def test_an_expression_narrows_an_eye_to_half_its_opening_at_most() -> None:
    face = np.zeros((68, 2))
    beside = np.array([100.0, 0.0])  # the other eye
    face[EACH_EYE[0]], face[EACH_EYE[1]] = eye(0.3), eye(0.3) + beside
    target = face.copy()
    target[EACH_EYE[0]] = eye(0.05)  # all but shut: sleepy, not sad
    target[EACH_EYE[1]] = eye(0.25) + beside  # narrowed a little
    limited = opening_limited(target, face)
    assert opening(limited[EACH_EYE[0]]) == pytest.approx(NARROWEST * 0.3)
    assert np.allclose(limited[EACH_EYE[0]][[0, 3]], target[EACH_EYE[0]][[0, 3]])  # the corners stay
    np.testing.assert_array_equal(limited[EACH_EYE[1]], target[EACH_EYE[1]])


def test_brows_come_down_to_half_their_height_above_the_eyes_and_the_nose_at_most() -> None:
    """An upright face: brows lowered onto the eyes (angry at strength 3) are cut short at half
    their height above the upper lids and the top of the nose's bridge; a brow lowered a little, or
    raised, keeps its motion."""
    face = template_shape(480)
    lowered = face.copy()
    lowered[17:22] += (0.0, 60.0)  # the first brow all but onto its eye
    lowered[22:27] += (0.0, 5.0)  # the second a little
    limited = brows_limited(lowered, face)
    before = face[[37, 38], 1].mean() - face[17:22, 1].mean()  # heights above the lid's middle, in y
    after = limited[[37, 38], 1].mean() - limited[17:22, 1].mean()
    inner_before, inner_after = face[27, 1] - face[21, 1], limited[27, 1] - limited[21, 1]
    nearest = min(after / before, inner_after / inner_before)
    assert nearest == pytest.approx(BROW_NEAREST, abs=0.01)  # measured along the face's axis, tilted a little
    moved = limited[17:22] - face[17:22]
    np.testing.assert_allclose(moved, moved[[0]].repeat(5, axis=0))  # the brow moved whole, only less far
    np.testing.assert_array_equal(limited[22:27], lowered[22:27])
    raised = face.copy()
    raised[17:27] -= (0.0, 30.0)
    np.testing.assert_array_equal(brows_limited(raised, face), raised)


def test_inner_brow_ends_come_down_to_half_their_height_above_the_nose_and_a_brow_never_past_its_lid() -> (
    None
):
    """An inner brow end lowered towards the top of the nose's bridge stops at half its height
    above it; where the lid rises under a lowering brow, the brow stays where it was."""
    face = template_shape(480)
    inner = face.copy()
    inner[21] += (0.0, 30.0)  # only the first brow's inner end comes down
    limited = brows_limited(inner, face)
    height = lambda points: points[27, 1] - points[21, 1]  # noqa: E731
    assert height(limited) / height(face) == pytest.approx(BROW_NEAREST, abs=0.01)
    lid_up = face.copy()
    lid_up[[37, 38]] -= (0.0, 25.0)  # the lid rises most of the way to the brow ...
    lid_up[17:22] += (0.0, 25.0)  # ... as the brow comes down
    np.testing.assert_array_equal(brows_limited(lid_up, face)[17:22], face[17:22])
