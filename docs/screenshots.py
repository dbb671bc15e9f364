"""Screenshots of the demo's tabs, taken in headless Chromium, so the README shows the app as it is.

    python -m docs.screenshots                       # every tab, desktop and phone, into docs/figures/
    python -m docs.screenshots --tabs explore swap   # some tabs only
    python -m docs.screenshots --out /tmp/shots      # somewhere else

Starts ``python app.py`` with the shipped checkpoints on a free loopback port (bench.server), opens
it in Debian's Chromium (``/usr/bin/chromium``, driven by Playwright; never ``playwright install``)
at desktop width (1280 px) and phone width (390 px), and on each tab does what a visitor does first:
the swap on a photo (``--photo``, default skimage's astronaut portrait, public domain), every other
tab as it opens. Each tab is saved as ``demo-<tab>-<desktop|phone>.png``, the whole page's height.
All ten pictures take about 25 seconds on two cores.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from skimage import data as skimage_data

from bench.server import DemoServer

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
TIMEOUT_MS = 60_000


def loaded(page, selector: str, count: int = 1) -> None:
    """Wait until `count` images under `selector` are decoded by the browser (not just inserted)."""
    page.wait_for_function(
        "([selector, count]) => [...document.querySelectorAll(selector + ' img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length >= count",
        arg=[selector, count],
    )


def open_tab(page, name: str) -> None:
    """Click a tab, through the "More tabs" menu where a narrow page has folded it away."""
    page.get_by_role("tab").first.wait_for()  # the page has laid out its tabs
    tab = page.get_by_role("tab", name=name, exact=True)
    if tab.count() == 0:
        page.get_by_role("button", name="More tabs").click()
        page.locator(".overflow-dropdown button", has_text=name).click()
    else:
        tab.click()


def explore(page, photo: Path) -> None:
    loaded(page, "#explore-face")


def swap(page, photo: Path) -> None:
    page.locator("#swap-photo input[type=file]").set_input_files(str(photo))
    loaded(page, "#swap-result")


def gallery(page, photo: Path) -> None:
    loaded(page, "#gallery-grid")


def morph(page, photo: Path) -> None:
    loaded(page, "#morph-strip")


def about(page, photo: Path) -> None:
    loaded(page, "#about-picture")


# Tab key -> (the tab's name on the page, what to do there before the picture).
TABS: dict[str, tuple[str, Callable[..., None]]] = {
    "explore": ("Explore", explore),
    "swap": ("Expression", swap),
    "gallery": ("Gallery", gallery),
    "morph": ("Morph", morph),
    "about": ("About", about),
}


def shoot(url: str, out: Path, tabs: list[str], photo: Path) -> list[Path]:
    """Open the demo once per viewport and save one full-page screenshot per tab; the files written."""
    from playwright.sync_api import sync_playwright

    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for width_name, viewport in VIEWPORTS.items():
            page = browser.new_page(viewport=viewport)
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(url)
            page.wait_for_selector("#swap-photo")  # the page opens on the expression tab
            for key in tabs:
                name, prepare = TABS[key]
                open_tab(page, name)
                prepare(page, photo)
                page.wait_for_timeout(500)  # let the last image fade in and the layout settle
                path = out / f"demo-{key}-{width_name}.png"
                page.screenshot(path=path, full_page=True)
                saved.append(path)
            page.close()
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="python -m docs.screenshots",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=REPO / "docs" / "figures", help="folder for the PNG files")
    p.add_argument("--tabs", nargs="+", choices=list(TABS), default=list(TABS), help="tabs to shoot")
    p.add_argument("--photo", type=Path, help="photo for the swap tab (default: skimage's astronaut)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="facevae-shots-") as temp, DemoServer() as server:
        photo = args.photo or Path(temp) / "astronaut.png"
        if args.photo is None:
            Image.fromarray(skimage_data.astronaut()).save(photo)
        server.wait_until_served()
        for path in shoot(server.url, args.out, args.tabs, photo):
            print(path)


if __name__ == "__main__":
    main()
