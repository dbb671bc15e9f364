"""The functions behind each demo tab, called directly with tiny random-weight checkpoints."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import anyio
import anyio.to_thread
import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

from demo import DemoConfig, build_demo
from demo.about import WHAT_IT_DOES, details, models_table, quality
from demo.app import TABS
from demo.explore import ExploreTab, Start, slider_label
from demo.gallery import GalleryTab
from demo.models import REGISTRY, load_models, slider_directions
from demo.morph import MorphTab
from demo.render import GAP
from demo.swap import APPEARANCE_FILE, CLOSEUP_LABEL, SHAPE_FILE, START, SwapTab
from demo.uploads import RecentReads, forget_upload, read_upload
from tests.test_demo_support import FER, UTK, save_photo
from vae import EXPRESSIONS
from vae.checkpoint import load_checkpoint, save_model
from vae.classifier import ClassifierConfig, ExpressionClassifier
from vae.faces import FACE_TEMPLATE
from vae.images import ImageError, ImageLimits, read_image
from vae.latent import CodeDistribution

pytest_plugins = ["tests.test_demo_support"]

REPO = Path(__file__).resolve().parents[1]
PHOTO_INPUTS = {"swap-photo", "explore-photo", "morph-photo-a", "morph-photo-b"}
ENDPOINTS = {"explore", "explore_reset", "explore_random", "explore_photo", "swap", "gallery", "morph"}


@pytest.fixture(autouse=True)
def gradio_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Gradio's upload and export folder, private to each test."""
    folder = tmp_path / "gradio-cache"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def store(demo_config: DemoConfig):
    return load_models(demo_config.checkpoint_dir)


def upload(image: np.ndarray, cache: Path, name: str = "selfie.png") -> Path:
    """A photo placed where Gradio puts uploads."""
    return save_photo(image, cache / "0123abcd" / name)


# -- models ---------------------------------------------------------------------------------------
def test_models_load_once_with_directions(store) -> None:
    assert set(store.models) == {spec.key for spec in REGISTRY} and not store.problems
    fer, utk = store.get("fer-multi"), store.get("utkface-vae")
    # the expression directions are left out: the multi model's expression picker is the control
    assert fer.direction_names == ("PC1", "PC2", "PC3", "PC4") and len(fer.expressions) == 7
    assert utk.direction_names[:2] == ("z1", "z2") and utk.expressions == ()  # none stored: latent axes
    assert store.first is utk  # every tab opens on the colour model


def test_sliders_put_labelled_directions_first_and_span_the_codes_spread() -> None:
    names = ["PC1", "PC2", "older", "happy", "female"]
    directions = torch.eye(5, 8)
    kept, rows = slider_directions(names, directions, expressions=("happy", "sad"))
    assert kept == ("older", "female", "PC1", "PC2")
    assert torch.equal(rows, directions[[2, 4, 0, 1]])
    assert [slider_label(name) for name in kept] == [
        "Younger ↔ older",
        "Masculine ↔ feminine",
        "Variation 1",
        "Variation 2",
    ]
    assert slider_label("z3") == "Variation 3" and slider_label("smiling") == "Smiling"


def test_a_slider_unit_is_the_spread_of_the_training_codes(store, tmp_path: Path, tiny_checkpoints) -> None:
    utk = store.get("utkface-vae")  # no distribution stored: the prior, whose spread is 1
    assert torch.allclose(utk.scales, torch.ones(len(utk.direction_names)))
    checkpoint = load_checkpoint(tiny_checkpoints / FER)
    spreads = torch.linspace(0.5, 3.0, 16)  # the training codes' standard deviation along each axis
    fitted = CodeDistribution(torch.zeros(16), torch.diag(spreads))
    save_model(
        tmp_path / FER, checkpoint.model, checkpoint.metadata, {**checkpoint.extras, **fitted.as_extras()}
    )
    fer = load_models(tmp_path).get("fer-multi")
    expected = (fer.directions.square() @ spreads.square()).sqrt()  # unit rows through diag(spreads^2)
    assert torch.allclose(fer.scales, expected)
    moved = fer.offset([1.0] + [0.0] * (len(fer.direction_names) - 1))
    assert torch.allclose(moved, expected[0] * fer.directions[0])


def test_missing_and_broken_checkpoints_are_reported(tmp_path: Path, tiny_checkpoints: Path) -> None:
    shutil.copy(tiny_checkpoints / UTK, tmp_path / UTK)
    (tmp_path / FER).write_bytes(b"not a checkpoint")
    store = load_models(tmp_path)
    assert list(store.models) == ["utkface-vae"]
    assert len(store.problems) == 1 and "could not be loaded" in store.problems[0]
    empty = load_models(tmp_path / "nothing-here")
    assert not empty.models and all("is not in" in problem for problem in empty.problems)


def test_checkpoints_of_the_wrong_kind_are_reported_and_the_demo_starts(
    tmp_path: Path, tiny_checkpoints: Path
) -> None:
    save_model(tmp_path / UTK, ExpressionClassifier(ClassifierConfig()))  # a classifier draws no faces
    shutil.copy(tiny_checkpoints / UTK, tmp_path / FER)  # one decoder where the swap needs seven
    store = load_models(tmp_path)
    assert not store.models and len(store.problems) == 2
    assert "holds a 'classifier' model" in store.problems[0]  # in the registry's order
    assert f"{FER}: holds a 'vae' model; this entry takes 'multi'" in store.problems[1]
    assert not build_demo(DemoConfig(checkpoint_dir=tmp_path)).get_api_info()["named_endpoints"]


def test_demo_builds_with_named_endpoints_and_without_models(demo_config: DemoConfig, tmp_path: Path) -> None:
    demo = build_demo(demo_config)
    assert {name.lstrip("/") for name in demo.get_api_info()["named_endpoints"]} >= ENDPOINTS
    bare = build_demo(DemoConfig(checkpoint_dir=tmp_path))  # starts, with a message instead of tabs
    assert not bare.get_api_info()["named_endpoints"]


def test_each_photo_is_read_once_per_visitor_action(demo_config: DemoConfig) -> None:
    """On `input`, newest last: `change` comes twice when a photo replaces another (the second read
    would find the upload gone), and other modes drop or reorder photos (demo.widgets.on_new_photo)."""
    demo = build_demo(demo_config)
    photos = {
        block._id: block.elem_id
        for block in demo.blocks.values()
        if isinstance(block, gr.Image) and block.elem_id in PHOTO_INPUTS
    }
    wiring = [
        (photos[target], event, dependency["trigger_mode"])
        for dependency in demo.config["dependencies"]
        for target, event in dependency["targets"]
        if target in photos
    ]
    assert sorted(wiring) == [(name, "input", "always_last") for name in sorted(PHOTO_INPUTS)]


DRAWING = {"rerender", "restrip", "catch_up", "closeup"}


def test_the_expression_redraws_the_photo_and_the_other_controls_the_strip_after_it(
    demo_config: DemoConfig,
) -> None:
    """The strip shows every face in every expression, so picking an expression or a face leaves it;
    amount and strength change it, after the photo (the one the visitor looks at) is drawn."""
    demo = build_demo(demo_config)
    labels = {block._id: getattr(block, "label", None) for block in demo.blocks.values()}
    dependencies = {dep["id"]: dep for dep in demo.config["dependencies"]}

    def handler(dep: dict) -> str:
        return demo.fns[dep["id"]].fn.__name__

    def described(dep: dict) -> tuple:
        """(handler, the controls whose input runs it, its outputs, what it runs after)."""
        after = dependencies.get(dep["trigger_after"])
        return (
            handler(dep),
            sorted(labels[target] for target, event in dep["targets"] if event == "input"),
            [labels[output] for output in dep["outputs"]],
            described(after)[:2] if after else None,
        )

    sliders = ["Amount", "Strength"]
    assert sorted(
        described(dep) for dep in dependencies.values() if handler(dep) in {"rerender", "restrip"}
    ) == [
        ("rerender", [], ["Edited", None], ("pick", [])),  # a click on the strip picks an expression
        ("rerender", ["Amount", "Strength"], ["Edited", None], None),
        ("rerender", ["Expression", "Which face"], ["Edited", None], None),
        ("restrip", [], ["Your face in every expression"], ("rerender", sliders)),
    ]
    # A new photo is drawn again if the controls changed while it was worked on.
    caught_up = [described(dep) for dep in dependencies.values() if handler(dep) == "catch_up"]
    strip = "Your face in every expression"
    assert sorted(caught_up, key=str) == [
        ("catch_up", [], ["Edited", None, strip], ("example", [])),
        ("catch_up", [], ["Edited", None, strip], ("swap", ["Your photo (upload or webcam)"])),
    ]
    # The close-up follows the photo, whatever draws it.
    closeups = [described(dep)[3] for dep in dependencies.values() if handler(dep) == "closeup"]
    assert sorted(closeups) == [
        ("catch_up", []),
        ("catch_up", []),
        ("rerender", []),  # after a click on the strip
        ("rerender", ["Amount", "Strength"]),
        ("rerender", ["Expression", "Which face"]),
    ]
    # One drawing at a time, in the order asked for: a catch-up asked for mid-slide cannot land last;
    # what only picks or marks a tile waits for none of them.
    queues = {
        (demo.fns[dep["id"]].concurrency_id, demo.fns[dep["id"]].concurrency_limit, handler(dep) in DRAWING)
        for dep in dependencies.values()
        if handler(dep) in {*DRAWING, "pick", "highlight"}
    }
    assert {(limit, drawing) for name, limit, drawing in queues if name == "swap-draw"} == {(1, True)}
    assert all(name == "swap-draw" for name, _, drawing in queues if drawing)
    # Every new strip marks the tile of the expression and face the photo shows.
    after = [described(dep)[3] for dep in dependencies.values() if handler(dep) == "highlight"]
    assert sorted(after, key=str) == [
        ("catch_up", []),
        ("catch_up", []),
        ("restrip", []),
        None,  # the expression or the face picked
    ]


# -- explore --------------------------------------------------------------------------------------
def test_explore_sliders_move_the_face(store, demo_config: DemoConfig) -> None:
    tab = ExploreTab(store, demo_config)
    zeros = [0.0] * demo_config.max_sliders
    mean = tab.face("fer-multi", "happy", None, *zeros)
    assert mean.shape == (demo_config.face_size, demo_config.face_size) and mean.dtype == np.uint8
    moved = tab.face("fer-multi", "happy", None, 2.0, *zeros[1:])
    assert not np.array_equal(mean, moved)
    assert not np.array_equal(mean, tab.face("fer-multi", "sad", None, *zeros))
    colour = tab.face("utkface-vae", None, None, *zeros)
    assert colour.shape == (demo_config.face_size, demo_config.face_size, 3)


def test_explore_reset_random_and_model_switch(store, demo_config: DemoConfig) -> None:
    tab = ExploreTab(store, demo_config)
    start, image, *sliders = tab.random("fer-multi", "neutral", 7)
    assert isinstance(start, Start) and sliders == [0.0] * demo_config.max_sliders
    assert np.array_equal(image, tab.random("fer-multi", "neutral", 7)[1])
    assert not np.array_equal(image, tab.random("fer-multi", "neutral", 8)[1])
    assert np.array_equal(tab.face("fer-multi", "neutral", start, *sliders), image)
    reset_start, mean, *_ = tab.reset("fer-multi", "neutral")
    assert reset_start is None and not np.array_equal(mean, image)

    expression, new_start, _, *updates = tab.select_model("utkface-vae")
    assert expression.visible is False and new_start is None
    labels = [slider_label(name) for name in store.get("utkface-vae").direction_names]
    assert [u.label for u in updates if u.visible] == labels
    assert len(updates) == demo_config.max_sliders


def test_explore_starts_from_a_photo(
    store, demo_config: DemoConfig, astronaut, faceless, gradio_cache
) -> None:
    tab = ExploreTab(store, demo_config)
    path = upload(astronaut, gradio_cache)
    start, image, *_ = tab.from_photo("utkface-vae", None, str(path))
    assert start.model == "utkface-vae" and start.code.shape == (16,) and image.shape[2] == 3
    assert not path.exists(), "the upload must be deleted once read"
    with pytest.raises(gr.Error, match="No face"):
        tab.from_photo("utkface-vae", None, str(upload(faceless, gradio_cache)))


def test_a_model_without_a_face_template_says_so_when_given_a_photo(
    tmp_path: Path, tiny_checkpoints: Path, demo_config: DemoConfig, astronaut, gradio_cache
) -> None:
    checkpoint = load_checkpoint(tiny_checkpoints / UTK)
    extras = {k: v for k, v in checkpoint.extras.items() if k != FACE_TEMPLATE}
    save_model(tmp_path / UTK, checkpoint.model, checkpoint.metadata, extras)
    tab = ExploreTab(load_models(tmp_path), demo_config)
    with pytest.raises(gr.Error, match="stores no face template"):
        tab.from_photo("utkface-vae", None, str(upload(astronaut, gradio_cache)))
    tab.random("utkface-vae", None, 3)  # everything else works


# -- swap -----------------------------------------------------------------------------------------
def test_an_uploads_hash_folder_is_removed_on_the_servers_event_loop(
    astronaut, gradio_cache, monkeypatch
) -> None:
    """Gradio makes the folder and moves an upload into it in one step of its event loop; removed
    from a handler's worker thread, the folder could vanish in between for a user sending the same
    photo (a 500 from /gradio_api/upload)."""
    path = upload(astronaut, gradio_cache)
    removed_on: list[int] = []
    real_rmdir = Path.rmdir

    def recorded_rmdir(folder: Path) -> None:
        removed_on.append(threading.get_ident())
        real_rmdir(folder)

    monkeypatch.setattr(Path, "rmdir", recorded_rmdir)

    async def handler_in_a_worker_thread() -> int:
        await anyio.to_thread.run_sync(forget_upload, path)
        return threading.get_ident()

    loop_thread = anyio.run(handler_in_a_worker_thread)
    assert removed_on == [loop_thread] and not path.parent.exists()


def test_the_same_photo_read_twice_at_once_gives_its_pixels_both_times(
    astronaut, gradio_cache, monkeypatch
) -> None:
    """Gradio files identical uploads at one path: the second read of a photo sent twice at once
    finds the file deleted by the first, and gets the same pixels from memory, for a while."""
    monkeypatch.setattr("demo.uploads.RECENT_READS", RecentReads(seconds=0.5, size=2))
    limits = DemoConfig().limits
    path = upload(astronaut, gradio_cache)
    first = read_upload(str(path), limits)
    assert not path.exists()
    np.testing.assert_array_equal(read_upload(str(path), limits), first)
    with pytest.raises(gr.Error, match="no longer on the server"):  # read with other limits: not the same
        read_upload(str(path), ImageLimits(max_side=256))
    others = [upload(np.fliplr(astronaut), gradio_cache, f"other-{i}.png") for i in range(2)]
    for other in others:
        read_upload(str(other), limits)
    with pytest.raises(gr.Error, match="no longer on the server"):  # only the last two are kept
        read_upload(str(path), limits)
    time.sleep(0.6)
    with pytest.raises(gr.Error, match="no longer on the server"):  # and only for a while
        read_upload(str(others[-1]), limits)


def test_a_photo_deleted_while_it_is_read_comes_from_the_other_read(
    astronaut, gradio_cache, monkeypatch
) -> None:
    """The second read may find the file and lose it before it opens it (the first read deletes it
    in between): it gets the first read's pixels, not an error."""
    recent = RecentReads()
    monkeypatch.setattr("demo.uploads.RECENT_READS", recent)
    limits = DemoConfig().limits
    path = upload(astronaut, gradio_cache)
    first = read_image(path, limits)
    recent.remember(path, limits, first)  # the other read, done

    def deleted_under_the_read(source, limits):
        path.unlink()
        raise ImageError("The image file could not be found or read.")

    monkeypatch.setattr("demo.uploads.read_image", deleted_under_the_read)
    np.testing.assert_array_equal(read_upload(str(path), limits), first)


def strip_labels(strip: list[tuple[np.ndarray, str]]) -> list[str]:
    return [label for _, label in strip]


def test_swap_selfie_gives_its_own_face_in_seven_expressions_and_forgets_the_upload(
    demo_config: DemoConfig, store, astronaut, gradio_cache
) -> None:
    tab = SwapTab(store, demo_config)
    path = upload(astronaut, gradio_cache)
    photo, strip, status, faces, prepared, _ = tab.swap(str(path), "happy", 1.0, "1", 1.0)  # face 1 of 1
    assert not path.exists() and not path.parent.exists()
    assert photo.shape == astronaut.shape and not np.array_equal(photo, astronaut)
    assert strip_labels(strip) == list(tab.models.expressions) == list(EXPRESSIONS)
    size = demo_config.strip_size
    assert all(tile.shape == (size, size, 3) and tile.dtype == np.uint8 for tile, _ in strip)
    assert "Found 1 face" in status and [value for _, value in faces.choices] == ["all", "1"]
    assert faces.value == "all" and "the face" in status  # its one face is all of them
    same, same_status = tab.rerender(prepared, "happy", 0.0, "all", 1.0)
    np.testing.assert_array_equal(same, astronaut)
    assert "Found 1 face" in same_status and "as in your photo" in same_status and "looks" not in same_status
    sad, _ = tab.rerender(prepared, "sad", 1.0, "all", 1.0)
    assert not np.array_equal(sad, photo)
    _, surprised = tab.rerender(prepared, "surprise", 1.0, "all", 1.0)
    assert "the face now looks **surprised**" in surprised  # said as a person would say it
    _, plain = tab.rerender(prepared, "surprise", 1.0, "all", 0.0)
    assert "average of all seven expressions (strength 0)" in plain and "looks" not in plain
    # A number typed past a slider's end is taken at that end, where the slider moves; NaN is an error.
    typed, _ = tab.rerender(prepared, "sad", 1.0, "all", 5.0)
    np.testing.assert_array_equal(typed, tab.rerender(prepared, "sad", 1.0, "all", 3.0)[0])
    with pytest.raises(gr.Error, match="strength must be a number from 0 to 3, not nan"):
        tab.rerender(prepared, "sad", 1.0, "all", float("nan"))
    unchanged = tab.restrip(prepared, "happy", 0.0, 1.0)  # no amount: every tile is the photo
    assert strip_labels(unchanged) == list(EXPRESSIONS)
    assert all(np.array_equal(tile, unchanged[0][0]) for tile, _ in unchanged)


def test_controls_changed_while_a_photo_is_worked_on_edit_it_when_it_is_ready(
    demo_config: DemoConfig, store, astronaut, gradio_cache
) -> None:
    """A visitor who picks sad while the photo is still being worked on sees it sad, not in the
    expression it was given with; one who changed nothing gets nothing drawn twice, and one who
    changed only the expression keeps the strip (every expression is in it)."""
    tab = SwapTab(store, demo_config)
    *_, prepared, drawn = tab.swap(str(upload(astronaut, gradio_cache)), "happy", 1.0, None, 1.0)
    assert drawn == ("happy", 1.0, "all", 1.0)  # which face as the menu then shows it
    assert tab.catch_up(prepared, drawn, *drawn) == (gr.skip(), gr.skip(), gr.skip())
    sad, status, strip = tab.catch_up(prepared, drawn, "sad", 1.0, "all", 1.0)
    np.testing.assert_array_equal(sad, tab.rerender(prepared, "sad", 1.0, "all", 1.0)[0])
    assert "now looks **sad**" in status and strip == gr.skip()
    _, _, weaker = tab.catch_up(prepared, drawn, "happy", 0.0, "all", 1.0)  # no amount: the photo
    assert strip_labels(weaker) == list(EXPRESSIONS)
    assert all(np.array_equal(tile, weaker[0][0]) for tile, _ in weaker)
    closeup = tab.closeup(prepared, "sad", 1.0, "all", 1.0)  # the face, before and after
    assert closeup.visible and len(closeup.value) == 2 and closeup.label == CLOSEUP_LABEL
    assert closeup.slider_position == 50  # its handle back in the middle, wherever it was dragged
    assert not tab.closeup(None, "sad", 1.0, "all", 1.0).visible  # no photo: no close-up
    # No photo (cleared, or no face): an edit of the photo before, landed late, is taken away.
    assert tab.catch_up(None, None, "sad", 1.0, "all", 1.0) == (None, gr.skip(), [])


def test_swap_group_photo_one_face_or_all(store, demo_config: DemoConfig, group_photo, gradio_cache) -> None:
    tab = SwapTab(store, demo_config)
    photo, strip, status, faces, prepared, _ = tab.swap(
        str(upload(group_photo, gradio_cache)), "sad", 1.0, "2", 1.0
    )
    half = group_photo.shape[1] // 2
    assert faces.value == "2" and [value for _, value in faces.choices] == ["all", "1", "2"]
    assert [label for label, _ in faces.choices][1:] == ["Face 1 from the left", "Face 2 from the left"]
    every_face = [f"Face {i}: {name}" for i in (1, 2) for name in EXPRESSIONS]
    assert strip_labels(strip) == every_face and "face 2" in status  # any face's tile can be clicked
    assert np.array_equal(photo[:, :half], group_photo[:, :half])
    assert not np.array_equal(photo[:, half:], group_photo[:, half:])
    everyone, all_status = tab.rerender(prepared, "sad", 1.0, "all", 1.0)
    assert "every face" in all_status and not np.array_equal(everyone[:, :half], group_photo[:, :half])
    assert strip_labels(tab.restrip(prepared, "sad", 0.5, 1.0)) == every_face
    first, _ = tab.rerender(prepared, "sad", 1.0, "1", 1.0)
    assert np.array_equal(first[:, half:], group_photo[:, half:])
    clicked = gr.SelectData(None, {"index": 7 + EXPRESSIONS.index("surprise"), "value": None})
    assert tab.pick(prepared, clicked) == ("surprise", "2")  # "Face 2: surprise" edits face 2
    assert tab.highlight(prepared, "fear", "2").selected_index == 7 + EXPRESSIONS.index("fear")
    assert tab.highlight(prepared, "fear", "all").selected_index == EXPRESSIONS.index("fear")
    stale, stale_status = tab.rerender(prepared, "sad", 1.0, "3", 1.0)  # a face of an earlier photo
    assert np.array_equal(stale, everyone) and "every face" in stale_status
    # The close-up shows the face picked, or the first of all, and says which.
    assert tab.closeup(prepared, "sad", 1.0, "2", 1.0).label == f"{CLOSEUP_LABEL}, face 2 of 2"
    assert tab.closeup(prepared, "sad", 1.0, "all", 1.0).label == f"{CLOSEUP_LABEL}, face 1 of 2"


def test_a_click_on_a_face_of_the_strip_picks_its_expression(store, demo_config: DemoConfig) -> None:
    tab = SwapTab(store, demo_config)
    clicked = gr.SelectData(None, {"index": 3, "value": None})
    expression, face = tab.pick(None, clicked)  # one face: the face control stays as it is
    assert expression == "happy" and face == gr.skip()
    assert tab.highlight(None, "sad", "all").selected_index == EXPRESSIONS.index("sad")  # buttons mark it


def test_swap_without_a_face_or_photo_is_a_message(
    store, demo_config: DemoConfig, faceless, gradio_cache
) -> None:
    tab = SwapTab(store, demo_config)
    with pytest.warns(UserWarning, match="No face"):
        photo, strip, status, _, prepared, _ = tab.swap(
            str(upload(faceless, gradio_cache)), "happy", 1, "all", 1
        )
    assert photo is None and strip == [] and "No face" in status and prepared is None
    photo, strip, status, faces, prepared, _ = tab.swap(None, "happy", 1.0, "all", 1.0)  # cleared
    assert photo is None and strip == [] and status == START and prepared is None
    assert faces.value == "all" and [value for _, value in faces.choices] == ["all"]
    # A control moved before any photo, or after one with no face: the status still says which.
    assert tab.rerender(None, "sad", 1.0, "all", 1.0) == (gr.skip(), gr.skip())
    with pytest.raises(gr.Error, match="not an image"):
        bad = gradio_cache / "x" / "notes.jpg"
        bad.parent.mkdir(parents=True)
        bad.write_text("hello")
        tab.swap(str(bad), "happy", 1.0, "all", 1.0)
    assert not bad.exists()


# -- gallery and morph ----------------------------------------------------------------------------
def test_gallery_same_seed_same_faces(store, demo_config: DemoConfig) -> None:
    tab = GalleryTab(store, demo_config)
    grid, path = tab.sample("fer-multi", "happy", 9, 0.8, 3)
    again, _ = tab.sample("fer-multi", "happy", 9, 0.8, 3)
    other, _ = tab.sample("fer-multi", "happy", 9, 0.8, 4)
    np.testing.assert_array_equal(grid, again)
    assert not np.array_equal(grid, other)
    columns = 4  # 9 faces, about half again as wide as high: 4 columns, 3 rows
    assert grid.shape == (3 * demo_config.tile_size + 2 * GAP, columns * demo_config.tile_size + 3 * GAP)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), grid)
    assert tab.sample("utkface-vae", None, 64, 1.0, 0)[0].shape[2] == 3
    with pytest.raises(gr.Error):
        tab.sample("fer-multi", "happy", 65, 0.8, 0)


def test_morph_strip_and_gif(store, demo_config: DemoConfig, astronaut, gradio_cache) -> None:
    tab = MorphTab(store, demo_config)
    strip, gif = tab.morph("fer-multi", "surprise", None, None, 1, 2, 6)
    size = demo_config.tile_size
    assert strip.shape == (size, 6 * size + 5 * GAP)
    with Image.open(gif) as animation:
        assert animation.format == "GIF" and animation.n_frames == 2 * 6 - 2  # forward, then back
    first, last = strip[:, :size], strip[:, -size:]
    assert not np.array_equal(first, last)

    face = tab.encode(str(upload(astronaut, gradio_cache)))
    assert set(face) == set(store.models)
    from_photo, _ = tab.morph("utkface-vae", None, face, None, 1, 2, 3)
    assert not np.array_equal(from_photo, tab.morph("utkface-vae", None, None, None, 1, 2, 3)[0])


# -- about ----------------------------------------------------------------------------------------
def test_about_names_the_tabs_in_the_tab_bars_order() -> None:
    named = [name for name, _ in TABS]
    assert [WHAT_IT_DOES.index(f"**{name}**") for name in named] == sorted(
        WHAT_IT_DOES.index(f"**{name}**") for name in named
    )


def test_about_says_what_each_model_learnt_from_and_links_the_cards(
    store, tmp_path: Path, tiny_checkpoints: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = DemoConfig()
    monkeypatch.delenv("SPACE_ID", raising=False)
    text = WHAT_IT_DOES + details(store, config)
    for spec in REGISTRY:
        assert spec.title in text and spec.data in text and "Licence" in spec.data
    assert "`checkpoints/README.md`" in text and "`docs/design.md`" in text
    assert "6 minutes" in text and "10 minutes" in text  # DemoConfig's cache clean-up and photo_ttl
    # for visitors: no command lines, options, run names or machine paths
    assert not re.search(r"python -m|--\w|/work/|/root/|Session \d|\bY3\b|L_multi", text)
    numbers = quality(store.get("fer-multi"))
    assert "1,234" in numbers and "21.50" in numbers and "48×48 pixels, grey" in numbers

    monkeypatch.setenv("SPACE_ID", "someone/facevae")
    url = "https://huggingface.co/spaces/someone/facevae/blob/main/checkpoints/README.md"
    assert f"[The model cards]({url})" in details(store, config)

    shutil.copy(tiny_checkpoints / UTK, tmp_path / UTK)
    assert "**Not loaded**" in models_table(load_models(tmp_path))


def test_the_example_photo_is_edited_as_an_upload_is_and_credited(
    demo_config: DemoConfig, store, astronaut
) -> None:
    tab = SwapTab(store, demo_config)
    photo, edited, strip, status, _, prepared, _ = tab.example("happy", 1.0, "all", 1.0)
    np.testing.assert_array_equal(photo, astronaut)
    assert edited.shape == astronaut.shape and not np.array_equal(edited, astronaut)
    assert strip_labels(strip) == list(EXPRESSIONS) and "NASA" in status and "Found 1 face" in status
    sad, _ = tab.rerender(prepared, "sad", 1.0, "all", 1.0)  # the controls then edit it as any photo
    assert not np.array_equal(sad, edited)


def test_a_photo_larger_than_the_limit_is_edited_smaller_and_the_status_says_so(
    demo_config: DemoConfig, store, astronaut, gradio_cache
) -> None:
    tab = SwapTab(store, replace(demo_config, limits=replace(demo_config.limits, max_side=400)))
    photo, _, status, _, prepared, _ = tab.swap(
        str(upload(astronaut, gradio_cache)), "happy", 1.0, "all", 1.0
    )
    assert max(photo.shape[:2]) == 400 and "edited at 400" in status
    _, still = tab.rerender(prepared, "sad", 1.0, "all", 1.0)  # and still on the next change
    assert "edited at 400" in still
    _, _, small_status, *_ = SwapTab(store, demo_config).swap(
        str(upload(astronaut, gradio_cache)), "happy", 1.0, "all", 1.0
    )
    assert "edited at" not in small_status


SHIPPED = [spec.filename for spec in REGISTRY] + [SHAPE_FILE, APPEARANCE_FILE]
needs_shipped_checkpoints = pytest.mark.skipif(
    not all((REPO / "checkpoints" / name).is_file() for name in SHIPPED),
    reason="the shipped checkpoints are not in checkpoints/",
)


@needs_shipped_checkpoints
def test_shipped_checkpoints_swap_the_astronaut(astronaut, gradio_cache) -> None:
    config = DemoConfig()
    store = load_models(config.checkpoint_dir)
    assert not store.problems
    tab = SwapTab(store, config)
    assert tab.problem is None
    photo, strip, status, *_ = tab.swap(
        str(upload(astronaut, gradio_cache)), "happy", 1, "all", config.swap_strength
    )
    assert "Found 1 face" in status and not np.array_equal(photo, astronaut)
    assert strip_labels(strip) == list(EXPRESSIONS)
    # labelled directions first, then the principal ones; the grey model's expression ones left out
    assert store.get("utkface-vae").direction_names[:3] == ("older", "female", "PC1")
    assert store.get("fer-multi").direction_names == tuple(f"PC{i}" for i in range(1, 9))


@pytest.mark.slow
def test_the_demo_never_imports_torchvision(tiny_checkpoints: Path) -> None:
    """`import torchvision` costs 164 MiB of resident memory (README: Benchmarks); the demo, from
    start-up to an expression edit, must not pay it (the models' weights do not matter here)."""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from skimage import data\n"
        "from demo import DemoConfig, build_demo\n"
        "from demo.swap import load_expression_models\n"
        "from vae.photo_edit import prepare_photo\n"
        "folder = Path(sys.argv[1])\n"
        "build_demo(DemoConfig(checkpoint_dir=folder))\n"
        "models, problem = load_expression_models(folder)\n"
        "prepare_photo(data.astronaut(), models).render('happy', 1.0)\n"
        "print(sorted(name for name in sys.modules if name.startswith('torchvision')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tiny_checkpoints)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_every_font_file_the_theme_serves_holds_the_whole_alphabet() -> None:
    """Gradio's bundled semibold files hold a few letters only: a semibold title drew its "A" in
    one font and every other letter in a fallback."""
    from fontTools.ttLib import TTFont

    from demo.app import FONT, FONT_MONO

    static = Path(gr.__file__).parent / "templates" / "frontend"
    local = [font for font in [*FONT, *FONT_MONO] if isinstance(font, gr.themes.LocalFont)]
    files = [name for font in local for name in re.findall(r"url\('([^']+)'\)", font.stylesheet()["css"])]
    assert len(files) == 4
    for name in files:
        letters = TTFont(static / name).getBestCmap()
        assert all(ord(c) in letters for c in "FaceVAE abcdefghijklmnopqrstuvwxyz"), name
