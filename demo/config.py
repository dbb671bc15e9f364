"""Every setting of the demo in one place, so tests and Spaces change them without touching the UI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vae.images import ImageLimits
from vae.photo_edit import DEFAULT_STRENGTH

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class DemoConfig:
    checkpoint_dir: Path = REPO / "checkpoints"
    limits: ImageLimits = field(default_factory=ImageLimits)  # uploads: bytes, pixels, longest side
    # Requests run in parallel per event. Decoding one face takes milliseconds, a swap well under a
    # second on two cores: a few at once keeps sliders live for several users without thrashing.
    concurrency: int = 4
    max_queue: int = 64  # requests waiting beyond this are refused with a "too busy" message
    # (frequency, age) in seconds: outputs (faces drawn from users' photos included) leave Gradio's
    # cache this soon; uploads themselves are deleted as soon as they are read.
    cache_cleanup: tuple[int, int] = (60, 300)
    # Gradio keeps each browser session's state (a swap's photo is about 1 MB) until this many
    # sessions exist, then drops the oldest: 200 bounds that memory to a few hundred MB.
    max_sessions: int = 200
    photo_ttl: int = 600  # seconds an uploaded photo stays in memory for re-rendering a swap
    swap_strength: float = DEFAULT_STRENGTH  # the expression tab's starting strength
    # Live webcam: frames the page sends per second at most (the server answers the latest one and
    # skips any that arrive while it is busy), and seconds a tab's face tracks stay in memory after
    # its last frame.
    live_fps: float = 20.0
    live_ttl: int = 60
    max_sliders: int = 16  # slider widgets per model; further stored directions are not shown
    # Sliders span -range..range in units of the spread of the training codes along each direction
    # (vae.latent.CodeDistribution.spread): +-2 holds about 95% of the training faces. At +-3 faces
    # washed out to white or black on both models, at +-2 they stay faces (looked at, from the mean
    # face and from random ones).
    slider_range: float = 2.0
    slider_step: float = 0.05  # every continuous slider's step (directions, intensity, strength, temperature)
    explore_temperature: float = 0.8  # "Random" start: a typical face, not an extreme one
    gallery_max: int = 64
    # Gallery: the spread of the sampled codes, as a share of the training codes' spread. Above 1 the
    # codes leave where the training faces lie and the faces melt (looked at, both models, up to 1.5).
    temperature_range: tuple[float, float] = (0.2, 1.0)
    morph_max_frames: int = 24
    # The morph opens between these random faces: on the colour model a toddler and a grown, smiling
    # man (looked at among seeds 0..23), so the path shows a change.
    morph_seeds: tuple[int, int] = (0, 20)
    face_size: int = 256  # pixels a single face is shown at (models draw 48 or 64)
    tile_size: int = 96  # pixels of one face in a gallery grid or morph strip
    # Pixels of a face in the expression tab's strip. Cut from the user's photo, not drawn by a 48 px
    # model, so they stay sharp where the page shows them (about 140 px wide on a desktop); a tile
    # costs the square of its side (the seven at 160 about twice what they cost at 96).
    strip_size: int = 160
    # Pixels of the expression tab's close-up of the edited face, before and after: a face small in
    # its photo (a full-length shot) shows its change there.
    closeup_size: int = 320
