import torch

from vae.latent import interpolate, labelled_direction, principal_directions, sample_latents, slerp


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
    direction = labelled_direction(codes, positive)
    assert direction[2] > 0.95


def test_slerp_ends_at_both_codes_and_keeps_the_radius() -> None:
    a, b = torch.randn(64), torch.randn(64)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-5)
    assert torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    a, b = a / a.norm() * 8, b / b.norm() * 8
    assert abs(float(slerp(a, b, 0.5).norm()) - 8) < 1e-3
    path = interpolate(a, b, 5)
    assert path.shape == (5, 64)
