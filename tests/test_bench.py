"""The bench scripts still run: each in its --quick mode (seconds), checked for a complete JSON report.

These check that the scripts work, not how fast anything is: timings belong in the scripts' own
reports (README: Benchmarks), never in assertions.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from demo.swap import APPEARANCE_FILE, SHAPE_FILE
from tests.conftest import REPO

pytest_plugins = ["tests.test_demo_support"]
pytestmark = pytest.mark.slow
EXPRESSION_MODELS = all((REPO / "checkpoints" / name).is_file() for name in (SHAPE_FILE, APPEARANCE_FILE))
NO_EXPRESSION_MODELS = f"the expression models ({SHAPE_FILE}, {APPEARANCE_FILE}) are not in checkpoints/"


def run_bench(name: str, tmp_path: Path, *options: str) -> dict[str, Any]:
    report = tmp_path / f"{name}.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", f"bench.{name}", "--quick", "--json", str(report), *options]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "|---|" in done.stdout, "no table printed"
    result = json.loads(report.read_text())
    assert result["command"].startswith(f"python -m bench.{name}")
    assert result["machine"]["cores"] >= 1 and result["machine"]["torch"]
    return result


def positive(value: Any) -> bool:
    return (
        isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
    )


def assert_timed(stats: dict[str, Any]) -> None:
    assert stats["n"] >= 1
    for key in ("median_ms", "p95_ms", "mean_ms"):
        assert positive(stats[key]), f"{key} = {stats[key]!r}"


def test_inference(tmp_path: Path) -> None:
    result = run_bench("inference", tmp_path, "--threads", "1")
    tasks = {(r["task"], r["model"], r["layout"]) for r in result["rows"]}
    for model in ("fer-multi", "utkface-vae"):
        for task in ("decode 1", "decode 64", "encode 1"):
            assert (task, model, "contiguous") in tasks and (task, model, "channels_last") in tasks
    for row in result["rows"]:
        assert_timed(row)
        if "gflop" in row:
            assert positive(row["gflop"]) and positive(row["x_limit"])
    assert len(result["swaps"]) == EXPRESSION_MODELS  # the demo's handler needs them
    if not EXPRESSION_MODELS:
        assert "could not be loaded" in result["skipped"]["swap (demo handler, from file)"]
    for swap in result["swaps"]:
        assert_timed(swap)
    assert positive(result["matmul_gflops"]["1"])
    assert result["targets"] == {"decode_one_ms": 3.0, "swap_ms": 250.0}


def test_app(tmp_path: Path, tiny_checkpoints: Path) -> None:
    result = run_bench("app", tmp_path, "--server-threads", "1", "--checkpoints", str(tiny_checkpoints))
    assert 0 < result["cold_start"]["page_s"] <= result["cold_start"]["first_api_s"]
    assert positive(result["memory_after_start"]["rss_mib"])
    assert result["memory_end"]["peak_rss_mib"] >= result["memory_after_start"]["rss_mib"]
    scenarios = result["scenarios"]
    assert set(scenarios) == {"slider_1_client", "swap_1_client", "slider_3_clients", "swap_3_clients"}
    for name, scenario in scenarios.items():
        assert scenario["errors"] == 0, f"{name}: {scenario['error_kinds']}"
        assert scenario["ok"] == scenario["requests"]
        assert_timed(scenario)


@pytest.mark.skipif(not EXPRESSION_MODELS, reason=NO_EXPRESSION_MODELS)
def test_live(tmp_path: Path) -> None:
    result = run_bench("live", tmp_path, "--threads", "1")
    rows = {(r["where"], r["faces"]) for r in result["speed"]}
    for where in ("in process, main thread", "in process, worker thread", "through the app"):
        assert {(where, 1), (where, 2)} <= rows
    for row in result["speed"]:
        assert_timed(row)
        assert positive(row["fps"])
    assert {"edit", "landmarks", "shape"} <= set(result["speed"][0]["stage_ms"])
    assert result["profile"] and all(positive(p["own_ms_per_frame"]) for p in result["profile"])
    stable = result["stability"]
    assert len(stable["still_jitter_px"]) == 3 and all(map(positive, stable["still_jitter_px"].values()))
    assert len(stable["filter_settings"]) == 15 and len(stable["shimmer"]) == 3


def test_training(tmp_path: Path) -> None:
    # The large128 preset (102M parameters at 64x64) costs seconds per step even in --quick: left out.
    result = run_bench("training", tmp_path, "--threads", "1", "--models", "default,vanilla,multi")
    timed = [r for r in result["rows"] if "skipped" not in r]
    models = {(r["model"], r["size"], r["layout"], r["precision"]) for r in timed}
    assert ("FaceVAE default", 64, "channels_last", "fp32") in models
    assert ("VanillaVAE", 48, "contiguous", "fp32") in models
    for precision in ("fp32", "bf16"):
        assert ("FaceVAE multi (FER)", 48, "channels_last", precision) in models
    for row in timed:
        assert_timed(row)
        for key in ("images_per_s", "gflop_per_image", "achieved_gflops", "vs_vanilla", "parameters"):
            assert positive(row[key]), f"{row['model']} {key} = {row.get(key)!r}"
    assert set(result["profiles"]) == {"FaceVAE default", "VanillaVAE"}


def test_quality(tmp_path: Path, fer_csv: Path) -> None:
    result = run_bench("quality", tmp_path, "--data", str(fer_csv), "--out", str(tmp_path / "runs"))
    scores = result["scores"]
    for model in ("facevae", "vanilla"):
        for key in ("mse", "psnr", "steps", "parameters", "output_scale"):
            assert positive(scores[model][key]), f"{model} {key} = {scores[model].get(key)!r}"
        assert math.isfinite(scores[model]["neg_elbo"])
    assert positive(scores["vanilla"]["implied_output_scale"])
    assert positive(scores["mse_ratio"]) and scores["test_faces"] == 56
    assert len(result["training"]["commands"]["facevae"]) > 3


def test_bench_requests_match_the_page() -> None:
    """The HTTP benches send what the page sends; a changed demo setting must change them too."""
    from bench.server import SLIDER_RANGE, SLIDERS, SWAP_STRENGTH
    from demo.config import DemoConfig

    config = DemoConfig()
    assert config.max_sliders == SLIDERS and config.swap_strength == SWAP_STRENGTH
    assert config.slider_range == SLIDER_RANGE


def test_detectors(tmp_path: Path) -> None:
    """The cases built from scikit-image alone (the data and photos are pointed at empty paths)."""
    pytest.importorskip("dlib", reason="dlib-bin is not installed (requirements.txt)")
    missing = tmp_path / "absent"
    result = run_bench("detectors", tmp_path, "--data", str(missing), "--photos", str(missing / "photos"))
    detectors = {"Haar", "HOG", "HOG 2-pass"}
    rows = {row["case"]: row for row in result["rows"]}
    kinds = [name.split(":")[0] for name in rows]
    turned = [f"turned {angle} deg" for angle in ("-30", "-15", "+0", "+15", "+30")]
    assert kinds == [*turned, "small", "small", "small", "small", "no face"]
    for row in result["rows"]:
        assert set(row["detectors"]) == detectors
        for stats in row["detectors"].values():
            assert stats["found"] + stats["missed"] == row["faces"] and stats["false_positives"] >= 0
            assert len(stats["missed_sides"]) == stats["missed"]
            assert sum(stats["false_positives_by_photo"].values()) == stats["false_positives"]
            assert positive(stats["median_ms"])
            if stats["found"]:
                assert 0.5 <= stats["box_side_over_true_median"] <= 2
    upright = rows["turned +0 deg: astronaut + 0 UTKFace"]
    assert all(upright["detectors"][name]["found"] == 1 for name in detectors)
    assert rows["no face: scikit-image scenes (long side 1200)"]["faces"] == 0
    assert len(result["skipped"]) == 4 and all(str(missing) in line for line in result["skipped"])


def test_detector_hits() -> None:
    """A hit's centre lies in the true box and its side is within a factor 2; one detection per face."""
    from bench.detectors import is_hit, match

    truth = (100, 100, 100, 100)
    assert is_hit(truth, (120, 130, 80, 80)) and is_hit(truth, (60, 60, 190, 190))
    assert not is_hit(truth, (190, 100, 100, 100))  # centre outside
    assert not is_hit(truth, (140, 140, 20, 20)) and not is_hit(truth, (0, 0, 320, 320))  # size off
    assert match([truth], [(0, 0, 10, 10), (110, 110, 90, 90), (102, 98, 96, 104)]) == [(0, 2)]  # nearest
    assert match([truth, (400, 100, 100, 100)], [(110, 110, 90, 90)]) == [(0, 0)]
