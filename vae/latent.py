"""Walking the latent space: sampling, meaningful slider directions, interpolation."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vae.checkpoint import Checkpoint, CheckpointError
from vae.conv_vae import ConvVAE


def sample_latents(
    n: int, latent_dim: int, temperature: float = 1.0, seed: int | None = None
) -> torch.Tensor:
    """Codes from the prior N(0, T^2 I); the same seed gives the same codes on any machine."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return torch.randn(n, latent_dim, generator=generator) * temperature


@dataclass(frozen=True)
class CodeDistribution:
    """The Gaussian that samples are drawn from: the prior N(0, I), or one fitted to the training codes.

    An encoder never fills the prior exactly: the codes of real faces occupy a shifted, stretched
    ellipsoid, and prior codes outside it decode to blotches rather than faces. Sampling from a
    Gaussian fitted to where the faces actually lie (ex-post density estimation, Ghosh et al. 2020)
    fixes most of that at no training cost; README: Results gives the measured difference.
    """

    mean: torch.Tensor  # [latent_dim]
    scale_tril: torch.Tensor  # [latent_dim, latent_dim], lower-triangular: covariance = L L^T

    @classmethod
    def prior(cls, latent_dim: int) -> CodeDistribution:
        return cls(torch.zeros(latent_dim), torch.eye(latent_dim))

    @classmethod
    def fit(cls, mu: torch.Tensor, logvar: torch.Tensor | None = None) -> CodeDistribution:
        """Moment-match the aggregate posterior, the mixture of every face's q(z|x): mean of the means,
        covariance of the means plus the mean posterior variance (none for an autoencoder)."""
        covariance = torch.cov(mu.double().T).reshape(mu.shape[1], mu.shape[1])
        if logvar is not None:
            covariance += torch.diag(logvar.double().exp().mean(0))
        jitter = 1e-6 * covariance.diagonal().mean().clamp_min(1e-12)  # a rank-deficient set still factors
        scale_tril = torch.linalg.cholesky(
            covariance + jitter * torch.eye(len(covariance), dtype=torch.float64)
        )
        return cls(mu.mean(0).float(), scale_tril.float())

    @classmethod
    def of(cls, checkpoint: Checkpoint) -> CodeDistribution:
        """The distribution stored with a model (python -m train.directions), else its prior."""
        latent_dim = checkpoint.model.config.latent_dim
        if "code_mean" not in checkpoint.extras:
            return cls.prior(latent_dim)
        mean, scale_tril = checkpoint.extras["code_mean"], checkpoint.extras.get("code_scale_tril")
        if mean.shape != (latent_dim,) or scale_tril is None or scale_tril.shape != (latent_dim, latent_dim):
            raise CheckpointError(
                f"{checkpoint.path}: its stored code distribution does not fit its {latent_dim}-d codes"
            )
        return cls(mean, scale_tril)

    def as_extras(self) -> dict[str, torch.Tensor]:
        """The tensors to store beside the weights (save_model's `extras`), read back by `of`."""
        return {"code_mean": self.mean, "code_scale_tril": self.scale_tril}

    @property
    def latent_dim(self) -> int:
        return len(self.mean)

    def spread(self, directions: torch.Tensor) -> torch.Tensor:
        """The standard deviation of the distribution along each unit direction [k, latent_dim]: [k]."""
        return (directions @ self.scale_tril).norm(dim=1)

    def sample(self, n: int, temperature: float = 1.0, seed: int | None = None) -> torch.Tensor:
        """`n` codes with the spread scaled by `temperature`; for the prior, exactly `sample_latents`."""
        return self.mean + sample_latents(n, self.latent_dim, temperature, seed) @ self.scale_tril.T


@torch.inference_mode()
def encode_posteriors(
    model: ConvVAE, images: torch.Tensor, batch_size: int = 256
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Posterior means and log-variances (None for an autoencoder) of a whole set of images in [-1, 1]."""
    model.eval()
    device = next(model.parameters()).device
    parts = [model.encode(b.to(device)) for b in images.split(batch_size)]
    mu = torch.cat([m.cpu() for m, _ in parts])
    logvar = None if parts[0][1] is None else torch.cat([lv.cpu() for _, lv in parts])
    return mu, logvar


def principal_directions(codes: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k principal axes of a set of codes (unit rows) and the standard deviation along each.

    These are the directions along which the training faces differ most: the natural first sliders.
    """
    centred = codes - codes.mean(0)
    _, singular, v = torch.linalg.svd(centred, full_matrices=False)
    std = singular[:k] / max(len(codes) - 1, 1) ** 0.5
    return v[:k].contiguous(), std


def labelled_directions(codes: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Unit directions [k, latent_dim] for binary labels [n, k], fitted together: each is the shift
    of the mean code that its label brings with the other labels held fixed (least squares on an
    intercept and the labels). For one label, the step from the mean code of the faces without it
    to that of the faces with it.

    Labels that go together in the data would otherwise each carry the other: UTKFace's faces aged
    18 to 30 are 72% female, those of 50 and over 50%, so an "older" slider fitted alone also makes
    faces more male (checkpoints/README.md measures how much).
    """
    labels = labels.reshape(len(labels), -1).double()
    counts = labels.sum(0)
    if ((counts == 0) | (counts == len(labels))).any():
        raise ValueError("a labelled direction needs faces both with and without each label")
    design = torch.cat([torch.ones(len(labels), 1, dtype=torch.float64), labels], 1)
    shifts = torch.linalg.lstsq(design, codes.double()).solution[1:]
    return (shifts / shifts.norm(dim=1, keepdim=True).clamp_min(1e-12)).float()


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Spherical interpolation: stays at the typical radius of Gaussian codes, unlike a straight line."""
    a_unit = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    b_unit = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    omega = torch.acos((a_unit * b_unit).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    t = torch.as_tensor(t, dtype=a.dtype)
    if omega.abs().max() < 1e-4:  # nearly parallel: the straight line is the same path
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` codes from a to b inclusive, spherically: [steps, latent_dim]."""
    return torch.stack([slerp(a, b, float(t)) for t in torch.linspace(0, 1, steps)])
