"""Broken copies of trained models, for tests to show that their checks catch a broken model."""

from __future__ import annotations

import copy

import torch

from vae.classifier import ExpressionClassifier
from vae.conv_vae import ConvVAE


def zeroed_decoder(model: ConvVAE) -> ConvVAE:
    """A copy whose decoder weights are all zero: it draws the same flat grey face for every code."""
    broken = copy.deepcopy(model)
    with torch.no_grad():
        for weight in broken.decoder.parameters():
            weight.zero_()
    return broken


def scrambled_decoder(model: ConvVAE) -> ConvVAE:
    """A copy whose decoder weights are shuffled within each tensor: the statistics of trained
    weights, none of their structure, so it draws noise."""
    broken = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in broken.decoder.parameters():
            weight.copy_(
                weight.flatten()[torch.randperm(weight.numel(), generator=generator)].view_as(weight)
            )
    return broken


def shuffled_outputs(classifier: ExpressionClassifier) -> ExpressionClassifier:
    """A copy whose output rows are each moved to the next class: every face it read as angry it
    reads as disgust, and so on round the classes; its features are untouched."""
    broken = copy.deepcopy(classifier)
    output = broken.head[-1]
    with torch.no_grad():
        output.weight.copy_(output.weight.roll(1, dims=0))
        output.bias.copy_(output.bias.roll(1, dims=0))
    return broken
