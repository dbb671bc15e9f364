"""A spectral penalty on swapped faces: the textures that fool the judges, priced where they show.

Every texture the swap terms have taught the decoders (stripes, rows of dots, blotches) puts power
at spatial frequencies where real faces have little; `vae.metrics.spectral_excess` measures that
after training. This module makes the same number a training term, on unblurred swapped faces, so
that the guide and the critic cannot buy accuracy with a pattern (spectral losses remove the
up-convolution artefacts of GANs in the same way: Durall et al. 2020, Jung & Keuper 2021).

A batch holds about nine swapped faces per target, and the log of a mean over nine noisy power
spectra lies high at many frequencies by chance; penalising that would push every decoder towards
blur. So the term reads moving averages of the spectra (real faces pooled, swapped faces per
target), while its gradient flows through the current batch's faces as if the average were theirs.
"""

from __future__ import annotations

import torch
from torch import nn

from vae.metrics import mean_power_spectrum


class SpectralExcess(nn.Module):
    def __init__(self, num_targets: int, image_size: int, momentum: float = 0.95) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer("real", torch.zeros(image_size, image_size))
        self.register_buffer("swapped", torch.zeros(num_targets, image_size, image_size))
        self.register_buffer("seen", torch.zeros(num_targets + 1, dtype=torch.bool))  # real, then targets

    def _average(self, index: int, batch_spectrum: torch.Tensor, running: torch.Tensor) -> torch.Tensor:
        """Update `running` in place; return its new value, carrying the batch spectrum's gradient."""
        m = self.momentum if bool(self.seen[index]) else 0.0
        value = m * running + (1 - m) * batch_spectrum.detach()
        running.copy_(value)
        self.seen[index] = True
        return value + batch_spectrum - batch_spectrum.detach()

    def forward(self, real: torch.Tensor, swapped: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean over the targets in this batch of `spectral_excess` between their swapped faces and
        real faces, on the moving averages."""
        reference = self._average(0, mean_power_spectrum(real), self.real).detach().clamp_min(1e-12)
        excess = []
        for k in target.unique().tolist():
            spectrum = self._average(k + 1, mean_power_spectrum(swapped[target == k]), self.swapped[k])
            excess.append((spectrum.clamp_min(1e-12) / reference).log().clamp_min(0).mean())
        return torch.stack(excess).mean()
