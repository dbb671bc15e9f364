"""The scripts that draw the docs' figures still run: the About tab's picture and the screenshots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from demo.models import REGISTRY
from docs import how_it_works
from tests.conftest import REPO
from tests.test_browser import CHROMIUM

needs_shipped_checkpoints = pytest.mark.skipif(
    not all((REPO / "checkpoints" / spec.filename).is_file() for spec in REGISTRY),
    reason="the shipped checkpoints are not in checkpoints/",
)


@needs_shipped_checkpoints
def test_the_picture_of_how_it_works_is_drawn(tmp_path: Path) -> None:
    out = tmp_path / "how-it-works.png"
    how_it_works.main(["--out", str(out)])
    with Image.open(out) as picture:
        assert picture.width > 800 and picture.height > 400


@pytest.mark.slow
@pytest.mark.browser
@needs_shipped_checkpoints
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM}")
def test_the_screenshots_of_a_tab_are_taken_at_both_widths(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "docs.screenshots", "--tabs", "gallery", "--out", str(tmp_path)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    widths = {}
    for name in ("desktop", "phone"):
        with Image.open(tmp_path / f"demo-gallery-{name}.png") as shot:
            widths[name] = shot.width
    assert widths == {"desktop": 1280, "phone": 390}
