import math

import torch

from vae.config import ModelConfig
from vae.conv_vae import build_model
from vae.losses import (
    LossConfig,
    active_units,
    bits_per_dim,
    kl_per_unit,
    reconstruction_nll,
    vae_loss,
)


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


def test_the_elbo_weights_its_kl_by_beta() -> None:
    model = build_model(ModelConfig(image_size=48, channels=1, latent_dim=8)).train()
    x = torch.rand(4, 1, 48, 48)
    terms = vae_loss(x, model(x), "gaussian", LossConfig(beta=2.0))
    assert torch.allclose(terms.loss, terms.nll + 2.0 * terms.kl)


def test_mse_loss_averages_mse_and_weights_kl_by_1_7() -> None:
    model = build_model(ModelConfig(image_size=48, channels=1, latent_dim=8)).train()
    x = torch.rand(4, 1, 48, 48)
    out = model(x)
    terms = vae_loss(x, out, "gaussian", LossConfig(kind="mse"))
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
