"""The live webcam in headless Chromium, with a fake camera that films a real face: Chromium plays a clip
made here (bench/clips.py: ../shared/photos/obama.jpg where present, else the astronaut, swaying a
little) as its webcam. Edited frames keep arriving, they differ from the camera's where the face is
and nowhere else, a new expression shows on the next frames, and nothing is written to disk.

Screenshots land in test-output/browser/ for a human look. (The page's other tabs write their own
results to Gradio's cache as it loads; no file the size of a camera frame may appear anywhere.)
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from bench.clips import Clip, photo, write_y4m
from docs import screenshots
from tests.test_privacy import files_under

pytest_plugins = ["tests.test_demo_support"]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(screenshots.CHROMIUM)
SHOTS = REPO / "test-output" / "browser"
CAMERA_FRAMES = 30  # two seconds at 15 fps, played in a loop
EDGE = 100  # px at the left and right of the frame: far from the face, which the edit never touches
REQUIRE_BROWSER = "FACEVAE_REQUIRE_BROWSER"
NO_CHROMIUM = f"no Chromium at {CHROMIUM} (apt-get install chromium)"

# Counts the edited frames the page shows, and when the first and the last arrived.
COUNT_FRAMES = """() => {
    window.liveFrames = 0;
    const seen = image => new MutationObserver(() => {
        window.liveFrames += 1;
        window.lastFrameAt = performance.now();
        window.firstFrameAt = window.firstFrameAt ?? window.lastFrameAt;
    }).observe(image, {attributes: true, attributeFilter: ['src']});
    const watch = () => {
        const image = document.querySelector('#live-result img');
        if (image) { window.liveFrames = 1; window.firstFrameAt = performance.now(); seen(image); }
        else setTimeout(watch, 20);
    };
    watch();
}"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get(REQUIRE_BROWSER), reason=NO_CHROMIUM),
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),  # inside gradio's queue
]


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Clip]:
    clip = Clip.of(photo(1)[1], sway=6.0)
    path = write_y4m(
        [clip.frame(i) for i in range(CAMERA_FRAMES)], tmp_path_factory.mktemp("camera") / "face.y4m"
    )
    return path, clip


@dataclass(frozen=True)
class Stream:
    page: Any  # playwright's Page, on the expression tab, its live webcam streaming
    started: float  # when the first edited frame came: files written since are the stream's


@pytest.fixture(scope="module")
def stream(server: tuple[str, Path], camera: tuple[Path, Clip]) -> Iterator[Stream]:
    """The expression tab's live webcam, streaming."""
    if not CHROMIUM.exists():  # not skipped: REQUIRE_BROWSER is set
        pytest.fail(f"{NO_CHROMIUM}, and {REQUIRE_BROWSER} is set: the browser tests must run here")
    from playwright.sync_api import sync_playwright  # only where Chromium exists

    SHOTS.mkdir(parents=True, exist_ok=True)
    args = [
        *screenshots.CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera[0]}",
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(server[0])
        page.get_by_role("tab", name="Expression").click()
        page.locator("#live").get_by_text("Live webcam").first.click()
        page.locator("#live-camera").get_by_text("Click to Access Webcam").click()
        page.locator("#live-camera .button-wrap button").click()  # start streaming
        page.evaluate(COUNT_FRAMES)
        page.wait_for_selector("#live-result img")
        yield Stream(page, time.time() - 1)  # (file times are whole seconds)
        browser.close()


def shown_frame(page) -> np.ndarray:
    """The edited frame the page shows now, decoded (RGB)."""
    url = page.evaluate("() => document.querySelector('#live-result img').getAttribute('src')")
    assert url.startswith("data:image/jpeg;base64,"), "the frame comes inline, not as a file"
    jpeg = np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8)
    return cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_edited_frames_keep_arriving_and_say_what_they_see(stream: Stream) -> None:
    page = stream.page
    page.wait_for_function("() => window.liveFrames >= 20", timeout=120_000)
    frames, seconds = page.evaluate(
        "() => [window.liveFrames, (window.lastFrameAt - window.firstFrameAt) / 1000]"
    )
    print(f"{frames} edited frames in {seconds:.1f} s: {(frames - 1) / seconds:.1f} per second")
    status = page.inner_text("#live-status")
    assert "1 face in view" in status and "surprised" in status  # the tab opens on surprise
    page.locator("#live").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "live-surprise.png"))


def test_the_face_is_edited_and_nothing_far_from_it(stream: Stream, camera) -> None:
    _, clip = camera
    edited = shown_frame(stream.page).astype(np.float32)
    # The page mirrors the camera, as a mirror does; the frame it filmed is the closest at the edges.
    filmed = [clip.frame(i)[:, ::-1].astype(np.float32) for i in range(CAMERA_FRAMES)]
    edges = np.r_[0:EDGE, edited.shape[1] - EDGE : edited.shape[1]]
    source = min(filmed, key=lambda frame: np.abs(frame[:, edges] - edited[:, edges]).mean())
    points = clip.truth(0)[0] * [-1, 1] + [edited.shape[1] - 1, 0]
    x0, y0 = points.min(0).astype(int)
    x1, y1 = points.max(0).astype(int)
    face = np.abs(source[y0:y1, x0:x1] - edited[y0:y1, x0:x1]).mean()
    far = np.abs(source[:, edges] - edited[:, edges]).mean()
    assert far < 6, "far from the face, the frame is the camera's (JPEG aside)"
    assert face > far + 5, f"the face changed by {face:.1f} levels, the edges by {far:.1f}"


def test_another_expression_shows_on_the_next_frames(stream: Stream) -> None:
    page = stream.page
    page.get_by_label("sad").check()
    page.wait_for_function("() => document.querySelector('#live-status').innerText.includes('sad')")
    frames = page.evaluate("() => window.liveFrames")
    page.wait_for_function(f"() => window.liveFrames >= {frames + 3}")
    page.screenshot(path=str(SHOTS / "live-sad.png"))


def test_no_frame_was_written_to_disk(stream: Stream, server, camera) -> None:
    stream.page.wait_for_function("() => window.liveFrames >= 25")
    _, cache = server
    places = (cache, REPO, Path(tempfile.gettempdir()))
    written = {path for place in places for path in files_under(place, since=stream.started)}
    ours = (SHOTS, camera[0].parent)  # the screenshots and the camera's clip
    frames = [path for path in written if not any(f in path.parents for f in ours) and frame_sized(path)]
    assert frames == [], f"frames written to {frames}"


def frame_sized(path: Path) -> bool:
    """Whether a file is an image as large as a camera frame (or a video holding frames)."""
    if path.suffix == ".y4m":
        return True
    try:
        small = path.stat().st_size < 50 * 2**20
    except OSError:  # removed meanwhile (the browser's own profile files come and go)
        return False
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED) if small else None
    return image is not None and image.shape[:2] == (480, 640)
