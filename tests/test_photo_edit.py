"""The photo edit (vae.photo_edit) and its geometry (vae.face_shape, vae.mouth), on real faces found in
real photos, with tiny random-weight models: what is checked is what holds for any model."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from demo.swap import APPEARANCE_FILE, SHAPE_FILE
from tests.test_demo_support import template_shape
from vae.checkpoint import CheckpointError, load_checkpoint, save_model
from vae.config import ConfigError
from vae.drawing import SHARP_BLUR, Look
from vae.face_shape import (
    Mesh,
    Raster,
    WarpField,
    apply,
    canonical_shape,
    detail_weight,
    eye_distance,
    mean_shape,
    normalise,
    pixel_grid,
    shape_free,
    similarity,
    warp_keeping_detail,
)
from vae.landmarks import LandmarkError, detect_faces, face_landmarks, model_file
from vae.mouth import (
    MouthOpening,
    across_mouth,
    chin_with_lower_lip,
    close_mouth,
    extra_opening,
    fill_new_opening,
    lip_band,
    lips_meet_inside,
    meeting_line,
    mouth_closed,
    open_no_wider,
    repaint_stray_opening,
    teeth_in_place,
    tint_lips,
)
from vae.mouth_inside import CURVE_SAMPLES, draw_inside, inner_outline, inside_mask
from vae.photo_edit import (
    LIP_DARKENING,
    MAX_DARKENING,
    ExpressionModels,
    NoFaceError,
    grin_redrawn,
    lighten,
    limit_darkening,
    prepare_photo,
    smile_gone,
    warp_skin,
)
from vae.shape_model import ShapeConfig, ShapeVAE
from vae.smile_folds import lift_folds

pytest_plugins = ["tests.test_demo_support"]


@pytest.fixture(scope="module")
def models(tiny_checkpoints) -> ExpressionModels:
    return ExpressionModels.load(tiny_checkpoints / SHAPE_FILE, tiny_checkpoints / APPEARANCE_FILE)


@pytest.fixture(scope="module")
def prepared(models, astronaut):
    return prepare_photo(astronaut, models)


def test_one_face_is_found_in_the_astronaut_with_68_landmarks_on_it(prepared, astronaut) -> None:
    assert len(prepared.faces) == 1
    face = prepared.faces[0]
    box = face.box
    assert face.points.shape == (68, 2)
    inside = (face.points[:, 0] >= box.x - 0.2 * box.w) & (face.points[:, 0] <= box.x + 1.2 * box.w)
    assert inside.all() and 0.3 * box.w < eye_distance(face.points) < box.w
    assert face.points[8, 1] > face.points[30, 1] > face.points[27, 1]  # chin below nose tip below bridge
    assert face.present.shape == (7,) and np.isclose(face.present.sum(), 1)


def test_no_amount_gives_back_the_photo_itself(prepared, astronaut) -> None:
    assert np.array_equal(prepared.render("happy", 0.0), astronaut)


def test_an_edit_changes_the_face_and_nothing_far_from_it(prepared, astronaut) -> None:
    edited = prepared.render("surprise", 1.0, strength=2.0)
    assert edited.shape == astronaut.shape and edited.dtype == np.uint8
    x0, y0, x1, y1 = prepared.faces[0].window(astronaut.shape)
    outside = np.ones(astronaut.shape[:2], dtype=bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(edited[outside], astronaut[outside])
    face = prepared.faces[0].points
    fx0, fy0 = face.min(0).astype(int)
    fx1, fy1 = face.max(0).astype(int)
    assert np.abs(edited[fy0:fy1, fx0:fx1].astype(int) - astronaut[fy0:fy1, fx0:fx1]).mean() > 1


def test_a_black_and_white_photo_stays_black_and_white_in_every_expression(models, astronaut) -> None:
    grey = np.repeat(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=-1)
    photo = prepare_photo(grey, models)
    face = photo.faces[0]  # decoders that shade and light the face in blotches, each its own way
    blotches = np.random.default_rng(0).uniform(-80, 80, (face.textures.shape[0], 6, 6)).astype(np.float32)
    size = face.textures.shape[1:][::-1]
    textures = np.stack([128 + cv2.resize(b, size, interpolation=cv2.INTER_CUBIC) for b in blotches])
    photo.faces[0] = dataclasses.replace(face, textures=textures)
    for expression in photo.expressions:
        edited = photo.render(expression, 1.0, strength=2.0)
        assert np.abs(edited.astype(int) - grey).max() > 10  # edited ...
        assert np.ptp(edited.astype(int), axis=-1).max() <= 1  # ... in grey: no sepia shade, no red lips


def test_every_expression_gives_its_own_edit_and_the_strip_shows_them(prepared) -> None:
    edits = [prepared.render(e, 1.0, strength=1.5) for e in prepared.expressions]
    assert all(not np.array_equal(a, b) for i, a in enumerate(edits) for b in edits[i + 1 :])
    strip = prepared.strip(0, 1.0, 1.5, size=96)
    assert strip.shape == (7, 96, 96, 3) and strip.dtype == np.uint8
    assert len({tile.tobytes() for tile in strip}) == 7


def test_at_strength_zero_every_expression_is_the_same_edit(prepared) -> None:
    """Strength 0 is the average of the seven: the steps only some expressions take (closing the
    astronaut's grin, keeping the lips together) are taken by all alike, in their average amount."""
    face = dataclasses.replace(
        prepared.faces[0],
        smile_goes=np.array([1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0]),  # all but happy close her grin
        lips_together=np.array([False, False, False, False, True, False, True]),
    )
    photo = dataclasses.replace(prepared, faces=[face])
    average = photo.render("neutral", 1.0, strength=0.0)
    for expression in photo.expressions:
        assert np.array_equal(photo.render(expression, 1.0, strength=0.0), average), expression
    happy, sad = (photo.render(expression, 1.0, strength=1.0) for expression in ("happy", "sad"))
    assert not np.array_equal(happy, sad)


def test_angry_disgust_and_sad_close_a_grin_where_fear_keeps_its_teeth(prepared) -> None:
    """The astronaut grins with her teeth bared: angry, disgust and sad take the smile away with its
    teeth, to pressed lips, mostly by raising the jaw, where fear and happy keep the mouth open.
    Every decoder here draws her face as it is, so only that step moves the lips."""
    face = prepared.faces[0]
    as_it_is = np.repeat(apply(face.to_frame, face.points)[None], 7, axis=0)
    smile_goes = np.array([1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    shutting = np.array([True, True, False, False, True, False, True])  # the shipped models' (GRIN_SHUTTING)
    face = dataclasses.replace(face, shapes=as_it_is, smile_goes=smile_goes, grin_shutting=shutting)
    assert face.grin[prepared.expression_index("angry")] == 1.0, "her grin is open"
    for expression in ("angry", "disgust", "sad", "fear", "happy"):
        target = face.target_points(prepared.expression_index(expression), 1.0, 1.0)
        assert mouth_closed(target) == (expression in ("angry", "disgust", "sad")), expression
    angry = face.target_points(prepared.expression_index("angry"), 1.0, 1.0)
    upper, lower = face.points[62], face.points[66]  # the inner lips' middles: a jaw closes the mouth
    assert np.linalg.norm(angry[62] - upper) < 0.5 * np.linalg.norm(angry[62] - lower)
    down = across_mouth(face.points)  # the chin rises as far as the lip, across the mouth
    assert (angry[8] - face.points[8]) @ down == pytest.approx((angry[57] - face.points[57]) @ down)
    kept = dataclasses.replace(face, grin_shutting=np.zeros(7, dtype=bool))
    assert not mouth_closed(kept.target_points(prepared.expression_index("angry"), 1.0, 1.0))


def test_a_closing_jaw_raises_the_chin_with_the_lower_lip_turning_about_its_hinges() -> None:
    """The chin ends no further below the lower lip than in the photo, whatever the decoders drew
    for it, and the jaw's sides take their share, down to its hinges below the ears, which stay.
    Nothing on the jaw moves down, and a side already higher than its share keeps its place."""
    source = template_shape(480)
    target = source.copy()
    target[55:60] -= (0.0, 30.0)  # the lower lip rises 30 px ...
    target[8] += (0.0, 5.0)  # ... where the decoder dropped the chin
    raised = chin_with_lower_lip(target, source) - target
    np.testing.assert_allclose(raised[8], (0.0, -35.0), atol=1.5)  # along the mouth's tilt, as the lip rose
    rises = -raised[:17, 1]
    assert np.all(rises[[0, 1, 15, 16]] == 0.0) and 0 < rises[4] < rises[6] < rises[8]
    np.testing.assert_array_equal(raised[17:], 0.0)
    higher = target.copy()
    higher[7] -= (0.0, 40.0)  # a side the decoder raised further than the lip
    np.testing.assert_array_equal(chin_with_lower_lip(higher, source)[7], higher[7])
    dropped = source.copy()
    dropped[55:60] += (0.0, 30.0)  # the lip drops, the jaw stays: the jaw is not dropped with it
    np.testing.assert_array_equal(chin_with_lower_lip(dropped, source), dropped)
    dropped[8] += (0.0, 50.0)  # a chin dropped further than the lip comes up to it
    np.testing.assert_allclose(chin_with_lower_lip(dropped, source)[8] - source[8], (0.0, 30.0), atol=1.5)


def test_the_strip_is_the_edit_seen_small(prepared, astronaut) -> None:
    """Each tile is the face cut out of the edited photo, give or take what resizing changes (the
    middle of it: at its border the cut-out reads reflected pixels where the photo has real ones)."""
    face, middle = prepared.faces[0], (slice(32, 96), slice(32, 96))
    tile = prepared.strip(0, 1.0, 1.0, size=128)[prepared.expression_index("sad")][middle].astype(int)
    unchanged = face.cut_out(astronaut, 128)[1][middle]
    edited = face.cut_out(prepared.render("sad", 1.0, strength=1.0), 128)[1][middle]
    assert np.abs(tile - edited).mean() < 0.5 * np.abs(tile - unchanged).mean()


def test_the_closeup_is_the_photo_and_its_strip_tile_seen_larger(prepared) -> None:
    before, after = prepared.closeup(0, "sad", 1.0, 1.0, size=256)
    tile = prepared.strip(0, 1.0, 1.0, size=256)[prepared.expression_index("sad")]
    np.testing.assert_array_equal(after, tile)  # the same edit of the same cut-out
    np.testing.assert_array_equal(before, prepared.closeup(0, "happy", 0.0, 1.0, size=256)[1])  # amount 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: p.render("grumpy"), "unknown expression"),
        (lambda p: p.render("happy", 1.5), "intensity"),
        (lambda p: p.render("happy", 1.0, strength=-1.0), "strength"),
        (lambda p: p.render("happy", 1.0, faces=[1]), "out of range"),
        (lambda p: p.render("happy", 1.0, faces="some"), "faces must be"),
        (lambda p: p.strip(3), "out of range"),
        (lambda p: p.closeup(0, "grumpy"), "unknown expression"),
        (lambda p: p.closeup(0, "sad", strength=9.0), "strength"),
    ],
)
def test_bad_settings_are_refused_with_a_reason(prepared, call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call(prepared)


def test_a_photo_without_a_face_says_so(models, faceless) -> None:
    with pytest.raises(NoFaceError, match="No face was found"):
        prepare_photo(faceless, models)


def test_a_face_too_small_to_edit_says_so(models, astronaut) -> None:
    small = cv2.resize(astronaut, None, fx=0.35, fy=0.35, interpolation=cv2.INTER_AREA)
    with pytest.raises(NoFaceError, match="too small"):
        prepare_photo(small, models)


def test_each_face_of_a_group_is_edited_alone_when_chosen(models, astronaut) -> None:
    group = np.hstack([astronaut, astronaut[:, ::-1]])
    prepared = prepare_photo(group, models)
    assert len(prepared.faces) == 2 and prepared.faces[0].box.x < prepared.faces[1].box.x
    right = prepared.render("angry", 1.0, faces=1, strength=2.0)
    assert np.array_equal(right[:, :512], group[:, :512]) and not np.array_equal(
        right[:, 512:], group[:, 512:]
    )
    both = prepared.render("angry", 1.0, strength=2.0)
    assert np.array_equal(both[:, 512:], right[:, 512:]) and not np.array_equal(both[:, :512], group[:, :512])


def test_models_whose_expressions_differ_are_refused(tmp_path, tiny_checkpoints) -> None:
    shape = ShapeVAE(ShapeConfig(hidden=8, latent_dim=2, expressions=("happy", "sad")))
    save_model(tmp_path / "shape.safetensors", shape)
    with pytest.raises(CheckpointError, match="expressions"):
        ExpressionModels.load(tmp_path / "shape.safetensors", tiny_checkpoints / APPEARANCE_FILE)
    with pytest.raises(CheckpointError, match="not a shape model"):
        ExpressionModels.load(tiny_checkpoints / APPEARANCE_FILE, tiny_checkpoints / APPEARANCE_FILE)


# -- the shape model ----------------------------------------------------------------------------


def test_the_shape_model_round_trips_through_its_checkpoint_with_its_frame(tiny_checkpoints) -> None:
    model = load_checkpoint(tiny_checkpoints / SHAPE_FILE).model
    assert isinstance(model, ShapeVAE) and model.config == ShapeConfig(hidden=16, latent_dim=4)
    assert float(model.unit) > 10 and model.template.abs().sum() > 0
    shapes = model.template[None].repeat(3, 1, 1)
    decoded = model.decode_all(model.encode(shapes)[0])
    assert decoded.shape == (3, 7, 68, 2)
    own = model.decode(model.encode(shapes)[0], torch.tensor([0, 3, 6]))
    assert torch.allclose(own, decoded[torch.arange(3), torch.tensor([0, 3, 6])], atol=1e-5)


def test_a_shape_config_from_another_version_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown shape model config fields"):
        ShapeConfig.from_dict({"kind": "shape", "wings": 2})
    with pytest.raises(ConfigError):
        ShapeConfig(latent_dim=0)


# -- geometry -------------------------------------------------------------------------------------


def test_similarity_recovers_a_rotation_scale_and_shift() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(20, 2))
    angle, scale, shift = 0.3, 1.7, np.array([4.0, -2.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = scale * points @ rotation.T + shift
    matrix = similarity(points, moved)
    assert np.allclose(apply(matrix, points), moved, atol=1e-9)


def test_normalising_a_moved_face_gives_back_its_shape(astronaut) -> None:
    points = face_landmarks(astronaut, detect_faces(astronaut)[0])
    template = normalise(points, points)[0]
    turned = apply(similarity(points[:3], points[:3] * 0.5 + 7), points)  # any similarity
    assert np.allclose(normalise(turned, template)[0], template, atol=1e-6)
    mean = mean_shape(np.stack([points, turned]))  # the same shape, in between in place and size
    assert np.allclose(normalise(mean, points)[0], points, atol=1e-3)


def test_a_mesh_mapped_onto_itself_reads_every_pixel_where_it_is(astronaut) -> None:
    points = face_landmarks(astronaut, detect_faces(astronaut)[0])
    mesh = Mesh(points)
    vertices = mesh.vertices(points)
    xs, ys = pixel_grid((150, 50, 350, 250))
    map_x, map_y = Raster.of(vertices, mesh.triangles, xs, ys).sample(vertices)
    assert np.abs(map_x - xs).max() < 1e-3 and np.abs(map_y - ys).max() < 1e-3


def test_the_warp_field_is_exact_where_asked_and_close_elsewhere(astronaut) -> None:
    points = face_landmarks(astronaut, detect_faces(astronaut)[0])
    mesh = Mesh(points)
    source = mesh.vertices(points)
    target = source.copy()
    target[48:68] += [0.0, 6.0]  # the mouth moves down
    target[36:42] += [0.0, 4.0]  # and one eye's lids
    window, sharp, eye = (150, 50, 350, 300), (200, 200, 300, 280), (160, 100, 240, 160)
    field = WarpField.of(target, mesh.triangles, window, sharp, step=4, exact=(eye, (400, 0, 450, 40)))
    _, map_y = field.sample(source)
    exact = Raster.of(target, mesh.triangles, *pixel_grid(window)).sample(source)
    _, interpolated = WarpField.of(target, mesh.triangles, window, sharp, step=4).sample(source)
    mouth, eye = (slice(150, 230), slice(50, 150)), (slice(50, 110), slice(10, 90))  # window rows, columns
    assert np.abs(map_y[mouth] - exact[1][mouth]).max() < 1e-3
    # Exact but for a pixel or two on a sliver's edge, which a smaller box's raster may give to its
    # neighbour; interpolated, half the box is off where the lids move.
    assert (np.abs(map_y[eye] - exact[1][eye]) > 1e-3).mean() < 0.005
    assert (np.abs(interpolated[eye] - exact[1][eye]) > 1e-3).mean() > 0.2
    assert np.abs(map_y - exact[1]).mean() < 0.2
    assert len(field.fine) == 2  # the box outside the window is left out


def test_a_face_already_in_the_canonical_shape_is_left_as_it_is() -> None:
    rng = np.random.default_rng(0)
    canonical = canonical_shape(template_shape())
    image = cv2.GaussianBlur(rng.integers(0, 255, (48, 48)).astype(np.uint8), (0, 0), 2)
    assert np.abs(shape_free(image, canonical, canonical).astype(int) - image).mean() < 2.0


# -- the mouth ------------------------------------------------------------------------------------


MOUTH_CENTRE = np.array([50.0, 100.0])


def lips(gap: float) -> np.ndarray:
    """A 68-point face (eye distance 100) whose mouth is 60 wide, its inner lips `gap` apart."""
    points = np.zeros((68, 2))
    points[36], points[45] = (0.0, 0.0), (100.0, 0.0)
    angles = np.linspace(np.pi, -np.pi, 12, endpoint=False)  # 48 is the left corner, then over the top
    points[48:60] = MOUTH_CENTRE + np.stack([30 * np.cos(angles), -12 * np.sin(angles)], axis=1)
    inner_x = np.array([-20.0, -10.0, 0.0, 10.0, 20.0, 10.0, 0.0, -10.0])
    inner_y = np.array([0.0, -1, -1, -1, 0, 1, 1, 1]) * gap / 2
    points[60:68] = MOUTH_CENTRE + np.stack([inner_x, inner_y], axis=1)
    return points


def test_nearly_closed_lips_meet_and_an_open_mouth_stays_open() -> None:
    closed = close_mouth(lips(3.0), lips(20.0))
    assert mouth_closed(closed) and np.allclose(closed[[60, 64]], closed[[48, 54]])
    opened = close_mouth(lips(20.0), lips(20.0))
    assert not mouth_closed(opened) and np.allclose(opened, lips(20.0))
    assert np.allclose(close_mouth(lips(3.0), lips(2.0)), lips(3.0))  # it was nearly closed already


def test_lips_an_edit_moves_past_each_other_only_meet_and_keep_their_thickness() -> None:
    crossed = lips(-30.0)  # the upper inner lip 30 px below the lower one
    closed = close_mouth(crossed, lips(20.0))
    assert mouth_closed(closed) and np.allclose(closed[62], MOUTH_CENTRE)
    thickness = closed[[51, 57], 1] - closed[[62, 66], 1]
    assert np.allclose(thickness, crossed[[51, 57], 1] - crossed[[62, 66], 1])


def test_a_mouth_opened_no_wider_than_the_photos_keeps_its_lips_thickness() -> None:
    narrowed = open_no_wider(lips(30.0), lips(10.0))
    assert np.allclose(narrowed[66] - narrowed[62], [0, 10.0])
    assert np.allclose(
        narrowed[[51, 57], 1] - narrowed[[62, 66], 1], lips(30.0)[[51, 57], 1] - lips(30.0)[[62, 66], 1]
    )
    assert np.allclose(open_no_wider(lips(30.0), lips(40.0)), lips(30.0))  # no wider already
    assert np.allclose(open_no_wider(lips(30.0), lips(-5.0))[62], MOUTH_CENTRE)  # closed: the lips meet


def test_where_a_mouth_closes_the_source_lips_meet_inside_their_edges() -> None:
    source = lips(20.0)
    target = close_mouth(lips(1.0), source)
    moved = lips_meet_inside(source, target)
    assert (moved[[61, 62, 63], 1] < source[[61, 62, 63], 1]).all()
    assert (moved[[65, 66, 67], 1] > source[[65, 66, 67], 1]).all()
    assert np.allclose(lips_meet_inside(source, lips(20.0)), source)


def test_the_extra_opening_is_the_gap_beyond_the_decoded_one() -> None:
    extra = extra_opening(lips(20.0), lips(8.0))
    assert np.allclose(extra[62], [0, -6.0]) and np.allclose(extra[66], [0, 6.0])
    assert np.allclose(extra[:60], 0)


def test_the_opening_is_found_by_colour_inside_the_lips() -> None:
    points = lips(16.0) * 2 - (0, 100)  # a mouth 120 px wide around (100, 100)
    image = np.full((200, 200, 3), (200, 160, 140), dtype=np.uint8)  # skin
    cv2.fillPoly(image, [np.round(points[48:60]).astype(np.int32)], (170, 70, 80))  # red lips
    cv2.ellipse(image, (100, 100), (46, 16), 0, 0, 360, (30, 20, 20), -1)  # wider than the landmarks
    opening = MouthOpening.of(image, points)
    ys, xs = np.mgrid[:200, :200]
    found = opening.at(xs.astype(float), ys.astype(float))
    dark, lip = np.all(image < 60, -1), np.all(image == (170, 70, 80), -1)
    assert (found & dark).sum() > 0.9 * dark.sum() and (found & lip).sum() < 0.1 * lip.sum()
    assert opening.teeth is None  # a dark opening shows no teeth


def test_the_teeth_an_opening_shows_give_their_colour() -> None:
    points = lips(16.0) * 2 - (0, 100)
    image = np.full((200, 200, 3), (200, 160, 140), dtype=np.uint8)
    cv2.fillPoly(image, [np.round(points[48:60]).astype(np.int32)], (170, 70, 80))
    cv2.ellipse(image, (100, 100), (46, 16), 0, 0, 360, (235, 225, 210), -1)  # a row of teeth
    teeth = MouthOpening.of(image, points).teeth
    assert teeth is not None and np.allclose(teeth, (235, 225, 210), atol=2)


def test_the_lips_colour_is_the_lips_where_the_landmarks_reach_past_them_onto_skin() -> None:
    points = lips(16.0) * 2 - (0, 100)  # a grin 120 px wide around (100, 100)
    photo = np.full((200, 200, 3), (200, 160, 140), dtype=np.uint8)
    cv2.fillPoly(photo, [np.round(points[48:60]).astype(np.int32)], (170, 70, 80))
    cv2.ellipse(photo, (100, 100), (40, 8), 0, 0, 360, (235, 225, 210), -1)  # its teeth
    centre = points[48:60].mean(0)
    points[48:60] = centre + 1.4 * (points[48:60] - centre)  # the outer lip line out on the skin
    assert np.allclose(MouthOpening.of(photo, points).lips, (170, 70, 80))  # not the skin around them


LIP_RED = np.array([170.0, 70.0, 80.0])
SKIN = np.array([200.0, 160.0, 140.0])


def opening_with(lips: np.ndarray, photo: np.ndarray, teeth: np.ndarray | None = None) -> MouthOpening:
    """A mouth opening of `photo` (its look) with lips (and teeth) of these colours."""
    return MouthOpening(0, 0, np.zeros((1, 1), dtype=bool), lips, lips, SKIN, Look.of(photo), teeth)


def big_lips(gap: float) -> np.ndarray:
    """lips(gap / 2) twice the size: a mouth 120 px wide around (100, 100), eye distance 200."""
    return lips(gap / 2) * 2 - (0, 100)


def test_the_opening_is_a_smooth_curve_through_the_inner_lips() -> None:
    points = big_lips(32.0)
    outline = inner_outline(points)
    assert np.allclose(outline[::CURVE_SAMPLES], points[60:68])
    polygon = np.zeros((200, 200), np.uint8)
    cv2.fillPoly(polygon, [np.round(points[60:68]).astype(np.int32)], 1)
    curve = inside_mask(points, (200, 200))
    assert curve[100, 100] and (curve | ~polygon.astype(bool))[2:-2, 2:-2].mean() > 0.99


def test_a_drawn_opening_shows_teeth_where_the_decoder_is_bright_and_darkness_where_it_is_dark() -> None:
    points = big_lips(12.0)  # a narrow opening: the decoder decides
    front = inside_mask(points, (200, 200))
    front[:, :80] = front[:, 120:] = False  # the front teeth, away from the dark corners
    teeth = draw_inside(points, np.full((200, 200), 1.6), LIP_RED, SKIN)[front].mean(0)
    dark = draw_inside(points, np.full((200, 200), 0.2), LIP_RED, SKIN)[front].mean(0)

    def chroma(rgb: np.ndarray) -> float:
        return float(np.ptp(rgb) / rgb.mean())

    assert teeth.mean() > LIP_RED.mean() and chroma(teeth) < 0.5 * chroma(LIP_RED)  # light and pale
    assert dark.mean() < 0.3 * LIP_RED.mean()


def test_teeth_stand_at_the_lips_with_the_dark_inside_between_the_rows() -> None:
    points = big_lips(30.0)  # 80 px wide, 30 tall: taller than both rows of teeth
    drawn = draw_inside(points, np.full((200, 200), 1.6), LIP_RED, SKIN)  # the decoder shows teeth
    upper_teeth, between, lower_teeth = drawn[89, 100], drawn[100, 100], drawn[112, 100]  # lips at 85, 115
    assert upper_teeth.mean() > LIP_RED.mean() and lower_teeth.mean() > LIP_RED.mean()
    assert between.mean() < 0.5 * LIP_RED.mean()  # no teeth floating in the middle of the opening


def test_drawn_teeth_are_single_teeth_not_a_band() -> None:
    points = big_lips(30.0)  # the upper lip at y 85, the upper row about 10 px deep
    drawn = draw_inside(points, np.full((200, 200), 1.6), LIP_RED, SKIN).mean(-1)
    near_edge = drawn[92, 82:119]  # along the front teeth, near their free edge
    assert near_edge.min() < 0.88 * near_edge.max()  # gaps between teeth, rounded edges


def test_drawn_teeth_take_the_hue_of_the_skin_not_of_the_lips() -> None:
    points = big_lips(12.0)
    tooth = draw_inside(points, np.full((200, 200), 1.6), LIP_RED, SKIN)[100, 100]
    # yellow-white as the skin is (red lips, green and blue alike, made them lilac grey)
    assert tooth[0] > tooth[1] > tooth[2] and tooth[1] - tooth[2] > 0.05 * tooth.mean()


def test_drawn_teeth_on_dark_lips_are_lighter_than_the_skin() -> None:
    points = big_lips(12.0)
    dark_lips, skin = np.array([98.0, 55.0, 56.0]), np.array([136.0, 87.0, 73.0])  # a dim photo's
    front = inside_mask(points, (200, 200))
    front[:, :80] = front[:, 120:] = False
    teeth = draw_inside(points, np.full((200, 200), 1.6), dark_lips, skin)[front].mean(-1)
    # the photos' own teeth (their 75th percentile) are 1.2 to 1.9 times their skin's brightness;
    # lit as twice the lips only, these were 1.17
    assert np.percentile(teeth, 75) > 1.3 * skin.mean()


def test_the_inside_is_as_dark_as_the_decoder_draws_it() -> None:
    points = big_lips(12.0)  # a narrow opening: the decoder decides
    inside = inside_mask(points, (200, 200))
    for level in (0.2, 0.6, 0.9):
        drawn = draw_inside(points, np.full((200, 200), level), LIP_RED, SKIN)[inside].mean()
        assert 0.75 * level * LIP_RED.mean() < drawn <= level * LIP_RED.mean()


def test_only_the_new_opening_may_darken_to_black_and_the_lips_darken_least() -> None:
    points = big_lips(30.0)  # inner lips at y 85 and 115, outer lips at 76 and 124
    darkest = limit_darkening(np.full((200, 200), -3.0), points, intensity=1.0)
    assert darkest[100, 100] == -3.0  # inside the opening: as dark as the decoder draws it
    assert darkest[119, 100] >= -LIP_DARKENING - 0.02  # the lower lip, 4 px from the opening
    assert darkest[160, 100] == pytest.approx(-MAX_DARKENING)  # skin


def test_lightening_is_pale_and_shade_is_warm() -> None:
    skin = np.full((4, 4, 3), (200.0, 140.0, 110.0), dtype=np.float32)
    lighter = lighten(skin, np.full((4, 4), 0.15))[0, 0]
    darker = lighten(skin, np.full((4, 4), -0.3))[0, 0]
    assert lighter.mean() > skin[0, 0].mean() > darker.mean()
    added = lighter - skin[0, 0]
    assert np.ptp(added) < 1e-3  # the same light on every channel: paler, not more orange
    assert darker[0] / darker[2] > skin[0, 0, 0] / skin[0, 0, 2]  # shade keeps more red than blue


def test_shade_on_a_black_and_white_photo_is_grey() -> None:
    grey = np.full((4, 4, 3), 150.0, dtype=np.float32)
    darker = lighten(grey, np.full((4, 4), -0.3), colour=0.0)[0, 0]
    assert darker.mean() < 150 and np.ptp(darker) < 1e-3


def test_what_is_drawn_on_a_soft_photo_is_as_soft_as_it() -> None:
    line = np.zeros((40, 40), dtype=np.float32)
    line[20] = 1.0
    assert np.array_equal(Look(1.0, SHARP_BLUR, 0.0).soften(line), line)
    soft = Look(1.0, 3.0, 0.0).soften(line)
    assert soft[20, 20] < 0.5 and soft[17, 20] > 0.05 and soft.sum() == pytest.approx(line.sum(), rel=0.01)


def test_skin_stretched_too_far_to_copy_its_detail_takes_the_photos_grain() -> None:
    skin = 150 + 6 * np.random.default_rng(1).standard_normal((120, 120, 1)).repeat(3, -1)
    look = Look.of(skin.astype(np.uint8))
    ys, xs = np.mgrid[:120, :120].astype(np.float32)
    stretch = np.full((120, 120), 2.5)  # every area 2.5 times as large: little of its detail is copied
    stretched = warp_keeping_detail(skin, xs / 2.5, ys, detail_weight(stretch))
    regrained = warp_skin(skin, xs / 2.5, ys, stretch, look)

    def grain(image: np.ndarray) -> float:
        return Look.of(np.clip(image, 0, 255).astype(np.uint8)).grain

    assert grain(stretched) < 0.6 * look.grain  # smoother than the skin around it
    assert 0.8 * look.grain < grain(regrained) < 1.3 * look.grain
    assert np.array_equal(
        warp_skin(skin, xs, ys, np.ones((120, 120)), look), warp_keeping_detail(skin, xs, ys)
    )


def test_a_new_opening_is_drawn_whole_or_not_at_all() -> None:
    points = big_lips(12.0)
    teeth = np.full((200, 200, 3), 230.0, dtype=np.float32)  # the photo's teeth, everywhere
    darkening = np.zeros((200, 200))
    darkening[:, 100:] = 1.0  # the decoder darkens the right half of the opening only
    lip_level = np.ones((200, 200))  # the decoder's inside as bright as its lips: not a dark hole
    unstretched = np.ones((200, 200))
    drawn = fill_new_opening(teeth, points, unstretched, darkening, lip_level, opening_with(LIP_RED, teeth))
    left, right = drawn[100, 85].mean(), drawn[100, 115].mean()
    assert right < 150 and abs(left - right) < 15  # both halves drawn: no seam down the middle


def test_faint_teeth_of_the_decoder_are_drawn_as_whole_teeth_and_none_where_nothing_is_bright() -> None:
    points = big_lips(24.0)
    faint = np.full((200, 200), 0.7)
    faint[:100] = 1.15  # the decoder's teeth, only a little brighter than its lips, in the upper half
    clear = np.where(faint > 1, 1.6, 0.7)
    upper_row = (95, 100)
    assert (
        draw_inside(points, faint, LIP_RED, SKIN)[upper_row].mean()
        > 0.8 * draw_inside(points, clear, LIP_RED, SKIN)[upper_row].mean()
    )
    dull = np.full((200, 200), 0.9)  # nowhere brighter than the lips: no teeth
    assert draw_inside(points, dull, LIP_RED, SKIN)[upper_row].mean() < LIP_RED.mean()


def test_a_mouth_open_wide_shows_its_upper_front_teeth_and_a_small_one_stays_dark() -> None:
    points = big_lips(56.0)  # 56 px tall, 80 wide: gaping
    dark = np.full((200, 200), 0.2)  # the decoder draws a dark hole
    drawn = draw_inside(points, dark, LIP_RED, SKIN)
    tooth, inside = drawn[78, 100], drawn[110, 100]  # under the upper lip (at y 72), and below
    assert inside.mean() < 0.3 * LIP_RED.mean() and tooth.mean() > 3 * inside.mean()
    assert np.ptp(tooth) / tooth.mean() < 0.5 * np.ptp(LIP_RED) / LIP_RED.mean()  # pale, not red
    small = points * 0.15  # 12 px wide
    inside = inside_mask(small, (200, 200))
    assert draw_inside(small, dark, LIP_RED, SKIN)[inside].mean() < 0.3 * LIP_RED.mean()


def test_teeth_end_at_their_jaws_arch_not_down_the_sides_of_a_peaked_opening() -> None:
    points = big_lips(56.0)  # gaping: the upper front teeth show under the upper lip (at y 72)
    points[[61, 63], 1] = 86  # the upper lip slopes down either side of its middle
    drawn = draw_inside(points, np.full((200, 200), 0.2), LIP_RED, SKIN).mean(-1)
    assert drawn[78, 96] > LIP_RED.mean()  # front teeth under the lip's middle
    side = drawn[88, 85:89]  # under the sloping lip, below the front teeth's edges
    assert side.max() < 0.3 * LIP_RED.mean()  # the dark inside: no teeth hanging down like fangs


def test_a_mouth_open_wide_shows_its_tongue_low_in_the_opening_not_a_black_hole() -> None:
    points = big_lips(56.0)  # gaping: inner lips at y 72 and 128, 80 px apart at the corners
    drawn = draw_inside(points, np.full((200, 200), 0.05), LIP_RED, SKIN).mean(-1)  # the decoder: black
    tongue, middle = drawn[124, 100], drawn[100, 100]
    assert tongue > 3 * middle and tongue < 0.6 * LIP_RED.mean()  # lit, and darker than a lip
    assert drawn[124, 100] > drawn[118, 100] > middle  # it curves back into the dark
    assert drawn[112, 134] < 0.2 * tongue  # the corners stay dark (the opening spans y 86..114 there)


def test_a_grin_is_drawn_anew_in_another_expression_and_its_teeth_keep_their_colour() -> None:
    points = big_lips(12.0)
    grin = np.full((200, 200, 3), 230.0, dtype=np.float32)  # the photo's teeth, warped
    lip_level, unstretched, no_change = np.ones((200, 200)), np.ones((200, 200)), np.zeros((200, 200))
    white = np.array([240.0, 238.0, 236.0])
    opening = opening_with(LIP_RED, grin, teeth=white)
    kept = fill_new_opening(grin, points, unstretched, no_change, lip_level, opening)
    drawn = fill_new_opening(grin, points, unstretched, no_change, lip_level, opening, redrawn=1.0)
    inside = inside_mask(points, (200, 200))
    assert np.allclose(kept, grin)  # happy: the photo's own teeth, as warped
    closed = fill_new_opening(grin, big_lips(0.0), unstretched, no_change, lip_level, opening, redrawn=1.0)
    assert np.allclose(closed, grin)  # lips that meet: no sliver of teeth drawn between them
    assert np.abs(drawn[inside] - grin[inside]).mean() > 20  # another expression: drawn anew
    bright_teeth = draw_inside(points, np.full((200, 200), 1.6), LIP_RED, SKIN, white)[97, 100]  # upper row
    assert np.ptp(bright_teeth) < 10 and bright_teeth.mean() > 0.8 * white.mean()  # the photo's white


def test_the_teeth_a_new_mouth_uncovers_are_the_photos_own_where_they_were() -> None:
    points = lips(16.0) * 2 - (0, 100)  # a grin 120 px wide around (100, 100)
    photo = np.full((200, 200, 3), (200, 160, 140), dtype=np.uint8)
    cv2.fillPoly(photo, [np.round(points[48:60]).astype(np.int32)], (170, 70, 80))
    cv2.ellipse(photo, (100, 100), (40, 8), 0, 0, 360, (235, 225, 210), -1)  # its teeth
    opening = MouthOpening.of(photo, points)
    box = photo[60:140, 40:160]  # the mouth's box of the photo, from photo pixel (40, 60)
    drawn = np.full((80, 120, 3), 40.0)  # a new mouth, open 60 px (the old one 32), drawn dark
    taller = big_lips(60.0) - (40, 60)  # its inner lips in the box's pixels
    kept = teeth_in_place(drawn, box, opening, (40, 60), taller)
    assert np.allclose(kept[40, 60], (235, 225, 210), atol=2)  # the teeth, unmoved
    assert np.allclose(kept[67, 60], 40)  # below the old opening, the new mouth's dark inside
    assert np.allclose(kept[5, 5], 40)  # outside the new lips, nothing is taken from the photo


def test_only_a_smiles_open_mouth_is_a_grin_that_other_expressions_redraw() -> None:
    expressions = ("angry", "happy", "neutral")
    laughing = smile_gone(np.array([0.0, 1.0, 0.0]), expressions)
    talking = smile_gone(np.array([1.0, 0.0, 0.0]), expressions)
    assert np.allclose(laughing, [1, 0, 1]) and np.allclose(talking, 0)
    assert np.allclose(grin_redrawn(big_lips(30.0), laughing), [1, 0, 1])
    assert np.allclose(grin_redrawn(big_lips(30.0), talking), 0)
    assert np.allclose(grin_redrawn(big_lips(0.0), laughing), 0)  # lips closed: no teeth


def test_an_old_opening_where_the_mouth_closes_is_filled_from_the_lips_around_it() -> None:
    points = lips(16.0) * 2 - (0, 100)  # a mouth 120 px wide around (100, 100), open
    photo = np.full((200, 200, 3), (200, 160, 140), dtype=np.uint8)
    cv2.fillPoly(photo, [np.round(points[48:60]).astype(np.int32)], (170, 70, 80))
    photo[118:, :][np.all(photo[118:, :] == (170, 70, 80), -1)] = (150, 60, 70)  # the lower lip's shade
    cv2.ellipse(photo, (100, 100), (40, 8), 0, 0, 360, (30, 20, 20), -1)  # its dark inside
    opening = MouthOpening.of(photo, points)
    assert np.all(opening.seam < opening.lips - 5)  # the colour of the lips' darkest part
    ys, xs = np.mgrid[:200, :200].astype(np.float32)
    closed = big_lips(0.0)  # the lips meet along y = 100: the photo is not moved, only closed
    filled = repaint_stray_opening(photo.astype(np.float32), opening, xs, ys, closed, closing=1.0)
    was_dark = np.all(photo < 60, -1)
    off_the_line = was_dark & (np.abs(ys - 100) > 4)
    assert np.abs(filled[off_the_line] - (170, 70, 80)).max() < 25  # lips, no dark streaks left
    assert np.allclose(filled[100, 100], opening.seam, atol=12)  # where they meet, the lips' shade


def test_closed_lips_meet_along_a_line_that_follows_the_landmarks_between_pixels() -> None:
    closed = big_lips(0.0)
    closed[48:68, 1] += 0.02 * (closed[48:68, 0] - 100)  # a slight slope: 1.2 px over the mouth
    line = meeting_line(closed, (200, 200))
    columns = np.arange(60, 141)
    rows = np.arange(200)[:, None]
    centres = (line[:, columns] * rows).sum(0) / line[:, columns].sum(0)
    wanted = 100 + 0.02 * (columns - 100)
    assert np.abs(centres - wanted).max() < 0.15  # from whole-pixel distances it stepped by half a pixel
    assert line.max() > 0.5 and line[90, 100] < 0.01  # a line, about a pixel wide


def test_a_closing_mouths_lips_take_the_photos_lip_colour_and_keep_their_detail() -> None:
    closed = big_lips(0.0)
    skin, lip_colour = np.array([220.0, 190.0, 165.0]), np.array([200.0, 120.0, 120.0])
    grain = np.random.default_rng(1).normal(0, 6, (200, 200, 1)).astype(np.float32)
    image = np.broadcast_to(skin, (200, 200, 3)).astype(np.float32) + grain  # a grin's skin and teeth
    tinted = tint_lips(image, closed, lip_colour, amount=1.0)
    band = lip_band(closed, (200, 200))
    core = cv2.erode(band.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    far = ~cv2.dilate(band.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool)
    assert np.abs(tinted[core].mean(0) - lip_colour).max() < 6  # the lips are lip coloured
    assert np.allclose((tinted - image)[core].std(0), 0, atol=1.5)  # the grain rides on top
    np.testing.assert_array_equal(tinted[far], image[far])  # the skin stays
    assert tint_lips(image, closed, lip_colour, amount=0.0) is image  # an open mouth: nothing to do


def test_a_mouth_opened_in_a_black_and_white_photo_stays_grey() -> None:
    points = big_lips(32.0)
    grey = np.full((200, 200, 3), 120.0, dtype=np.float32)
    stretched = np.full((200, 200), 4.0)  # the warp pulled the mouth open: its inside is drawn
    bright = np.full((200, 200), 1.6)  # teeth
    opening = opening_with(grey[0, 0], grey)
    drawn = fill_new_opening(grey, points, stretched, np.zeros((200, 200)), bright, opening)
    inside = inside_mask(points, (200, 200))
    assert np.abs(drawn[inside] - grey[inside]).mean() > 10  # teeth were drawn
    assert np.ptp(drawn, axis=-1).max() < 0.5  # in grey


def test_missing_face_models_name_the_package_to_install(monkeypatch) -> None:
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(LandmarkError, match="pip install face_recognition_models"):
        model_file("shape_predictor_68_face_landmarks.dat")


# -- a smile's folds -------------------------------------------------------------------------------


def test_a_smiles_folds_are_lifted_and_the_skin_around_them_kept() -> None:
    points = lips(0.0) + np.array([60, 20])  # eye distance 100, the mouth 60 wide around (110, 120)
    points[31], points[35] = (95, 80), (125, 80)  # the nose's wings
    rng = np.random.default_rng(0)
    skin = np.full((240, 240, 3), (200.0, 150.0, 130.0)) + rng.normal(0, 3, (240, 240, 1))  # grain
    folded = skin.copy()
    for wing, corner in ((31, 48), (35, 54)):  # a dark line from beside each wing past each corner
        outward = np.sign(points[corner][0] - 110)
        start, end = points[wing] + (10 * outward, 0), points[corner] + (22 * outward, 11)
        cv2.line(
            folded, tuple(np.round(start).astype(int)), tuple(np.round(end).astype(int)), (150, 100, 90), 3
        )
    lifted = lift_folds(folded.copy(), points, 1.0)
    fold = np.abs(folded - skin).max(-1) > 20
    assert np.abs(lifted - skin)[fold].mean() < np.abs(folded - skin)[fold].mean() / 3  # mostly gone
    np.testing.assert_array_equal(lifted[:40], folded[:40])  # the forehead: untouched
    kept = lift_folds(folded, points, 0.0)
    assert kept is folded
