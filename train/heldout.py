"""Held-out metrics of any FaceVAE model: the ELBO in nats and bits/dim, MSE, PSNR, active units."""

from __future__ import annotations

import torch

from vae.conv_vae import ConvVAE
from vae.data import as_float
from vae.losses import active_units, bits_per_dim, kl_per_unit, reconstruction_nll
from vae.metrics import psnr


@torch.inference_mode()
def heldout_metrics(
    model: ConvVAE, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 256, seed: int = 0
) -> dict[str, float | None]:
    """Metrics over uint8 images; the ELBO uses one posterior sample per face (a seeded draw).

    Reconstruction MSE and PSNR decode the posterior mean, which is what a user of the model sees.
    """
    model.eval()
    config = model.config
    generator = torch.Generator().manual_seed(seed)
    log_scale = model.output_scale.log_scale
    totals = {"nll": 0.0, "kl": 0.0, "mse": 0.0, "psnr": 0.0}
    codes = []
    for start in range(0, len(images), batch_size):
        x = as_float(images[start : start + batch_size])
        expression = labels[start : start + batch_size] if config.kind == "multi" else None
        mu, logvar = model.encode(x)
        codes.append(mu)
        z = mu
        if logvar is not None:
            z = mu + torch.randn(mu.shape, generator=generator) * torch.exp(0.5 * logvar)
            totals["kl"] += float(kl_per_unit(mu, logvar).sum())
        totals["nll"] += float(
            reconstruction_nll(x, model.decode(z, expression), log_scale, config.likelihood).sum()
        )
        mean_recon = model.decode(mu, expression)
        totals["mse"] += float((mean_recon - x).pow(2).flatten(1).mean(1).sum())
        totals["psnr"] += float(psnr(mean_recon, x).sum())
    n = len(images)
    result = {k: v / n for k, v in totals.items()}
    # An autoencoder has no prior, so no ELBO: its NLL alone is reported.
    result["neg_elbo"] = result["nll"] + result["kl"] if model.stochastic else None
    result["bits_per_dim"] = bits_per_dim(result["neg_elbo"], config.num_pixels) if model.stochastic else None
    result["active_units"] = active_units(torch.cat(codes))
    result["output_scale"] = float(log_scale.exp())
    return result
