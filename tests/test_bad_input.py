"""Bad input, case by case, through the handlers and through the running demo's API.

One table of named cases. Each runs twice: through the Python handlers (demo/*.py, called as the
page calls them) and through the live demo's HTTP API on loopback (gradio_client; raw JSON for NaN
and infinity, which gradio_client cannot send). Every case either gives the user a clear message
(never Gradio's bare "Error") or succeeds as stated, and then a normal request of the same kind
still works; a case that shows a bug not fixed yet is marked with it and strictly expected to fail.
Every file is made here; the 12000x9000 photo is written block by block (1 MB).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import struct
import sys
import uuid
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image, ImageFile

from demo import DemoConfig
from demo.explore import ExploreTab
from demo.gallery import GalleryTab
from demo.models import load_models
from demo.morph import MorphTab
from demo.swap import SwapTab
from vae.images import ImageLimits, read_image
from vae.landmarks import detect_faces

pytest_plugins = ["tests.test_demo_support"]
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")  # inside gradio's queue

SLIDERS = 16  # DemoConfig().max_sliders: the /explore endpoint takes this many slider values
ZEROS = (0.0,) * SLIDERS
NAN, INF = float("nan"), float("inf")
REFUSED_PATH = "must be a file uploaded to this app"


# -- files: every kind of upload, made here ---------------------------------------------------------
def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height and holds no pixels: a decompression bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


# Standard luminance DC Huffman table (JPEG, Annex K.3): code length and code of each size category.
_DC_COUNTS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_LENGTHS = np.array([2, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9])
_DC_CODES = np.array([0, 2, 3, 4, 5, 6, 14, 30, 62, 126, 254, 510])


def flat_block_jpeg(blocks: np.ndarray) -> bytes:
    """A grey baseline JPEG 8x the size of `blocks` whose every 8x8 block is flat, shade blocks[r, c].

    Only DC coefficients are coded (one Huffman code per block), so a 12000x9000 photo takes a second
    to write and about 1 MB, and is still a valid JPEG that any decoder reads at full size.
    """
    rows, cols = blocks.shape

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    header = [
        segment(0xDB, bytes([0, 8] + [1] * 63)),  # DC quantised by 8: its coefficient is the grey level
        segment(0xC0, struct.pack(">BHHB", 8, rows * 8, cols * 8, 1) + bytes([1, 0x11, 0])),
        segment(0xC4, bytes([0x00, *_DC_COUNTS, *range(12)])),
        segment(0xC4, bytes([0x10, 1] + [0] * 15 + [0x00])),  # AC: one symbol, end of block, code "0"
        segment(0xDA, bytes([1, 1, 0x00, 0, 63, 0])),
    ]
    diff = np.diff(blocks.astype(np.int64).ravel() - 128, prepend=0)
    size = np.zeros_like(diff)
    size[diff != 0] = np.floor(np.log2(np.abs(diff[diff != 0]))).astype(np.int64) + 1
    extra = np.where(diff >= 0, diff, diff + (1 << size) - 1)  # negative: ones' complement
    lengths = _DC_LENGTHS[size] + size + 1
    codes = ((_DC_CODES[size] << size) | extra) << 1  # size category, extra bits, then end of block
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    bits = np.ones(-(-int(lengths.sum()) // 8) * 8, dtype=np.uint8)  # the last byte is padded with ones
    for j in range(int(lengths.max())):
        used = j < lengths
        bits[starts[used] + j] = (codes[used] >> (lengths[used] - 1 - j)) & 1
    scan = np.packbits(bits).tobytes().replace(b"\xff", b"\xff\x00")
    return b"\xff\xd8" + b"".join(header) + scan + b"\xff\xd9"


def huge_photo(astronaut: np.ndarray) -> bytes:
    """A 12000x9000 grey JPEG (108 megapixels) with the astronaut's face large in the middle."""
    face = np.asarray(Image.fromarray(astronaut).convert("L").resize((1125, 1125)))
    blocks = np.full((1125, 1500), 200, np.uint8)
    blocks[:, 187 : 187 + 1125] = face
    return flat_block_jpeg(blocks)


def exif_rotated(astronaut: np.ndarray, path: Path) -> np.ndarray:
    """The astronaut (cropped to 512 wide x 400 high) stored sideways with EXIF orientation 6."""
    upright = astronaut[:400]
    exif = Image.Exif()
    exif[0x0112] = 6  # display: rotate 90 degrees clockwise
    stored = np.ascontiguousarray(np.rot90(upright))  # 90 degrees anticlockwise
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    return stored


def make_files(
    folder: Path, astronaut: np.ndarray, group: np.ndarray, faceless: np.ndarray
) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(astronaut)
    files: dict[str, Path] = {}

    def save(name: str, picture: Image.Image, **params: Any) -> None:
        files[name.split(".")[0]] = folder / name
        picture.save(folder / name, **params)

    def write(name: str, data: bytes) -> None:
        files[name.split(".")[0]] = folder / name
        (folder / name).write_bytes(data)

    save("astronaut.png", image)
    write("text.txt", b"Dear diary, this is not a photo.\n" * 20)
    write(
        "document.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    write("empty.jpg", b"")
    image.save(folder / "whole.jpg", quality=90)
    data = (folder / "whole.jpg").read_bytes()
    write("truncated.jpg", data[: len(data) // 2])
    write("bomb.png", png_header(50_000, 50_000))
    write("49mp.png", png_header(7000, 7000))
    write("oversize.jpg", data + bytes(ImageLimits().max_bytes))  # a JPEG with 20 MB of trailing zeros
    save("1x1.png", Image.new("RGB", (1, 1), (200, 150, 120)))
    write("12000x9000.jpg", huge_photo(astronaut))
    alpha = np.clip(np.linspace(255 * 2.5, 0, astronaut.shape[1]), 0, 255).astype(np.uint8)  # right: clear
    save("rgba.png", Image.fromarray(np.dstack([astronaut, np.broadcast_to(alpha, astronaut.shape[:2])])))
    save("palette.png", image.convert("P", palette=Image.Palette.ADAPTIVE))
    grey16 = np.asarray(image.convert("L")).astype(np.uint16) * 257
    save("16bit.png", Image.fromarray(grey16))
    save("cmyk.jpg", image.convert("CMYK"))
    save("grey.jpg", image.convert("L"))
    files["exif"] = folder / "exif.jpg"
    exif_rotated(astronaut, files["exif"])
    save("noface.png", Image.fromarray(faceless))
    save("group.png", Image.fromarray(group))
    save("border.png", Image.fromarray(np.ascontiguousarray(astronaut[40:, 170:])))
    save("small.png", image.resize((179, 179), Image.Resampling.BOX))  # 21 px between the eyes
    frames = [image, Image.fromarray(faceless).resize(image.size)]
    save("animated.gif", frames[0], save_all=True, append_images=frames[1:], duration=100, loop=0)
    return files


# -- the table --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Photo:
    """An uploaded file, by its key in make_files."""

    name: str


@dataclass(frozen=True)
class Payload:
    """A file payload an API caller writes by hand: its path, made from the app's upload folder."""

    path: Callable[[Path, Path], str]  # (upload folder, a folder outside it) -> the path sent


@dataclass(frozen=True)
class Case:
    name: str
    endpoint: str  # an API name, or "/morph_photos": faces A and B from two uploads, then /morph
    args: tuple[Any, ...]
    error: str | None = None  # a message the user must get (regex)
    status: str | None = None  # or: swap's status line (regex), without an error
    image: Callable[[np.ndarray], bool] | None = None  # and a check of the first output image
    raw: bool = False  # through the API as raw JSON (NaN, infinity)

    def param(self) -> Any:
        return pytest.param(self, id=self.name)


def swap(
    photo: Any,
    expression: Any = "happy",
    intensity: Any = 1.0,
    faces: Any = "all",
    strength: Any = 1.0,
    **kw: Any,
) -> Case:
    return Case(endpoint="/swap", args=(photo, expression, intensity, faces, strength), **kw)


def explore(*sliders: Any, model: Any = "fer-multi", expression: Any = "happy", **kw: Any) -> Case:
    return Case(endpoint="/explore", args=(model, expression, *sliders, *ZEROS[len(sliders) :]), **kw)


def gallery(
    count: Any = 4, temperature: Any = 0.8, seed: Any = 0, model: Any = "fer-multi", **kw: Any
) -> Case:
    return Case(endpoint="/gallery", args=(model, "happy", count, temperature, seed), **kw)


FOUND_ONE = r"Found 1 face;"
# dlib's HOG detector scores the astronaut's mission patch just around its threshold of 0 (-0.015 in
# the PNG, 0.006 to 0.12 once JPEG-compressed, against 1.4 to 1.5 for her face): saved as a JPEG,
# she has two faces and the patch is warped too.
NO_FACE = r"No face was found"
SECRET = "secret.png"  # an image with a face outside the upload folder: a path must never reach it

CASES = [
    # files that are not images, or are broken, or too big
    swap(Photo("text"), name="text-file", error=r"not an image that can be read"),
    swap(Photo("document"), name="pdf", error=r"not an image that can be read"),
    swap(Photo("empty"), name="empty-file", error=r"image file is empty"),
    swap(Photo("truncated"), name="truncated-jpeg", error=r"damaged or incomplete"),
    swap(Photo("bomb"), name="bomb-50000x50000", error=r"too large to process"),
    swap(Photo("49mp"), name="png-over-pixel-limit", error=r"7000x7000 pixels; the limit is 40 megapixels"),
    # gradio_client refuses to send it; through plain HTTP, Gradio's upload route refuses it
    swap(Photo("oversize"), name="file-over-20-mb", raw=True, error=r"20 MB|20971520 bytes"),
    swap(Photo("1x1"), name="1x1-pixel", status=NO_FACE),
    swap(
        Photo("12000x9000"),
        name="12000x9000-photo",
        status=FOUND_ONE,
        image=lambda photo: photo.shape == (1536, 2048, 3),  # downscaled to the longest side 2048
    ),
    # every pixel format, and the orientation
    swap(Photo("rgba"), name="rgba", status=FOUND_ONE),
    swap(Photo("palette"), name="palette", status=FOUND_ONE),
    swap(Photo("16bit"), name="16-bit-grey", status=FOUND_ONE),
    swap(Photo("cmyk"), name="cmyk-jpeg", status=FOUND_ONE),
    swap(Photo("grey"), name="greyscale", status=FOUND_ONE),
    swap(Photo("animated"), name="animated-gif", status=FOUND_ONE),
    swap(
        Photo("exif"), name="exif-rotated", status=FOUND_ONE, image=lambda photo: photo.shape == (400, 512, 3)
    ),
    # faces
    swap(Photo("noface"), name="no-face", status=NO_FACE),
    swap(
        Photo("group"),
        "sad",
        1.0,
        "2",
        name="several-faces",
        status=r"Found 2 faces; face 2 now looks \*\*sad\*\*",
    ),
    swap(Photo("small"), name="face-too-small", status=r"too small to edit \(21 px .* at least 24\)"),
    swap(Photo("border"), name="face-at-border", status=FOUND_ONE, image=lambda p: p.shape == (472, 342, 3)),
    Case(
        "face-in-a-photo-without-one",
        "/explore_photo",
        ("fer-multi", "happy", Photo("noface")),
        error=NO_FACE,
    ),
    Case(
        "morph-two-sizes",
        "/morph_photos",
        (Photo("astronaut"), Photo("border"), "fer-multi", "happy", 5),  # 512x512 and 342x472
        image=lambda strip: strip.shape == (96, 5 * 96 + 4 * 2),  # 5 frames of DemoConfig.tile_size
    ),
    Case("morph-photo-without-face", "/morph_photo_a", (Photo("1x1"),), error=NO_FACE),
    # swap settings
    swap(Photo("astronaut"), "bored", name="swap-unknown-expression", error=r"Unknown expression 'bored'"),
    swap(
        Photo("astronaut"),
        "happy",
        2,
        name="intensity-above-1",
        error=r"The amount must be a number from 0 to 1, not 2\.",
    ),
    swap(Photo("astronaut"), "happy", NAN, name="intensity-nan", raw=True, error=r"The amount .* not nan"),
    swap(Photo("astronaut"), "happy", "max", name="intensity-text", error=r"The amount .* not 'max'"),
    swap(Photo("astronaut"), "happy", 1, "everyone", name="faces-unknown", error=r"Faces must be 'all'"),
    swap(
        Photo("astronaut"),
        strength=3.5,
        name="strength-above-3",
        error=r"strength must be .* 0 to 3, not 3\.5",
    ),
    swap(Photo("astronaut"), strength=-1, name="strength-negative", error=r"strength .* not -1"),
    swap(Photo("astronaut"), strength=NAN, name="strength-nan", raw=True, error=r"strength .* not nan"),
    # sliders, seeds, temperatures, counts
    explore(
        5.0,
        name="slider-above-range",
        error=r"The Variation 1 slider must be a number from -2 to 2, not 5\.0",
    ),
    explore(0, -4, name="slider-below-range", error=r"Variation 2 slider .* not -4"),
    explore(NAN, name="slider-nan", raw=True, error=r"Variation 1 slider .* not nan"),
    explore(0, 0, INF, name="slider-infinite", raw=True, error=r"Variation 3 slider .* not inf"),
    explore("up", name="slider-text", error=r"Variation 1 slider .* not 'up'"),
    explore(
        expression="bored", name="unknown-expression", error=r"Unknown expression 'bored'; this model has"
    ),
    explore(model="stylegan", name="unknown-model", error=r"Unknown model 'stylegan'; choose one of"),
    gallery(0, name="gallery-0", error=r"number of faces must be a whole number from 1 to 64, not 0"),
    gallery(10_000, name="gallery-10000", error=r"from 1 to 64, not 10000"),
    gallery(2.5, name="gallery-fraction", error=r"whole number .* not 2\.5"),
    gallery(NAN, name="gallery-nan", raw=True, error=r"number of faces .* not nan"),
    gallery(4, 99, name="temperature-above-range", error=r"temperature must be a number from 0\.2 to 1,"),
    gallery(4, -1, name="temperature-negative", error=r"temperature .* not -1"),
    gallery(4, NAN, name="temperature-nan", raw=True, error=r"temperature .* not nan"),
    gallery(4, INF, name="temperature-infinite", raw=True, error=r"temperature .* not inf"),
    gallery(4, 0.8, -1, name="seed-negative", error=r"seed must be a whole number from 0 to 2147483647"),
    gallery(4, 0.8, 2**40, name="seed-too-big", error=r"seed .* not 1099511627776"),
    gallery(4, 0.8, NAN, name="seed-nan", raw=True, error=r"seed .* not nan"),
    Case(
        "explore-seed-nan", "/explore_random", ("fer-multi", "happy", NAN), raw=True, error=r"seed .* not nan"
    ),
    Case("morph-frames-1000", "/morph", ("fer-multi", "happy", 1, 2, 1000), error=r"frames .* 2 to 24"),
    Case("morph-frames-none", "/morph", ("fer-multi", "happy", 1, 2, None), error=r"frames .* not None"),
    # names and paths from the API: looked up, never opened
    gallery(
        model="../../etc/passwd", name="model-path-traversal", error=r"Unknown model '\.\./\.\./etc/passwd'"
    ),
    gallery(model="/etc/passwd", name="model-absolute-path", error=r"Unknown model '/etc/passwd'"),
    gallery(
        model="fer-multi.safetensors", name="model-file-name", error=r"Unknown model 'fer-multi\.safetensors'"
    ),
    gallery(model=["fer-multi"], name="model-not-a-string", error=r"Unknown model \['fer-multi'\]"),
    swap({"path": "/etc/passwd"}, name="photo-absolute-path", error=REFUSED_PATH),
    swap({"path": "../../../../../../etc/passwd"}, name="photo-relative-traversal", error=REFUSED_PATH),
    swap(
        Payload(lambda cache, outside: str(outside / SECRET)), name="photo-outside-folder", error=REFUSED_PATH
    ),
    swap(
        Payload(lambda cache, outside: f"{cache}/x/../../{outside.name}/{SECRET}"),
        name="photo-dotdot-out-of-folder",
        error=REFUSED_PATH,
    ),
    swap(Payload(lambda cache, outside: str(cache)), name="photo-the-folder-itself", error=REFUSED_PATH),
    swap(Payload(lambda cache, outside: link_out(cache, outside)), name="photo-link-out", error=REFUSED_PATH),
    swap(
        Payload(lambda cache, outside: f"{cache}/{uuid.uuid4().hex}/read-already.png"),
        name="photo-already-read",  # a payload sent again after its file was read and deleted
        error=r"no longer on the server",
    ),
]


def link_out(cache: Path, outside: Path) -> str:
    """A link inside the upload folder that points at the secret outside it."""
    link = cache / uuid.uuid4().hex / SECRET
    link.parent.mkdir(parents=True)
    link.symlink_to(outside / SECRET)
    return str(link)


# The request after each case, which must work: the same endpoint with good values.
NORMAL = {
    "/swap": ("/swap", (Photo("astronaut"), "happy", 1.0, "all", 1.0)),
    "/explore": ("/explore", ("fer-multi", "happy", *ZEROS)),
    "/explore_photo": ("/explore_photo", ("fer-multi", "happy", Photo("astronaut"))),
    "/explore_random": ("/explore_random", ("fer-multi", "happy", 3)),
    "/gallery": ("/gallery", ("fer-multi", "happy", 4, 0.8, 0)),
    "/morph": ("/morph", ("fer-multi", "happy", 1, 2, 5)),
    "/morph_photos": ("/morph", ("fer-multi", "happy", 1, 2, 5)),
    "/morph_photo_a": ("/morph_photo_a", (Photo("astronaut"),)),
}


def test_the_table_has_at_least_30_distinct_cases() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)) >= 30
    assert {case.endpoint for case in CASES} | {"/morph_photo_b"} >= {e for e, _ in NORMAL.values()}


# -- running a case -----------------------------------------------------------------------------------
@dataclass
class Outcome:
    error: str | None = None
    outputs: tuple[Any, ...] = ()

    def status(self) -> str:
        return self.outputs[2]

    def image(self) -> np.ndarray:
        first = self.outputs[0]
        if isinstance(first, dict):  # the API's file payload; the server is this machine
            first = first["path"]
        return np.asarray(Image.open(first)) if isinstance(first, str) else first


def check(case: Case, outcome: Outcome) -> None:
    if case.error:
        assert outcome.error is not None, f"{case.name}: no error, outputs {str(outcome.outputs)[:200]}"
        assert "verbose error reporting" not in outcome.error, f"{case.name}: Gradio's bare error"
        assert re.search(case.error, outcome.error), f"{case.name}: {outcome.error!r}"
        return
    assert outcome.error is None, f"{case.name}: {outcome.error}"
    if case.status:
        assert re.search(case.status, outcome.status()), f"{case.name}: {outcome.status()!r}"
    if case.image:
        assert case.image(outcome.image()), f"{case.name}: output {outcome.image().shape}"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, astronaut, group_photo, faceless) -> dict[str, Path]:
    return make_files(tmp_path_factory.mktemp("uploads"), astronaut, group_photo, faceless)


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory, astronaut) -> Path:
    """A folder outside every upload folder, holding a photo with a face that no request may read."""
    folder = tmp_path_factory.mktemp("private")
    Image.fromarray(astronaut).save(folder / SECRET)
    return folder


@pytest.fixture(scope="module")
def opened(outside: Path) -> Iterator[list[str]]:
    """Every file this process opens below `outside` while the module runs (an audit hook)."""
    seen: list[str] = []
    prefix = str(outside)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and isinstance(args[0], str | os.PathLike):
            path = os.fspath(args[0])
            if isinstance(path, str) and os.path.realpath(path).startswith(prefix):
                seen.append(path)

    sys.addaudithook(hook)  # cannot be removed; it only looks at "open" events
    yield seen
    prefix = "\0"  # the hook's closure sees this: nothing matches after the module


class PythonRunner:
    """Calls the handlers as the page does, with a photo placed where Gradio puts uploads."""

    def __init__(self, config: DemoConfig, files: dict[str, Path], cache: Path, outside: Path) -> None:
        store = load_models(config.checkpoint_dir)
        self.explore, self.swap = ExploreTab(store, config), SwapTab(store, config)
        self.gallery, self.morph = GalleryTab(store, config), MorphTab(store, config)
        self.files, self.cache, self.outside = files, cache, outside

    def value(self, arg: Any) -> Any:
        if isinstance(arg, Photo):
            upload = self.cache / uuid.uuid4().hex / self.files[arg.name].name
            upload.parent.mkdir(parents=True)
            shutil.copy(self.files[arg.name], upload)
            return str(upload)
        if isinstance(arg, Payload):
            return {"path": arg.path(self.cache, self.outside)}
        return arg

    def __call__(self, endpoint: str, args: tuple[Any, ...], raw: bool = False) -> Outcome:
        args = tuple(self.value(arg) for arg in args)
        calls: dict[str, Callable[[], Any]] = {
            "/swap": lambda: self.swap.swap(*args),
            "/explore": lambda: self.explore.face(args[0], args[1], None, *args[2:]),
            "/explore_photo": lambda: self.explore.from_photo(*args),
            "/explore_random": lambda: self.explore.random(*args),
            "/gallery": lambda: self.gallery.sample(*args),
            "/morph": lambda: self.morph.morph(args[0], args[1], None, None, *args[2:]),
            "/morph_photo_a": lambda: self.morph.encode(*args),
            "/morph_photos": lambda: self.morph.morph(
                *args[2:4], self.morph.encode(args[0]), self.morph.encode(args[1]), 1, 2, *args[4:]
            ),
        }
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # gr.Warning outside a request: the status says it too
                result = calls[endpoint]()
        except gr.Error as error:
            return Outcome(error=error.message)
        return Outcome(outputs=result if isinstance(result, tuple) else (result,))


class ApiRunner:
    """Calls the running demo over loopback: gradio_client, or plain HTTP with raw JSON."""

    def __init__(self, url: str, files: dict[str, Path], cache: Path, outside: Path) -> None:
        self.client = Client(url, verbose=False, download_files=False)
        self.url, self.files, self.cache, self.outside = url, files, cache, outside

    def value(self, arg: Any) -> Any:
        if isinstance(arg, Photo):
            return handle_file(str(self.files[arg.name]))
        if isinstance(arg, Payload):
            return {"path": arg.path(self.cache, self.outside)}
        return arg

    def upload(self, path: Path) -> dict[str, Any]:
        """What gradio_client's handle_file does, by hand: the file's payload after /upload."""
        with open(path, "rb") as f:
            response = httpx.post(f"{self.url}gradio_api/upload", files={"files": (path.name, f)})
        if response.status_code != 200:
            raise AppError(f"{response.status_code}: {response.text}")
        return {"path": response.json()[0], "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def raw(self, endpoint: str, args: tuple[Any, ...]) -> Outcome:
        """POST /gradio_api/call/<name> with JSON as Python writes it (NaN, Infinity), read the result."""
        try:
            args = tuple(self.upload(self.files[a.name]) if isinstance(a, Photo) else a for a in args)
        except AppError as refused:
            return Outcome(error=str(refused))
        body = json.dumps({"data": list(args)})  # allow_nan: the literals a careless client may send
        headers = {"content-type": "application/json"}
        posted = httpx.post(f"{self.url}gradio_api/call{endpoint}", content=body, headers=headers)
        posted.raise_for_status()
        event_id = posted.json()["event_id"]
        stream = httpx.get(f"{self.url}gradio_api/call{endpoint}/{event_id}", timeout=60).text
        event, data = None, None
        for line in stream.splitlines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line.split(":", 1)[1])
        if event == "error":
            message = (data or {}).get("error") if isinstance(data, dict) else None
            return Outcome(error=message or "bare error without verbose error reporting")
        return Outcome(outputs=tuple(data))

    def __call__(self, endpoint: str, args: tuple[Any, ...], raw: bool = False) -> Outcome:
        if raw:
            return self.raw(endpoint, args)
        args = tuple(self.value(arg) for arg in args)
        try:
            if endpoint == "/morph_photos":
                self.client.predict(args[0], api_name="/morph_photo_a")
                self.client.predict(args[1], api_name="/morph_photo_b")
                try:
                    result = self.client.predict(*args[2:4], 1, 2, *args[4:], api_name="/morph")
                finally:  # back to seeds for the next cases
                    self.client.predict(None, api_name="/morph_photo_a")
                    self.client.predict(None, api_name="/morph_photo_b")
            else:
                result = self.client.predict(*args, api_name=endpoint)
        except AppError as error:
            return Outcome(error=str(error))
        return Outcome(outputs=result if isinstance(result, tuple) else (result,))


def run_case(run: PythonRunner | ApiRunner, case: Case, opened: list[str]) -> None:
    before = len(opened)
    check(case, run(case.endpoint, case.args, case.raw))
    assert opened[before:] == [], f"{case.name}: a request opened {opened[before:]}"
    endpoint, args = NORMAL[case.endpoint]
    after = run(endpoint, args)
    assert after.error is None, f"after {case.name}: {after.error}"


# -- through the handlers ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def python_runner(
    demo_config: DemoConfig, files: dict[str, Path], outside: Path, tmp_path_factory: pytest.TempPathFactory
) -> PythonRunner:
    return PythonRunner(demo_config, files, tmp_path_factory.mktemp("gradio-cache-python"), outside)


@pytest.mark.parametrize("case", [case.param() for case in CASES])
def test_python(python_runner: PythonRunner, case: Case, opened: list[str]) -> None:
    with pytest.MonkeyPatch.context() as patch:  # the module's upload folder, also while the app runs
        patch.setenv("GRADIO_TEMP_DIR", str(python_runner.cache))
        run_case(python_runner, case, opened)
    left = [p for p in python_runner.cache.rglob("*") if p.is_file()]
    assert not any(p.name in {f.name for f in python_runner.files.values()} for p in left), left


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # the test's own Image.open
def test_huge_photo_is_never_decoded_at_full_size(files: dict[str, Path], monkeypatch) -> None:
    """108 megapixels are decoded at 1/4 of each side (6.75 MP, 7 MB) and then made 2048 wide."""
    decoded: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> Any:
        decoded.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    assert Image.open(files["12000x9000"]).size == (12000, 9000)
    rgb = read_image(files["12000x9000"])
    assert rgb.shape == (1536, 2048, 3) and len(detect_faces(rgb)) == 1
    assert decoded and max(math.prod(size) for size in decoded) <= 3000 * 2250


def test_the_exif_case_needs_the_rotation(files: dict[str, Path], astronaut) -> None:
    """Stored sideways, the face is not found; read with its EXIF orientation, it is, upright."""
    with Image.open(files["exif"]) as stored:
        assert stored.size == (400, 512) and detect_faces(np.asarray(stored.convert("RGB"))) == []
    upright = read_image(files["exif"])
    assert upright.shape == (400, 512, 3) and len(detect_faces(upright)) == 1


# -- through the running app's API --------------------------------------------------------------------
@pytest.fixture(scope="module")
def api_runner(server: tuple[str, Path], files: dict[str, Path], outside: Path) -> ApiRunner:
    return ApiRunner(server[0], files, server[1], outside)


@pytest.mark.parametrize("case", [case.param() for case in CASES])
def test_api(api_runner: ApiRunner, case: Case, opened: list[str]) -> None:
    run_case(api_runner, case, opened)


@pytest.mark.parametrize(
    "payload",
    [{"path": "{outside}/secret.png", "meta": {"_type": "gradio.FileData"}}, "{outside}/secret.png"],
    ids=["marked-as-a-file", "a-bare-string"],
)
def test_api_payloads_that_gradio_refuses_itself(
    api_runner: ApiRunner, outside: Path, opened, payload
) -> None:
    """Payloads Gradio checks before the handler runs (its bare "Error"): refused, the file never opened."""
    filled = json.loads(json.dumps(payload).replace("{outside}", str(outside)))
    outcome = api_runner.raw("/swap", (filled, "happy", 1.0, "all", 1.0))
    assert outcome.error is not None and opened == []
    assert api_runner("/gallery", ("fer-multi", "happy", 1, 0.8, 0)).error is None
