"""How fast the live webcam mirror edits frames, where the time goes, and how still a still face stays.

    python -m bench.live                  # 2 threads; about 5 minutes on 2 cores
    python -m bench.live --threads 1,2
    python -m bench.live --quick          # under a minute: a smoke test, not numbers

The clips (bench/clips.py) are 640x480 webcam frames made from a real photo (../shared/photos where
present, else the astronaut): one face 200 px wide, or two 130 px wide, swaying 12 px once a
second with a 3-degree turn, with sensor noise. Measured, with the models in checkpoints/:

- in process: vae.live.LiveMirror edits the swaying clip, frame after frame, for 30 s (happy,
  amount 1, the tab's strength): frames per second sustained, median and 95th-percentile latency, and
  the time per stage (detect, landmarks, shape model, appearance model, edit); once on the main
  thread, once on a worker thread, as the app's server runs it (the two differ on a busy machine:
  docs/benchmarks.md, "Live webcam");
- through the app: `python app.py` on a free loopback port (torch at the same thread count) and a
  client here streaming the same frames to its live endpoint as the page does (JPEG data URLs,
  each frame sent once the last is answered), for 30 s: frames per second and the latency from
  sending a frame to receiving its edited frame; the client shares the cores with the server;
- a profile: the functions with the most own time on the worker thread (cProfile);
- stability, on a still clip (90 frames): how far the 68 landmarks move from frame to frame when
  fitted afresh on every frame (detector and landmarks: the raw fit), when tracked, and when
  tracked and smoothed (the mirror); how much the edited face's pixels change between frames; and
  on the swaying clip, the landmarks' error against where the face truly is, and their lag.

Targets, at 2 threads with one face: at least 15 frames per second sustained, p95 latency at most
120 ms, in process and through the app.
"""

from __future__ import annotations

import base64
import concurrent.futures
import cProfile
import itertools
import math
import os
import pstats
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.clips import FPS, Clip, photo
from bench.common import (
    REPO,
    describe,
    machine,
    markdown_table,
    meets,
    parser,
    set_threads,
    summarize,
    thread_counts,
    warn_if_busy,
    write_json,
)
from bench.server import SWAP_STRENGTH, DemoServer, FrameStream, GradioApi
from demo.swap import APPEARANCE_FILE, SHAPE_FILE
from vae.face_shape import eye_distance
from vae.landmarks import detect_faces, face_landmarks, gray
from vae.live import BETA, MIN_CUTOFF, LiveMirror, OneEuroFilter
from vae.photo_edit import ExpressionModels

MIN_FPS, MAX_P95_MS = 15.0, 120.0
SETTINGS = ("happy", 1.0, SWAP_STRENGTH)  # expression, amount, strength: the tab's amount and strength
FACE_WIDTHS = {1: 200, 2: 130}  # px: one face at arm's length; two people side by side, a step back
SWAY = 12.0  # px
LOOP = 30  # frames: two periods of the sway, repeated
STILL_FRAMES = 90
FILTER_CUTOFFS, FILTER_BETAS = (
    (0.5, 1.0, 2.0),
    (2.0, 4.0, 8.0, 16.0, 32.0),
)  # the grid the filter was chosen on
BROWSER_JPEG = 92  # the quality of a canvas's toDataURL("image/jpeg"), what the page sends


def unsmoothed() -> OneEuroFilter:
    """A landmark filter that lets every sample through (an infinite cutoff)."""
    return OneEuroFilter(min_cutoff=math.inf)


def clip(faces: int, sway: float = SWAY) -> Clip:
    return Clip.of(photo(faces)[1], face_width=FACE_WIDTHS[faces], sway=sway)


# -- speed --------------------------------------------------------------------------------------


def on_worker(fn: Any, *args: Any) -> Any:
    """`fn(*args)` on a new thread, as Gradio runs a handler; its result, or its exception."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args).result()


def threaded(fn: Any, threads: int) -> Any:
    """`fn` that first sets the calling thread's torch and OpenCV threads (a thread starts with the
    process's default)."""

    def run(*args: Any) -> Any:
        set_threads(threads)
        return fn(*args)

    return run


def in_process(models: ExpressionModels, frames: list[np.ndarray], seconds: float) -> dict[str, Any]:
    """The mirror over `frames`, looped, for `seconds` of wall time after a second's warm-up."""
    mirror = LiveMirror(models)
    for frame in frames[: round(FPS)]:
        mirror(frame, *SETTINGS)
    times, stages, faces = [], {}, []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        frame = frames[len(times) % len(frames)]
        t0 = time.perf_counter()
        result = mirror(frame, *SETTINGS)
        times.append(time.perf_counter() - t0)
        faces.append(len(result.boxes))
        for stage, spent in result.stages.items():
            stages[stage] = stages.get(stage, 0.0) + spent
    elapsed = time.perf_counter() - start
    per_frame = {stage: 1e3 * spent / len(times) for stage, spent in stages.items()}
    per_frame["other"] = 1e3 * sum(times) / len(times) - sum(per_frame.values())
    return {
        "fps": len(times) / elapsed,
        **summarize(times),
        "faces_seen": float(np.mean(faces)),
        "stage_ms": per_frame,
    }


def data_url(frame: np.ndarray) -> dict[str, Any]:
    """A frame as the page's webcam sends it: Gradio's image payload around a JPEG data URL."""
    _, jpeg = cv2.imencode(
        ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, BROWSER_JPEG]
    )
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii")
    return {"url": url, "path": None, "meta": {"_type": "gradio.FileData"}}


def through_app(url: str, frames: list[np.ndarray], seconds: float) -> dict[str, Any]:
    """The app's live endpoint fed `frames`, looped, one at a time, for `seconds` after a warm-up."""
    payloads = [data_url(frame) for frame in frames]
    with GradioApi(url) as api, FrameStream(api, "live") as stream:
        for payload in payloads[: round(FPS)]:
            stream.send(payload, *SETTINGS, None)
        times, statuses = [], set()
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            t0 = time.perf_counter()
            _, status, _ = stream.send(payloads[len(times) % len(payloads)], *SETTINGS, None)
            times.append(time.perf_counter() - t0)
            statuses.add(status)
        elapsed = time.perf_counter() - start
    return {"fps": len(times) / elapsed, **summarize(times), "statuses": sorted(statuses)}


def profile(models: ExpressionModels, frames: list[np.ndarray], rows: int = 15) -> list[dict[str, Any]]:
    """The functions with the most own time while the mirror edits `frames` (after a warm-up)."""
    mirror = LiveMirror(models)
    for frame in frames[: round(FPS)]:
        mirror(frame, *SETTINGS)
    profiler = cProfile.Profile()
    profiler.enable()
    for frame in frames:
        mirror(frame, *SETTINGS)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]
    ranked = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    return [
        {
            "function": _function_name(key),
            "calls": entry[1],
            "own_ms_per_frame": 1e3 * entry[2] / len(frames),
            "share": entry[2] / total,
        }
        for key, entry in ranked[:rows]
    ]


def _function_name(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":  # a built-in (OpenCV, numpy and torch kernels)
        return name
    path = Path(filename)
    where = path.relative_to(REPO) if path.is_relative_to(REPO) else Path(path.parent.name) / path.name
    return f"{where}:{line} {name}"


# -- stability ----------------------------------------------------------------------------------


def landmark_runs(models: ExpressionModels, still: Clip, frames: int) -> dict[str, list[np.ndarray | None]]:
    """The first face's landmarks on each frame: fitted afresh, tracked, tracked and smoothed."""
    runs: dict[str, list[np.ndarray | None]] = {"raw fit (detect + landmarks)": []}
    for i in range(frames):
        image = still.frame(i)
        boxes = detect_faces(image)
        runs["raw fit (detect + landmarks)"].append(face_landmarks(gray(image), boxes[0]) if boxes else None)
    for name, smoother in (("tracked", unsmoothed), ("tracked and smoothed (the mirror)", OneEuroFilter)):
        mirror = LiveMirror(models, smoother=smoother)
        runs[name] = [
            next(iter(mirror(still.frame(i), *SETTINGS, t=still.time(i)).landmarks), None)
            for i in range(frames)
        ]
    return runs


def jitter(points: list[np.ndarray | None]) -> float:
    """Mean movement (px) of the 68 landmarks between consecutive frames."""
    moves = [
        np.linalg.norm(b - a, axis=1).mean()
        for a, b in itertools.pairwise(points)
        if a is not None and b is not None
    ]
    return float(np.mean(moves)) if moves else math.nan


def tracking_error(swaying: Clip, points: list[np.ndarray | None]) -> dict[str, float]:
    """Mean distance (px) of the landmarks from where the face truly is, and their lag (ms): the
    delay that best explains the error by the face's motion (least squares), after a second."""
    start = round(FPS)
    kept = [i for i in range(start, len(points) - 1) if points[i] is not None]
    errors = np.array([points[i] - swaying.truth(i)[0] for i in kept])
    velocity = np.array([(swaying.truth(i + 1)[0] - swaying.truth(i - 1)[0]) * FPS / 2 for i in kept])
    return {
        "error_px": float(np.linalg.norm(errors, axis=2).mean()),
        "lag_ms": float(-1e3 * (errors * velocity).sum() / (velocity**2).sum()),
    }


def shimmer(models: ExpressionModels, still: Clip, frames: int) -> dict[str, float]:
    """Mean change (luma levels) of the face's pixels from frame to frame: in the still clip itself
    (its noise), and in the mirror's edited frames without and with smoothing."""
    points = still.truth(0)[0]
    x0, y0 = np.floor(points.min(0)).astype(int)
    x1, y1 = np.ceil(points.max(0)).astype(int)

    def change(images: list[np.ndarray]) -> float:
        faces = [gray(image)[y0:y1, x0:x1].astype(np.float32) for image in images]
        return float(np.mean([np.abs(b - a).mean() for a, b in itertools.pairwise(faces)]))

    result = {"the clip itself": change([still.frame(i) for i in range(frames)])}
    for name, smoother in (("edited, tracked", unsmoothed), ("edited, tracked and smoothed", OneEuroFilter)):
        mirror = LiveMirror(models, smoother=smoother)
        result[name] = change(
            [mirror(still.frame(i), *SETTINGS, t=still.time(i)).image for i in range(frames)]
        )
    return result


def filter_grid(still: Clip, swaying: Clip, runs: dict, moving: dict) -> list[dict[str, float]]:
    """The One Euro filter's settings against jitter and lag: each setting run over the raw fits of
    the still and the swaying clip (fitted afresh every frame, so every setting sees the same
    landmarks)."""
    raw = next(iter(runs))
    rows = []
    for min_cutoff in FILTER_CUTOFFS:
        for beta in FILTER_BETAS:
            smoothed = {}
            for name, clip_, fits in (("still", still, runs[raw]), ("swaying", swaying, moving[raw])):
                smoother = OneEuroFilter(min_cutoff, beta)
                smoothed[name] = [
                    None if p is None else smoother(p, clip_.time(i), unit=eye_distance(p))
                    for i, p in enumerate(fits)
                ]
            rows.append(
                {
                    "min_cutoff_hz": min_cutoff,
                    "beta": beta,
                    "still_jitter_px": jitter(smoothed["still"]),
                    **tracking_error(swaying, smoothed["swaying"]),
                }
            )
    return rows


def stability(models: ExpressionModels, frames: int) -> dict[str, Any]:
    still, swaying = clip(1, sway=0.0), clip(1)
    runs = landmark_runs(models, still, frames)
    moving = landmark_runs(models, swaying, frames)
    size = eye_distance(still.truth(0)[0])
    return {
        "eye_distance_px": size,
        "still_jitter_px": {name: jitter(points) for name, points in runs.items()},
        "swaying": {name: tracking_error(swaying, points) for name, points in moving.items()},
        "filter_settings": filter_grid(still, swaying, runs, moving),
        "shimmer": shimmer(models, still, frames),
    }


# -- the run ------------------------------------------------------------------------------------


def run(args: Any) -> dict[str, Any]:
    models = ExpressionModels.load(REPO / "checkpoints" / SHAPE_FILE, REPO / "checkpoints" / APPEARANCE_FILE)
    seconds = 1.0 if args.quick else 30.0
    clips = {faces: clip(faces) for faces in (1, 2)}
    loops = {faces: [c.frame(i) for i in range(LOOP)] for faces, c in clips.items()}
    result: dict[str, Any] = {
        "photos": {faces: photo(faces)[0] for faces in clips},
        "seconds": seconds,
        "load_before": os.getloadavg()[0],
    }
    speed = []
    for threads in args.thread_counts:
        set_threads(threads)
        for faces, frames in loops.items():
            row = {"threads": threads, "faces": faces}
            speed.append({"where": "in process, main thread", **row, **in_process(models, frames, seconds)})
            worker = on_worker(threaded(in_process, threads), models, frames, seconds)
            speed.append({"where": "in process, worker thread", **row, **worker})
        with DemoServer(threads=threads) as server:
            server.wait_until_served()
            for faces, frames in loops.items():
                row = {"where": "through the app", "threads": threads, "faces": faces}
                speed.append({**row, **through_app(server.url, frames, seconds)})
    result["speed"] = speed
    set_threads(args.thread_counts[-1])
    result["profile_threads"] = args.thread_counts[-1]
    profiled = threaded(profile, args.thread_counts[-1])
    result["profile"] = on_worker(profiled, models, loops[1] * (1 if args.quick else 4))
    result["stability"] = stability(models, 20 if args.quick else STILL_FRAMES)
    result["load_after"] = os.getloadavg()[0]
    return result


def report(result: dict[str, Any], info: dict[str, Any]) -> str:
    speed = markdown_table(
        ["where", "threads", "faces", "fps", "median ms", "p95 ms", "target (one face)"],
        [
            [
                r["where"],
                r["threads"],
                r["faces"],
                f"{r['fps']:.1f}",
                f"{r['median_ms']:.0f}",
                f"{r['p95_ms']:.0f}",
                f"{meets(r['fps'], MIN_FPS, at_most=False)}, {meets(r['p95_ms'], MAX_P95_MS)}"
                if r["faces"] == 1
                else "",
            ]
            for r in result["speed"]
        ],
    )
    in_process_rows = [r for r in result["speed"] if "stage_ms" in r]
    stage_names = sorted({name for r in in_process_rows for name in r["stage_ms"]}, key=_stage_order)
    stages = markdown_table(
        ["where", "threads", "faces", *[f"{name} ms" for name in stage_names]],
        [
            [r["where"], r["threads"], r["faces"], *[f"{r['stage_ms'].get(n, 0.0):.1f}" for n in stage_names]]
            for r in in_process_rows
        ],
    )
    top = markdown_table(
        ["function", "calls", "own ms per frame", "share"],
        [
            [p["function"], p["calls"], f"{p['own_ms_per_frame']:.2f}", f"{p['share']:.0%}"]
            for p in result["profile"]
        ],
    )
    stable = result["stability"]
    jitter_rows = [[name, f"{px:.2f}"] for name, px in stable["still_jitter_px"].items()]
    moving_rows = [
        [name, f"{e['error_px']:.2f}", f"{e['lag_ms']:.0f}"] for name, e in stable["swaying"].items()
    ]
    shimmer_rows = [[name, f"{value:.2f}"] for name, value in stable["shimmer"].items()]
    grid_rows = [
        [
            g["min_cutoff_hz"],
            g["beta"],
            f"{g['still_jitter_px']:.2f}",
            f"{g['error_px']:.2f}",
            f"{g['lag_ms']:.0f}",
        ]
        for g in stable["filter_settings"]
    ]
    return "\n\n".join(
        [
            f"{describe(info)}\nload average (1 min) before the run {result['load_before']:.2f}, "
            f"after it {result['load_after']:.2f}",
            f"photos: {result['photos']}; {result['seconds']:.0f} s per row",
            speed,
            "time per frame by stage, in process (other: the rest of the call)\n" + stages,
            f"profile, worker thread, one face, {result['profile_threads']} threads (cProfile)\n" + top,
            f"landmark jitter on a still clip (face {stable['eye_distance_px']:.0f} px between the eyes)\n"
            + markdown_table(["landmarks", "frame-to-frame movement px"], jitter_rows),
            "on the swaying clip\n" + markdown_table(["landmarks", "error px", "lag ms"], moving_rows),
            f"One Euro settings over the raw fits (the mirror: {MIN_CUTOFF} Hz, beta {BETA})\n"
            + markdown_table(
                ["min cutoff Hz", "beta", "still jitter px", "swaying error px", "lag ms"], grid_rows
            ),
            "the face's pixels from frame to frame, still clip\n"
            + markdown_table(["frames", "mean change (luma levels)"], shimmer_rows),
        ]
    )


def _stage_order(name: str) -> int:
    order = ["detect", "landmarks", "shape", "appearance", "edit", "other"]
    return order.index(name) if name in order else len(order)


def main(argv: list[str] | None = None) -> None:
    p = parser("live", __doc__)
    p.add_argument("--threads", type=thread_counts, default=[2], dest="thread_counts", help="e.g. 1,2")
    args = p.parse_args(argv)
    info = machine()
    warn_if_busy(info)
    result = run(args)
    print(report(result, info))
    write_json(Path(args.json), result, info)


if __name__ == "__main__":
    main()
