"""The demo in headless Chromium (Debian's, never `playwright install`): what a visitor actually does.

Screenshots land in test-output/browser/ for a human look at the layout.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_demo_support import save_photo

pytest_plugins = ["tests.test_demo_support"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
SHOTS = Path(__file__).resolve().parents[1] / "test-output" / "browser"
TIMEOUT_MS = 30_000

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
        page.wait_for_selector("#explore-face img")
        yield page
        browser.close()


def image_source(page, selector: str) -> str:
    return page.locator(f"{selector} img").first.get_attribute("src") or ""


def test_slider_changes_the_face(page) -> None:
    before = image_source(page, "#explore-face")
    slider = page.get_by_label("range slider for PC1")
    slider.focus()
    for _ in range(20):  # a drag: many input events, of which only the last must be drawn
        slider.press("ArrowRight")
    page.wait_for_function(
        "src => document.querySelector('#explore-face img')?.getAttribute('src') !== src", arg=before
    )
    page.screenshot(path=SHOTS / "explore.png", full_page=True)


def test_swap_tab_gives_seven_faces(page, astronaut, demo_config, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Expression swap").click()
    photo = save_photo(astronaut, tmp_path / "astronaut.png")
    page.locator("#swap-photo input[type=file]").set_input_files(str(photo))
    thumbnails = page.locator("#swap-grid img")
    page.wait_for_function(  # seven faces, each actually decoded by the browser
        "() => [...document.querySelectorAll('#swap-grid img')].filter(i => i.complete && i.naturalWidth > 0)"
        ".length === 7"
    )
    assert thumbnails.count() == 7
    page.wait_for_function("() => document.querySelector('#swap-result img')?.naturalWidth > 0")
    assert page.get_by_text("Found 1 face").is_visible()
    page.screenshot(path=SHOTS / "swap.png", full_page=True)
    before = image_source(page, "#swap-result")
    strength = page.get_by_label("range slider for Expression strength")
    strength.focus()
    for _ in range(10):
        strength.press("ArrowRight")
    page.wait_for_function(
        "src => document.querySelector('#swap-result img')?.getAttribute('src') !== src", arg=before
    )
    last = demo_config.swap_strength + 10 * demo_config.slider_step
    page.get_by_text(f"strength {last:.2f}").wait_for()  # the last of the ten steps is the one drawn


def test_gallery_opens_on_faces_and_samples_a_grid(page) -> None:
    page.get_by_role("tab", name="Gallery").click()
    page.wait_for_selector("#gallery-grid img")  # before any click: the tab never opens empty
    page.get_by_role("button", name="Sample").click()
    page.wait_for_selector("text=.png")  # the download file is offered
    page.screenshot(path=SHOTS / "gallery.png", full_page=True)


def test_webcam_snapshot_without_a_face_is_a_message(page) -> None:
    page.get_by_role("tab", name="Expression swap").click()
    photo = page.locator("#swap-photo")
    photo.get_by_role("button", name="Capture from camera").click()
    photo.get_by_text("Click to Access Webcam").click()
    page.wait_for_function("() => document.querySelector('#swap-photo video')?.readyState >= 2")  # streaming
    photo.locator("button.capture-button").click()  # Chromium's fake camera: a test pattern, no face
    page.wait_for_selector("text=No face was found")
    page.screenshot(path=SHOTS / "webcam.png", full_page=True)
