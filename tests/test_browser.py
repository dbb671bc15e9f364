"""The demo in headless Chromium (Debian's, never `playwright install`): what a visitor actually does.

Screenshots land in test-output/browser/ for a human look at the layout.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gradio import processing_utils
from PIL import Image

from demo import swap
from demo.app import TABS
from demo.morph import STRIP_COLUMNS
from demo.render import GAP
from demo.swap import APPEARANCE_FILE, SHAPE_FILE
from docs import screenshots
from tests.test_demo_support import save_photo
from vae import EXPRESSIONS
from vae.photo_edit import ExpressionModels, prepare_photo

pytest_plugins = ["tests.test_demo_support"]

CHROMIUM = Path(screenshots.CHROMIUM)
CHROMIUM_ARGS = [
    *screenshots.CHROMIUM_ARGS,
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
SHOTS = Path(__file__).resolve().parents[1] / "test-output" / "browser"
TIMEOUT_MS = 30_000
REAL_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "photos"
PHONE = {"width": 390, "height": 844}

# Counts the error toasts the page shows from now on (they close by themselves, so they are counted
# as they appear, not looked for afterwards).
COUNT_ERROR_TOASTS = """() => {
    window.errorToasts = 0;
    const error = '.toast-body.error';
    new MutationObserver(changes => changes.forEach(change => change.addedNodes.forEach(node => {
        if (node.nodeType === 1 && (node.matches(error) || node.querySelector(error)))
            window.errorToasts += 1;
    }))).observe(document.body, {childList: true, subtree: true});
}"""

# The sources of the close-up's images (before, after) the browser has decoded.
CLOSEUP = (
    "() => [...document.querySelectorAll('#swap-closeup img')]"
    ".filter(i => i.complete && i.naturalWidth > 0).map(i => i.getAttribute('src'))"
)

# The elements on top of the morph strip's four corners (4 px in), and whether all are its image.
STRIP_ENDS_ON_TOP = """() => {
    const image = document.querySelector('#morph-strip img');
    const box = image.getBoundingClientRect();
    return [4, box.width - 4].flatMap(dx => [4, box.height - 4].map(dy =>
        document.elementFromPoint(box.x + dx, box.y + dy)?.tagName ?? 'nothing'));
}"""
STRIP_ENDS_IN_SIGHT = f"""height => {{
    const image = document.querySelector('#morph-strip img');
    return image?.naturalHeight === height  // this morph's strip, not a shorter one queued before it
        && ({STRIP_ENDS_ON_TOP})().every(tag => tag === 'IMG');
}}"""

# Set by .ci/run: there a missing Chromium fails the browser tests instead of skipping them.
REQUIRE_BROWSER = "FACEVAE_REQUIRE_BROWSER"
NO_CHROMIUM = f"no Chromium at {CHROMIUM} (apt-get install chromium)"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get(REQUIRE_BROWSER), reason=NO_CHROMIUM),
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),  # inside gradio's queue
]


@pytest.fixture(scope="module")
def page(server: tuple[str, Path]) -> Iterator[object]:
    if not CHROMIUM.exists():  # not skipped: REQUIRE_BROWSER is set
        pytest.fail(f"{NO_CHROMIUM}, and {REQUIRE_BROWSER} is set: the browser tests must run here")
    from playwright.sync_api import sync_playwright  # only where Chromium exists

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(server[0])
        page.wait_for_selector("#swap-photo")  # the page opens on the expression tab
        yield page
        browser.close()


def image_source(page, selector: str) -> str:
    """The address of the image under `selector`; empty while there is none."""
    return page.evaluate("s => document.querySelector(s + ' img')?.getAttribute('src') ?? ''", selector)


def new_image(page, selector: str, before: str) -> None:
    """Wait until the image under `selector` is another one than `before`, decoded by the browser."""
    page.wait_for_function(
        "([selector, before]) => { const i = document.querySelector(selector + ' img');"
        " return i && i.getAttribute('src') !== before && i.complete && i.naturalWidth > 0; }",
        arg=[selector, before],
    )


@pytest.fixture(scope="module")
def photos(
    astronaut: np.ndarray, group_photo: np.ndarray, tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    """Six different photos with faces, as a visitor tries one after another (PNG and JPEG); none is
    the astronaut the other tests send, whose swap the page may show already."""
    folder = tmp_path_factory.mktemp("photos")
    variants = [
        astronaut[:, 8:],
        np.fliplr(astronaut),
        group_photo,
        astronaut[:440],
        (astronaut * 0.8).astype(np.uint8),
        np.pad(astronaut, ((40, 40), (40, 40), (0, 0)), constant_values=255),
    ]
    return [
        save_photo(image, folder / f"try-{i}.{'jpg' if i % 2 else 'png'}") for i, image in enumerate(variants)
    ]


@pytest.fixture
def real_photos() -> list[Path]:
    """The real photos beside the project (one face or two, small or large in the frame)."""
    found = sorted(REAL_PHOTOS.glob("*.jpg"))
    if not found:
        pytest.skip(f"no real photos in {REAL_PHOTOS}")
    return found


def leftover_uploads(cache: Path, photos: list[Path]) -> list[Path]:
    """Uploads of these photos still in the server's cache: each must be gone once read."""
    names = {photo.name for photo in photos}
    return [path for path in cache.rglob("*") if path.name in names]


def test_slider_changes_the_face(page) -> None:
    screenshots.open_tab(page, "Explore")
    page.wait_for_selector("#explore-face img")
    before = image_source(page, "#explore-face")
    slider = page.get_by_label("range slider for Variation 1")
    slider.focus()
    for _ in range(20):  # a drag: many input events, of which only the last must be drawn
        slider.press("ArrowRight")
    page.wait_for_function(
        "src => document.querySelector('#explore-face img')?.getAttribute('src') !== src", arg=before
    )
    page.screenshot(path=SHOTS / "explore.png", full_page=True)


def cached_name(image: np.ndarray) -> str:
    """The folder Gradio's cache (this process's) files `image` under as gr.Image(format="jpeg")
    returns it: the hash of its JPEG bytes, so a page shows this very picture iff its address has it."""
    jpeg = processing_utils.encode_pil_to_bytes(Image.fromarray(image), "jpeg")
    return processing_utils.hash_bytes(jpeg)


def strip_sources(page) -> list[str]:
    return page.evaluate(
        "() => [...document.querySelectorAll('#swap-grid img')].map(i => i.getAttribute('src'))"
    )


# The index of the strip's marked tile (-1: none).
MARKED = (
    "() => [...document.querySelectorAll('#swap-grid .thumbnail-item')]"
    ".findIndex(t => t.classList.contains('selected'))"
)


def test_the_example_photo_button_shows_the_photo_its_edit_and_its_credit(page) -> None:
    page.get_by_role("tab", name="Expression").click()
    page.locator("#swap-example").click()
    page.get_by_text("Example: astronaut Eileen Collins").wait_for()
    page.wait_for_function(
        "() => ['#swap-photo', '#swap-result']"
        ".every(s => document.querySelector(s + ' img')?.naturalWidth > 0)"
    )
    assert page.locator("#swap-grid img").count() == 7
    page.wait_for_function(f"() => ({MARKED})() === {EXPRESSIONS.index('surprise')}")  # what the photo shows
    before = image_source(page, "#swap-result")
    page.locator("#swap-grid img").nth(3).click()  # a click on a face of the strip picks its expression
    page.get_by_text("now looks happy").wait_for()
    new_image(page, "#swap-result", before)
    assert page.get_by_role("radio", name="happy").is_checked()
    assert page.evaluate(MARKED) == 3
    page.get_by_role("radio", name="neutral").check()  # the mark follows the buttons
    page.wait_for_function(f"() => ({MARKED})() === {EXPRESSIONS.index('neutral')}")


def test_swap_tab_shows_the_edit_and_the_face_in_seven_expressions(
    page, astronaut, demo_config, tiny_checkpoints: Path, tmp_path: Path
) -> None:
    page.get_by_role("tab", name="Expression").click()
    # Mirrored: the example photo is the astronaut, whose edit the page may show already; a new
    # picture is this upload's, and a click after it cannot be overwritten by it.
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    photo = save_photo(mirrored, tmp_path / "astronaut.png")
    shown = image_source(page, "#swap-result")
    page.locator("#swap-photo input[type=file]").set_input_files(str(photo))
    new_image(page, "#swap-result", shown)
    page.wait_for_function(  # seven faces, each actually decoded by the browser
        "() => [...document.querySelectorAll('#swap-grid img')].filter(i => i.complete && i.naturalWidth > 0)"
        ".length === 7"
    )
    captions = page.locator("#swap-grid .caption-label")
    assert page.locator("#swap-grid img").count() == 7
    assert [captions.nth(i).inner_text() for i in range(captions.count())] == list(EXPRESSIONS)
    page.wait_for_function("() => document.querySelector('#swap-result img')?.naturalWidth > 0")
    assert page.get_by_text("Found 1 face").is_visible()
    page.screenshot(path=SHOTS / "swap.png", full_page=True)

    page.wait_for_function(f"() => ({CLOSEUP})().length === 2")  # the face close up, before and after
    before, strip, closeups = image_source(page, "#swap-result"), strip_sources(page), page.evaluate(CLOSEUP)
    page.get_by_role("radio", name="sad").check()
    new_image(page, "#swap-result", before)
    page.get_by_text("now looks sad").wait_for()
    page.wait_for_function(  # the close-up's edit follows; its photo stays
        f"old => {{ const now = ({CLOSEUP})();"
        " return now.length === 2 && now[0] === old[0] && now[1] !== old[1]; }",
        arg=closeups,
    )

    strength = page.get_by_label("range slider for Strength")
    strength.focus()
    for _ in range(10):
        strength.press("ArrowRight")
    last = round(demo_config.swap_strength + 10 * demo_config.slider_step, 6)
    models = ExpressionModels.load(tiny_checkpoints / SHAPE_FILE, tiny_checkpoints / APPEARANCE_FILE)
    expected = cached_name(prepare_photo(mirrored, models).render("sad", 1.0, "all", last))
    page.wait_for_function(  # the last of the ten steps is the one drawn
        "name => document.querySelector('#swap-result img')?.getAttribute('src')?.includes(name)",
        arg=expected,
    )
    page.wait_for_function(  # and the strip follows the strength
        "old => { const now = [...document.querySelectorAll('#swap-grid img')];"
        " return now.length === 7 && now.every((i, k) => i.getAttribute('src') !== old[k] && i.complete); }",
        arg=strip,
    )
    page.wait_for_function(f"() => ({MARKED})() === {EXPRESSIONS.index('sad')}")  # the new strip marks it too
    page.screenshot(path=SHOTS / "swap-sad-stronger.png", full_page=True)


def test_a_click_on_a_face_of_a_group_photos_strip_edits_that_face(
    page, group_photo: np.ndarray, tmp_path: Path
) -> None:
    page.get_by_role("tab", name="Expression").click()
    before = image_source(page, "#swap-result")
    page.locator("#swap-photo input[type=file]").set_input_files(
        str(save_photo(group_photo, tmp_path / "two.png"))
    )
    new_image(page, "#swap-result", before)
    page.get_by_text("every face").wait_for()
    assert page.locator("#swap-grid img").count() == 2 * len(EXPRESSIONS)  # a row per face
    before = image_source(page, "#swap-result")
    surprise = len(EXPRESSIONS) + EXPRESSIONS.index("surprise")
    page.locator("#swap-grid img").nth(surprise).click()  # "Face 2: surprise"
    page.get_by_text("face 2 now looks surprised").wait_for()
    new_image(page, "#swap-result", before)
    assert page.get_by_label("Which face").input_value() == "Face 2 from the left"
    assert page.get_by_role("radio", name="surprise").is_checked()
    assert page.locator("#swap-grid img").count() == 2 * len(EXPRESSIONS)  # both faces still to click


def test_controls_changed_while_the_photo_is_worked_on_are_the_ones_it_shows(
    page, astronaut, demo_config, tiny_checkpoints: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    slowly = swap.prepare_photo  # a photo worked on for a second, so the clicks below land meanwhile
    monkeypatch.setattr(swap, "prepare_photo", lambda *args: time.sleep(1.0) or slowly(*args))
    page.get_by_role("tab", name="Expression").click()
    cropped = np.ascontiguousarray(astronaut[24:, 16:])  # a photo no test before gave
    strength = float(page.get_by_label("range slider for Strength").input_value())
    photo = save_photo(cropped, tmp_path / "cropped.png")
    with page.expect_request(re.compile("queue/join")):  # the photo is sent to be worked on
        page.locator("#swap-photo input[type=file]").set_input_files(str(photo))
    page.get_by_role("radio", name="angry").check()
    slider = page.get_by_label("range slider for Strength")
    slider.focus()
    for _ in range(5):
        slider.press("ArrowLeft")
    last = round(strength - 5 * demo_config.slider_step, 6)
    models = ExpressionModels.load(tiny_checkpoints / SHAPE_FILE, tiny_checkpoints / APPEARANCE_FILE)
    expected = cached_name(prepare_photo(cropped, models).render("angry", 1.0, "all", last))
    page.wait_for_function(
        "name => document.querySelector('#swap-result img')?.getAttribute('src')?.includes(name)",
        arg=expected,
    )
    page.get_by_text("now looks angry").wait_for()
    page.wait_for_function(f"() => ({MARKED})() === {EXPRESSIONS.index('angry')}")


def test_gallery_opens_on_faces_and_samples_a_grid(page) -> None:
    page.get_by_role("tab", name="Gallery").click()
    page.wait_for_selector("#gallery-grid img")  # before any click: the tab never opens empty
    before = image_source(page, "#gallery-grid")
    page.get_by_role("button", name="New faces").click()
    new_image(page, "#gallery-grid", before)
    grid = page.locator("#gallery-grid img").bounding_box()
    panel = page.locator("#gallery-grid").bounding_box()
    assert grid["width"] > 0.9 * panel["width"], "small faces in a large empty panel"
    before = image_source(page, "#gallery-grid")
    variety = page.get_by_label("range slider for Variety")
    variety.focus()
    variety.press("Home")  # a setting moved from the keyboard redraws too
    new_image(page, "#gallery-grid", before)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download these faces (PNG)").click()
    assert download.value.suggested_filename.endswith(".png")  # named by model, seed, variety, count
    page.screenshot(path=SHOTS / "gallery.png", full_page=True)


@pytest.mark.parametrize(
    ("tab", "photo", "result"),
    [
        ("Expression", "#swap-photo", "#swap-result"),
        ("Explore", "#explore-photo", "#explore-face"),
        ("Morph", "#morph-photo-a", "#morph-strip"),
    ],
)
def test_replacing_the_photo_again_and_again_shows_no_error(
    page, server, photos: list[Path], tab: str, photo: str, result: str
) -> None:
    """Drop one photo over the other, as people try photos: each is used, none shows an error,
    and no upload stays on the server. The same photo twice in a row is a replacement too."""
    page.evaluate(COUNT_ERROR_TOASTS)
    page.get_by_role("tab", name=tab).click()
    send_one_after_another(page, photo, result, [*photos, photos[-1], photos[0]])
    assert_no_error_and_no_upload_left(page, server[1], photos)


@pytest.mark.real_data
def test_replacing_real_photos_shows_no_error(page, server, real_photos: list[Path]) -> None:
    page.evaluate(COUNT_ERROR_TOASTS)
    page.get_by_role("tab", name="Expression").click()
    send_one_after_another(page, "#swap-photo", "#swap-result", real_photos + real_photos[:2])
    assert_no_error_and_no_upload_left(page, server[1], real_photos)


def send_one_after_another(page, photo: str, result: str, paths: list[Path]) -> None:
    """Each photo over the last one, once the page shows what the last one gave."""
    for i, path in enumerate(paths):
        before = image_source(page, result)
        page.locator(f"{photo} input[type=file]").set_input_files(str(path))
        if i == 0 or path != paths[i - 1]:  # the same photo again draws the same picture
            new_image(page, result, before)


def assert_no_error_and_no_upload_left(page, cache: Path, photos: list[Path]) -> None:
    page.wait_for_timeout(1000)  # a late second request for an upload would fail within this second
    assert page.evaluate("window.errorToasts") == 0
    assert leftover_uploads(cache, photos) == []


def test_clearing_the_photo_then_sending_it_again_swaps_it_again(page, server, photos: list[Path]) -> None:
    page.evaluate(COUNT_ERROR_TOASTS)
    page.get_by_role("tab", name="Expression").click()
    photo = page.locator("#swap-photo")
    for _ in range(2):
        before = image_source(page, "#swap-result")
        photo.locator("input[type=file]").set_input_files(str(photos[2]))  # two faces
        new_image(page, "#swap-result", before)
        page.get_by_text("Found 2 faces").wait_for()
        photo.get_by_role("button", name="Remove Image").click()
        page.wait_for_function("() => !document.querySelector('#swap-result img')")  # cleared with it
    assert_no_error_and_no_upload_left(page, server[1], photos)


def test_the_same_photo_on_two_inputs_at_once_shows_no_error(page, server, photos: list[Path]) -> None:
    """Gradio files both uploads at one path; the first read deletes it before the second reads.
    The first photo is the one end A shows already, so the morph its upload asks for draws the
    picture shown before: the strip changes only if the other end's morph, asked for last, is
    drawn last."""
    page.evaluate(COUNT_ERROR_TOASTS)
    page.get_by_role("tab", name="Morph").click()
    for path in photos[:3]:
        before = image_source(page, "#morph-strip")
        page.locator("#morph-photo-a input[type=file]").set_input_files(str(path))
        page.locator("#morph-photo-b input[type=file]").set_input_files(str(path))
        new_image(page, "#morph-strip", before)
    assert_no_error_and_no_upload_left(page, server[1], photos)


def test_a_long_morph_keeps_both_ends_in_sight(page, demo_config) -> None:
    """With 16 frames and more, the strip fills the width: nothing may lie over its first or last face."""
    page.get_by_role("tab", name="Morph").click()
    steps = page.get_by_label("range slider for Steps")
    steps.focus()
    steps.press("End")  # the most frames
    before = image_source(page, "#morph-strip")
    page.get_by_role("button", name="Morph", exact=True).click()
    new_image(page, "#morph-strip", before)
    # Earlier tests leave morphs queued, whose progress cover lies over the strip while they run: once
    # this long strip is drawn and idle, its corners must be its own image (anything else lying there
    # keeps them covered, and fails).
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    rows = math.ceil(demo_config.morph_max_frames / STRIP_COLUMNS)
    try:
        page.wait_for_function(STRIP_ENDS_IN_SIGHT, arg=rows * (demo_config.tile_size + GAP) - GAP)
    except PlaywrightTimeout:
        on_top = page.evaluate(STRIP_ENDS_ON_TOP)
        pytest.fail(f"something lies over the strip's ends: {on_top}")
    page.screenshot(path=SHOTS / "morph.png", full_page=True)


def test_on_a_phone_every_tab_is_named_in_the_tab_bar(page, server) -> None:
    phone = page.context.browser.new_page(viewport=PHONE)
    try:
        phone.set_default_timeout(TIMEOUT_MS)
        phone.goto(server[0])
        phone.wait_for_selector("[role=tablist] button")
        names = phone.locator("[role=tablist] button").all_inner_texts()
        assert names == [*(name for name, _ in TABS), "About"]  # none behind a "more" button
    finally:
        phone.close()


def test_on_a_phone_the_face_stays_in_view_while_a_slider_moves(page, server) -> None:
    phone = page.context.browser.new_page(viewport=PHONE)
    try:
        phone.set_default_timeout(TIMEOUT_MS)
        phone.goto(server[0])
        screenshots.open_tab(phone, "Explore")
        phone.wait_for_selector("#explore-face img")
        before = image_source(phone, "#explore-face")
        sliders = phone.get_by_label(re.compile("^range slider for "))
        last = sliders.nth(
            phone.evaluate(
                "() => [...document.querySelectorAll('input[type=range]')].filter(s => s.offsetParent).length"
            )
            - 1
        )
        last.scroll_into_view_if_needed()
        last.focus()
        for _ in range(10):
            last.press("ArrowRight")
        new_image(phone, "#explore-face", before)
        face = phone.locator("#explore-face").bounding_box()
        slider = last.bounding_box()
        assert face["y"] >= 0 and face["y"] + face["height"] <= PHONE["height"], (
            f"the face scrolled away: {face}"
        )
        assert slider["y"] > face["y"] + face["height"], "the slider is hidden under the face"
        phone.screenshot(path=SHOTS / "explore-phone.png")
    finally:
        phone.close()


def test_on_a_phone_the_edited_photo_stays_in_view_while_an_expression_is_picked(page, server) -> None:
    phone = page.context.browser.new_page(viewport=PHONE)
    try:
        phone.set_default_timeout(TIMEOUT_MS)
        phone.goto(server[0])
        phone.locator("#swap-example").click()
        phone.wait_for_function("() => document.querySelector('#swap-result img')?.naturalWidth > 0")
        before = image_source(phone, "#swap-result")
        sad = phone.get_by_role("radio", name="sad")
        sad.scroll_into_view_if_needed()
        sad.check()
        new_image(phone, "#swap-result", before)
        result, button = phone.locator("#swap-result").bounding_box(), sad.bounding_box()
        assert result["y"] >= 0 and result["y"] + result["height"] <= PHONE["height"], (
            f"the edited photo scrolled away: {result}"
        )
        assert button["y"] > result["y"] + result["height"], "the button is hidden under the photo"
    finally:
        phone.close()


def test_on_a_phone_each_face_of_a_group_photos_strip_starts_its_own_row_labelled_below(
    page, server, group_photo: np.ndarray, tmp_path: Path
) -> None:
    phone = page.context.browser.new_page(viewport=PHONE)
    try:
        phone.set_default_timeout(TIMEOUT_MS)
        phone.goto(server[0])
        phone.locator("#swap-photo input[type=file]").set_input_files(
            str(save_photo(group_photo, tmp_path / "two.png"))
        )
        tiles = phone.locator("#swap-grid .thumbnail-item")
        phone.wait_for_function(
            f"() => document.querySelectorAll('#swap-grid .thumbnail-item').length === {2 * len(EXPRESSIONS)}"
        )
        phone.wait_for_function(f"() => ({CLOSEUP})().length === 2")  # drawn above the strip: laid out
        boxes = [tiles.nth(i).bounding_box() for i in range(2 * len(EXPRESSIONS))]
        first, second = boxes[0], boxes[len(EXPRESSIONS)]  # "Face 1: angry", "Face 2: angry"
        last_of_first = boxes[len(EXPRESSIONS) - 1]
        assert second["x"] == pytest.approx(first["x"], abs=1)  # face 2 starts at the left ...
        assert second["y"] > last_of_first["y"] + last_of_first["height"] / 2  # ... on a row of its own
        assert boxes[1]["y"] == pytest.approx(first["y"], abs=1)  # and the strip still wraps, 4 a row
        faces = phone.locator("#swap-grid .thumbnail-item img")
        labels = phone.locator("#swap-grid .caption-label")
        for i in range(2 * len(EXPRESSIONS)):  # "Face 2: surprise", two lines: under the face, not on it
            face, label = faces.nth(i).bounding_box(), labels.nth(i).bounding_box()
            assert label["y"] >= face["y"] + face["height"] - 1
            assert face["width"] == pytest.approx(face["height"], abs=1)
        phone.locator("#swap-grid").screenshot(path=SHOTS / "swap-group-strip-phone.png")
    finally:
        phone.close()


def test_webcam_snapshot_without_a_face_is_a_message(page) -> None:
    page.get_by_role("tab", name="Expression").click()
    photo = page.locator("#swap-photo")
    photo.get_by_role("button", name="Capture from camera").click()
    photo.get_by_text("Click to Access Webcam").click()
    page.wait_for_function("() => document.querySelector('#swap-photo video')?.readyState >= 2")  # streaming
    photo.locator("button.capture-button").click()  # Chromium's fake camera: a test pattern, no face
    page.wait_for_selector("text=No face was found")
    page.screenshot(path=SHOTS / "webcam.png", full_page=True)
