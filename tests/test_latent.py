import pytest
import torch

from vae.checkpoint import CheckpointError, load_checkpoint, save_model
from vae.config import ModelConfig
from vae.conv_vae import build_model
from vae.latent import (
    CodeDistribution,
    interpolate,
    labelled_directions,
    principal_directions,
    sample_latents,
    slerp,
)


def test_same_seed_same_latents() -> None:
    assert torch.equal(sample_latents(4, 8, 0.8, seed=3), sample_latents(4, 8, 0.8, seed=3))
    assert not torch.equal(sample_latents(4, 8, seed=3), sample_latents(4, 8, seed=4))
    assert torch.allclose(sample_latents(4, 8, 0.5, seed=3), 0.5 * sample_latents(4, 8, 1.0, seed=3))


def test_principal_directions_find_the_axis_of_largest_spread() -> None:
    torch.manual_seed(0)
    codes = torch.randn(500, 6) * torch.tensor([0.1, 3.0, 0.1, 1.0, 0.1, 0.1])
    directions, std = principal_directions(codes, 2)
    assert directions[0, 1].abs() > 0.99 and directions[1, 3].abs() > 0.99
    assert 2.7 < std[0] < 3.3
    assert torch.allclose(directions.norm(dim=1), torch.ones(2))


def test_labelled_direction_points_from_negatives_to_positives() -> None:
    codes = torch.randn(200, 4)
    positive = torch.arange(200) < 100
    codes[positive, 2] += 5
    direction = labelled_directions(codes, positive)[0]
    assert direction[2] > 0.95
    difference = codes[positive].mean(0) - codes[~positive].mean(0)  # one label: the mean step
    assert torch.allclose(direction, difference / difference.norm(), atol=1e-5)
    with pytest.raises(ValueError, match="both with and without"):
        labelled_directions(codes, torch.ones(200))


def test_labels_that_go_together_do_not_carry_each_other() -> None:
    """Older faces are more often male here; fitted together, 'older' keeps the gender."""
    torch.manual_seed(0)
    older = torch.rand(4000) < 0.5
    female = torch.rand(4000) < torch.where(older, 0.3, 0.8)
    codes = 0.3 * torch.randn(4000, 6)
    codes[:, 0] += 2.0 * older
    codes[:, 1] += 2.0 * female
    alone = labelled_directions(codes, older)[0]
    assert alone[1] < -0.3, "fitted alone, 'older' also points away from 'female'"
    together = labelled_directions(codes, torch.stack([older, female], 1))
    assert together[0, 0] > 0.99 and together[1, 1] > 0.99


def test_slerp_ends_at_both_codes_and_keeps_the_radius() -> None:
    a, b = torch.randn(64), torch.randn(64)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5)
    assert torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    a, b = a / a.norm() * 8, b / b.norm() * 8
    assert abs(float(slerp(a, b, 0.5).norm()) - 8) < 1e-3
    path = interpolate(a, b, 5)
    assert path.shape == (5, 64)


def test_fitted_code_distribution_matches_the_aggregate_posterior() -> None:
    """Mean of the means; covariance of the means plus the mean posterior variance."""
    torch.manual_seed(0)
    mixing = torch.tensor([[2.0, 0.0, 0.0], [1.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    mu = torch.randn(20_000, 3) @ mixing.T + torch.tensor([3.0, -1.0, 0.5])
    logvar = torch.full_like(mu, 2 * torch.tensor(0.5).log().item())  # posterior std 0.5
    fitted = CodeDistribution.fit(mu, logvar)
    samples = fitted.sample(40_000, seed=1)
    assert torch.allclose(samples.mean(0), torch.tensor([3.0, -1.0, 0.5]), atol=0.05)
    expected = mixing @ mixing.T + 0.25 * torch.eye(3)
    assert torch.allclose(torch.cov(samples.T), expected, atol=0.1)
    assert torch.allclose(
        fitted.sample(5, 0.5, seed=2) - fitted.mean, 0.5 * (fitted.sample(5, seed=2) - fitted.mean)
    )
    autoencoder = CodeDistribution.fit(mu[:, :1].expand(-1, 2).contiguous())  # rank 1, no variances
    assert torch.isfinite(autoencoder.sample(4, seed=0)).all()


def test_spread_is_the_standard_deviation_along_each_direction() -> None:
    covariance = torch.tensor([[4.0, 1.0], [1.0, 2.0]])
    codes = CodeDistribution(torch.zeros(2), torch.linalg.cholesky(covariance))
    diagonal = torch.nn.functional.normalize(torch.tensor([1.0, 1.0]), dim=0)
    directions = torch.stack([torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), diagonal])
    expected = torch.tensor([2.0, 2.0**0.5, (diagonal @ covariance @ diagonal).sqrt()])
    assert torch.allclose(codes.spread(directions), expected)
    samples = codes.sample(40_000, seed=0) @ directions.T
    assert torch.allclose(samples.std(0), expected, rtol=0.02)


def test_the_prior_samples_exactly_as_sample_latents() -> None:
    assert torch.equal(CodeDistribution.prior(8).sample(4, 0.8, seed=3), sample_latents(4, 8, 0.8, seed=3))


def test_code_distribution_round_trips_through_a_checkpoint(tmp_path) -> None:
    model = build_model(ModelConfig(image_size=48, channels=1, widths=(8, 16, 32, 32), latent_dim=16))
    fitted = CodeDistribution.fit(torch.randn(100, 16) * 2 + 1)
    path = tmp_path / "model.safetensors"
    save_model(path, model, extras=fitted.as_extras())
    loaded = CodeDistribution.of(load_checkpoint(path))
    assert torch.equal(loaded.mean, fitted.mean) and torch.equal(loaded.scale_tril, fitted.scale_tril)
    save_model(path, model)
    assert torch.equal(CodeDistribution.of(load_checkpoint(path)).scale_tril, torch.eye(16))  # none stored
    save_model(path, model, extras=CodeDistribution.fit(torch.randn(100, 8)).as_extras())
    with pytest.raises(CheckpointError, match="code distribution"):
        CodeDistribution.of(load_checkpoint(path))
