import math

import pytest
import torch

from vae.config import ModelConfig
from vae.losses import (
    LossConfig,
    active_units,
    bits_per_dim,
    kl_per_unit,
    kl_weight,
    reconstruction_nll,
    vae_loss,
)
from vae.models import build_model
from vae.wavelet import haar_levels


def test_kl_matches_closed_form_and_monte_carlo() -> None:
    torch.manual_seed(0)
    mu, logvar = torch.randn(3, 5), torch.randn(3, 5) * 0.5
    sigma = torch.exp(0.5 * logvar)
    closed = 0.5 * (sigma**2 + mu**2 - 1 - torch.log(sigma**2))
    assert torch.allclose(kl_per_unit(mu, logvar), closed)
    q = torch.distributions.Normal(mu, sigma)
    z = q.sample((200_000,))
    monte_carlo = (q.log_prob(z) - torch.distributions.Normal(0, 1).log_prob(z)).mean(0)
    assert torch.allclose(kl_per_unit(mu, logvar), monte_carlo, atol=0.02)
    assert torch.allclose(
        kl_per_unit(mu, logvar),
        torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)),
        atol=1e-5,
    )


def test_reconstruction_nll_is_a_proper_density_summed_over_pixels() -> None:
    x, recon = torch.randn(2, 1, 4, 4), torch.randn(2, 1, 4, 4)
    log_scale = torch.tensor(math.log(0.3))
    gaussian = torch.distributions.Normal(recon, 0.3).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(reconstruction_nll(x, recon, log_scale), -gaussian, atol=1e-4)
    laplace = torch.distributions.Laplace(recon, 0.3).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(reconstruction_nll(x, recon, log_scale, "laplace"), -laplace, atol=1e-4)


def test_kl_warmup_and_free_bits() -> None:
    config = LossConfig(beta=2.0, warmup_steps=100)
    assert kl_weight(0, config) == 0.0
    assert kl_weight(50, config) == 1.0
    assert kl_weight(500, config) == 2.0
    model = build_model(ModelConfig(image_size=48, channels=1, latent_dim=8)).train()
    out = model(torch.rand(4, 1, 48, 48))
    out.mu.data.zero_()
    out.logvar.data.zero_()  # posterior == prior: KL is 0, free bits lift it to latent_dim * lambda
    terms = vae_loss(torch.rand(4, 1, 48, 48), out, "gaussian", LossConfig(free_bits=0.5))
    assert float(terms.kl.detach()) == 0.0
    assert math.isclose(float((terms.loss - terms.nll).detach()), 8 * 0.5, rel_tol=1e-5)


def test_seed_loss_averages_mse_and_weights_kl_by_1_7() -> None:
    model = build_model(ModelConfig(image_size=48, channels=1, latent_dim=8)).train()
    x = torch.rand(4, 1, 48, 48)
    out = model(x)
    terms = vae_loss(x, out, "gaussian", LossConfig(kind="seed"))
    assert torch.allclose(terms.loss, terms.mse + 1.7 * terms.kl)


def test_bits_per_dim_counts_the_8bit_bin() -> None:
    # A uniform density over [-1, 1] gives each of the 255 bins of width 2/255 mass 1/255.
    assert math.isclose(bits_per_dim(100 * math.log(2.0), 100), math.log2(255), rel_tol=1e-9)


def test_active_units_counts_units_that_vary_across_faces() -> None:
    mu = torch.zeros(100, 4)
    mu[:, 0] = torch.randn(100)
    mu[:, 1] = torch.randn(100) * 0.01
    assert active_units(mu) == 1


def test_calibrated_scale_is_the_batch_maximum_likelihood_scale() -> None:
    model = build_model(ModelConfig(image_size=48, channels=1, latent_dim=8)).train()
    x = torch.rand(4, 1, 48, 48) * 2 - 1
    out = model(x)
    assert torch.allclose(out.log_scale.exp(), (out.recon - x).pow(2).mean().sqrt(), rtol=1e-5)
    fixed = build_model(ModelConfig(image_size=48, channels=1, latent_dim=8, output_scale=0.2)).train()
    assert math.isclose(float(fixed(x).log_scale.exp()), 0.2, rel_tol=1e-6)


def test_haar_levels_keep_every_image_energy_and_split_detail_from_shape() -> None:
    x = torch.randn(3, 1, 48, 48)
    bands = haar_levels(x, 4)
    assert [b.shape[1] for b in bands] == [3 * 24 * 24, 3 * 12 * 12, 3 * 6 * 6, 3 * 3 * 3, 3 * 3]
    assert torch.allclose(sum(b.pow(2).sum(1) for b in bands), x.pow(2).flatten(1).sum(1), rtol=1e-5)
    flat = haar_levels(torch.full((1, 1, 8, 8), 0.5), 3)
    assert all(float(b.abs().max()) == 0 for b in flat[:-1])  # a flat image has no detail
    with pytest.raises(ValueError, match="divisible by 16"):
        haar_levels(torch.zeros(1, 1, 40, 40), 4)


def test_wavelet_likelihood_is_the_pixel_gaussian_when_every_level_has_one_scale() -> None:
    x, recon = torch.rand(2, 1, 48, 48), torch.rand(2, 1, 48, 48)
    same = reconstruction_nll(x, recon, torch.full((5,), -1.3), "wavelet")
    assert torch.allclose(same, reconstruction_nll(x, recon, torch.tensor(-1.3)), rtol=1e-5)
    finer = torch.tensor([-3.0, -1.3, -1.3, -1.3, -1.3])
    assert not torch.allclose(reconstruction_nll(x, recon, finer, "wavelet"), same)


def test_wavelet_scales_are_each_levels_maximum_likelihood_scale_capped_at_the_pixel_one() -> None:
    config = ModelConfig(image_size=48, channels=1, latent_dim=8, likelihood="wavelet")
    model = build_model(config).train()
    ramp = torch.linspace(-1, 1, 48)
    x = (ramp[:, None] * ramp[None, :]).expand(4, 1, 48, 48)  # smooth: its error is mostly coarse
    out = model(x)
    assert out.log_scale.shape == (config.depth + 1,)
    error = out.recon - x
    rms = torch.stack([band.pow(2).mean() for band in haar_levels(error, config.depth)]).sqrt()
    assert torch.allclose(out.log_scale.exp(), rms.clamp_max(error.pow(2).mean().sqrt()), rtol=1e-5)
    assert rms[0] < error.pow(2).mean().sqrt() < rms[-1]  # the cap binds on the coarse level only
    assert model.output_scale.log_scale.shape == (config.depth + 1,)  # the running average, for eval
