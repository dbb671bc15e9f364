"""Evaluation, the classifier CLI and slider directions on small synthetic data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from tests.broken import scrambled_decoder
from train import classifier as classifier_cli
from train import directions as directions_cli
from train import evaluate as evaluate_cli
from train import figures as figures_cli
from train import strength as strength_cli
from train.cli import main as train_main
from train.evaluate import reidentification
from vae import EXPRESSIONS
from vae.checkpoint import load_checkpoint, save_model
from vae.conv_vae import build_model
from vae.data import FaceData
from vae.latent import CodeDistribution
from vae.metrics import frechet_distance, psnr, sharpness_ratio, spectral_excess

VAE_EPOCHS = 8  # enough for the tiny VAE to draw faces that every number tells from an untrained one
TINY = [
    "--widths",
    "8,16,32,32",
    "--latent-dim",
    "16",
    "--batch-size",
    "32",
    "--threads",
    "1",
]


@pytest.fixture(scope="module")
def trained(fer_csv, tmp_path_factory):
    """A tiny multi-decoder model and a classifier trained one epoch each; a tiny single VAE trained
    long enough to draw faces, the same VAE untrained, and the trained one with its decoder's
    weights scrambled (it draws noise). About ten seconds: the tests that use it are marked slow."""
    root = tmp_path_factory.mktemp("trained")
    train_main(
        ["--data", str(fer_csv), "--out", str(root / "multi"), "--model", "multi", *TINY, "--epochs", "1"]
    )
    train_main(["--data", str(fer_csv), "--out", str(root / "vae"), *TINY, "--epochs", str(VAE_EPOCHS)])
    vae = load_checkpoint(root / "vae" / "model.safetensors").model
    torch.manual_seed(0)
    save_model(root / "untrained.safetensors", build_model(vae.config))
    save_model(root / "scrambled.safetensors", scrambled_decoder(vae))
    classifier_cli.main(
        [
            "--data",
            str(fer_csv),
            "--out",
            str(root / "classifier.safetensors"),
            "--epochs",
            "1",
            "--batch-size",
            "32",
        ]
    )
    return root


def judged(trained, fer_csv) -> list[str]:
    """The data and the judge, as every evaluation command below takes them."""
    return ["--data", str(fer_csv), "--classifier", str(trained / "classifier.safetensors")]


@pytest.mark.slow
def test_evaluate_reports_every_number_for_every_checkpoint(trained, fer_csv, capsys) -> None:
    out = trained / "results.json"
    models = [str(trained / "multi" / "model.safetensors"), str(trained / "vae" / "model.safetensors")]
    evaluate_cli.main([*models, *judged(trained, fer_csv), "--samples", "64", "--json", str(out)])
    multi, single = json.loads(out.read_text())
    for result in (multi, single):
        assert result["faces"] == 56
        assert_in_range(result)
    assert set(multi["swap_accuracy_per_target"]) == {
        "angry",
        "disgust",
        "fear",
        "happy",
        "sad",
        "surprise",
        "neutral",
    }
    assert 0 <= multi["swap_accuracy"] <= 1
    assert set(multi["spectral_excess_swaps_per_target"]) == set(multi["swap_accuracy_per_target"])
    assert min(multi["spectral_excess_swaps_per_target"].values()) >= 0
    real = multi["classifier_accuracy_on_real_per_expression"]
    assert set(real) == set(multi["swap_accuracy_per_target"])
    present = [v for v in real.values() if v is not None]  # None: no held-out face has it
    assert multi["classifier_mean_accuracy_on_real"] == pytest.approx(sum(present) / len(present))
    assert "swap_accuracy" not in single
    printed = capsys.readouterr().out
    assert "| model |" in printed and "swap accuracy per target" in printed


# Each number of `python -m train.evaluate` that is a distance, a ratio or a divergence: never negative.
FRECHET = ("fd_samples", "fd_samples_fitted", "fd_recon")
SHARPNESS = ("sharpness_samples", "sharpness_samples_fitted", "sharpness_recon")
EXCESS = ("spectral_excess_samples", "spectral_excess_samples_fitted", "spectral_excess_recon")
NONNEGATIVE = ("kl", *FRECHET, *SHARPNESS, *EXCESS)


def assert_in_range(result: dict[str, float], latent_dim: int = 16) -> None:
    """Every number `python -m train.evaluate` reports for a model: finite and within its range."""
    for key in ("neg_elbo", "nll", "bits_per_dim", "mse", "psnr", *NONNEGATIVE):
        assert math.isfinite(result[key]), key
    for key in NONNEGATIVE:
        assert result[key] >= 0, key
    assert result["neg_elbo"] == pytest.approx(result["nll"] + result["kl"])
    assert result["bits_per_dim"] > 0
    assert 0 < result["mse"] <= 4  # pixels in [-1, 1]
    assert 0 < result["psnr"] <= 10 * math.log10(4 / 1e-10)  # psnr caps the MSE of identical images
    assert isinstance(result["active_units"], int) and 0 <= result["active_units"] <= latent_dim


@pytest.mark.slow
def test_every_number_is_better_for_a_trained_model_than_an_untrained_one(trained, fer_csv) -> None:
    """Each number moves the right way from an untrained VAE (flat grey faces) to the same VAE
    trained; the sharpness and the spectral excess also from the trained VAE with its decoder
    scrambled (noise)."""
    out = trained / "quality.json"
    models = [
        str(trained / name)
        for name in ("vae/model.safetensors", "untrained.safetensors", "scrambled.safetensors")
    ]
    evaluate_cli.main([*models, *judged(trained, fer_csv), "--samples", "64", "--json", str(out)])
    results = json.loads(out.read_text())
    for result in results:
        assert_in_range(result)
    good, untrained, scrambled = results
    for key in ("neg_elbo", "bits_per_dim", "mse", *FRECHET):
        assert good[key] < untrained[key], key
    assert good["bits_per_dim"] < 8 < untrained["bits_per_dim"]  # 8: uniform over the 256 grey levels
    assert good["psnr"] > untrained["psnr"]
    assert good["active_units"] > untrained["active_units"]
    for key in SHARPNESS:  # 1: as sharp as real faces; flat faces are far below, noise far above
        assert abs(math.log(good[key])) < min(abs(math.log(untrained[key])), abs(math.log(scrambled[key])))
    # Blur is no texture: flat faces have no frequency stronger than real ones. Faces drawn from
    # where the codes lie follow the real faces' spectrum closer than noise does (samples from
    # the prior of so small a model carry textures of their own).
    assert [untrained[key] for key in EXCESS] == [0, 0, 0]
    for key in ("spectral_excess_samples_fitted", "spectral_excess_recon"):
        assert good[key] < scrambled[key], key


@pytest.mark.slow
def test_swaps_at_strength_zero_are_at_chance(trained, fer_csv) -> None:
    """At strength 0 every decoder draws the same face, so exactly one target in 7 can be right."""
    out = trained / "strength0.json"
    multi = str(trained / "multi" / "model.safetensors")
    common = [*judged(trained, fer_csv), "--samples", "64"]
    evaluate_cli.main([multi, *common, "--strength", "0", "--json", str(out)])
    (result,) = json.loads(out.read_text())
    assert result["swap_strength"] == 0 and result["fd_swaps"] >= 0
    assert result["swap_accuracy"] == pytest.approx(1 / 7)
    # The photo's detail is the same for every decoder, so it cannot lift one target above another.
    evaluate_cli.main([multi, *common, "--strength", "0", "--detail", "0.75", "--json", str(out)])
    (detailed,) = json.loads(out.read_text())
    assert detailed["swap_detail"] == 0.75 and detailed["swap_accuracy"] == pytest.approx(1 / 7)
    assert detailed["sharpness_swaps"] > result["sharpness_swaps"]
    for bad in (["--strength", "4"], ["--detail", "-1"]):
        with pytest.raises(SystemExit):
            evaluate_cli.main([multi, *common, *bad])


@pytest.mark.slow
def test_strength_sweep_gives_one_row_per_strength(trained, fer_csv, capsys) -> None:
    out = trained / "sweep.json"
    judge = [*judged(trained, fer_csv), "--split", "test"]
    multi = str(trained / "multi" / "model.safetensors")
    strength_cli.main([multi, *judge, "--strengths", "0,1.5", "--detail", "0.75", "--json", str(out)])
    flat, strong = json.loads(out.read_text())
    assert flat["swap_strength"] == 0 and flat["swap_accuracy"] == pytest.approx(1 / 7)
    assert flat["swap_detail"] == strong["swap_detail"] == 0.75
    assert strong["swap_strength"] == 1.5 and set(strong["swap_accuracy_per_target"]) == set(EXPRESSIONS)
    table = capsys.readouterr().out
    assert "| 1.5 |" in table and "| excess |" in table
    assert f"| {strong['spectral_excess_swaps']:.4f} |" in table
    with pytest.raises(SystemExit) as refused:
        strength_cli.main([str(trained / "vae" / "model.safetensors"), *judge])
    assert refused.value.code == 2 and "not a multi-decoder model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        strength_cli.main([multi, *judge, "--strengths", "1,9"])


def test_reidentification_finds_sources_and_the_mean_face_is_at_chance() -> None:
    torch.manual_seed(0)
    sources = torch.rand(50, 1, 48, 48)
    assert reidentification(sources, sources + 0.01 * torch.randn_like(sources))[0] == 1.0
    mean_face = sources.mean(0, keepdim=True).expand_as(sources)
    assert reidentification(sources, mean_face)[0] <= 0.05


@pytest.mark.slow
def test_directions_are_stored_in_the_checkpoint(trained, fer_csv) -> None:
    path = trained / "multi" / "model.safetensors"
    directions_cli.main([str(path), "--data", str(fer_csv), "--principal", "4"])
    checkpoint = load_checkpoint(path)
    names = checkpoint.metadata["direction_names"]
    assert names[:4] == ["PC1", "PC2", "PC3", "PC4"] and "happy" in names
    directions = checkpoint.extras["directions"]
    assert directions.shape == (len(names), 16)
    assert torch.allclose(directions.norm(dim=1), torch.ones(len(names)), atol=1e-4)
    assert (checkpoint.extras["direction_scales"] > 0).all()
    codes = CodeDistribution.of(checkpoint)  # fitted where the training codes lie, not the prior
    assert not torch.equal(codes.scale_tril, torch.eye(16))
    assert torch.allclose(codes.scale_tril, codes.scale_tril.tril())


def test_age_and_gender_directions_are_fitted_together() -> None:
    """UTKFace-style attributes: children and unknown genders left out, each label's own shift kept."""
    torch.manual_seed(0)
    n = 3000
    age = torch.randint(1, 90, (n,))
    older = age >= 50
    gender = torch.where(torch.rand(n) < torch.where(older, 0.3, 0.8), 1, 0)
    gender[:50] = -1  # unknown
    codes = 0.3 * torch.randn(n, 6)
    codes[:, 0] += 2.0 * older
    codes[:, 1] += 2.0 * (gender == 1)
    codes[age < 18, 2] += 5.0  # children differ along an axis the adult sliders must not pick up
    data = FaceData(
        images=torch.zeros(n, 1, 4, 4, dtype=torch.uint8),
        labels=torch.full((n,), -1),
        attributes={"age": age, "gender": gender},
        label_names=(),
        source="synthetic",
    )
    names, directions = directions_cli.compute_directions(codes, data, principal=2)
    assert names == ["PC1", "PC2", "older", "female"]
    assert directions[2, 0] > 0.99 and directions[3, 1] > 0.99


def test_image_metrics() -> None:
    x = torch.rand(8, 1, 16, 16) * 2 - 1
    assert psnr(x, x).min() > 90, "identical images: capped, not infinite"
    assert float(psnr(x, x + 0.1).mean()) == pytest.approx(10 * math.log10(4 / 0.01), rel=1e-4)
    features = torch.randn(500, 4)
    assert frechet_distance(features, features) == pytest.approx(0, abs=1e-6)
    assert frechet_distance(features, features + 2) == pytest.approx(16, rel=1e-3)
    blurred = torch.nn.functional.avg_pool2d(x, 3, 1, 1)
    assert sharpness_ratio(blurred, x) < 0.5


def test_spectral_excess_sees_textures_not_blur() -> None:
    """Stripes raise it, blur does not; sharpness would call the striped faces the better ones."""
    real = torch.nn.functional.avg_pool2d(torch.rand(64, 1, 32, 32) * 2 - 1, 5, 1, 2)
    blurred = torch.nn.functional.avg_pool2d(real, 3, 1, 1)
    stripes = 0.3 * torch.cos(torch.arange(32.0) * torch.pi / 2).view(1, 1, 32, 1)
    striped = blurred + stripes
    assert spectral_excess(real, real) == pytest.approx(0, abs=1e-6)
    assert spectral_excess(blurred, real) < 0.01
    assert spectral_excess(striped, real) > 10 * spectral_excess(blurred, real) + 0.01
    assert sharpness_ratio(striped, real) > sharpness_ratio(blurred, real)


@pytest.mark.slow
def test_figures_are_drawn_for_both_model_kinds(trained, fer_csv, tmp_path, capsys) -> None:
    for kind in ("multi", "vae"):
        figures_cli.main(
            [str(trained / kind / "model.safetensors"), "--data", str(fer_csv), "--out", str(tmp_path)]
        )
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert names == [
        "model-astronaut.png",
        "model-expressions.png",
        "model-reconstructions.png",
        "model-samples.png",
    ]
    for name in names:
        with Image.open(tmp_path / name) as image:
            assert min(image.size) > 100 and len(np.unique(np.asarray(image.convert("L")))) > 16


def test_ferplus_model_is_judged_on_the_labels_it_was_trained_on(fer_csv, tmp_path) -> None:
    """Its faces go through the decoders of their FER+ labels; faces no vote calls an expression drop out."""
    data = tmp_path / "fer2013.csv"
    data.write_bytes(fer_csv.read_bytes())
    with data.open() as f:
        usages = [row.rsplit(",", 1)[1].strip() for row in f.readlines()[1:]]
    votes = ["0,10,0,0,0,0,0,0,0,0" if i % 4 else "0,0,0,0,0,0,0,0,0,10" for i in range(len(usages))]
    header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
    rows = [f"{usage},fer{i:07d}.png,{v}" for i, (usage, v) in enumerate(zip(usages, votes))]
    (tmp_path / "fer2013new.csv").write_text("\n".join([header, *rows]) + "\n")
    train_main(
        [
            "--data",
            str(data),
            "--labels",
            "ferplus",
            "--out",
            str(tmp_path / "run"),
            "--model",
            "multi",
            *TINY,
            "--epochs",
            "1",
        ]
    )
    for labels, faces in (("ferplus", 42), ("fer", 56)):  # 56 PrivateTest rows, every 4th not a face
        asked = None if labels == "ferplus" else labels
        result = evaluate_cli.evaluate(
            tmp_path / "run" / "model.safetensors", str(data), "test", None, 10, 0, asked
        )
        assert (result["labels"], result["faces"]) == (labels, faces)
