import math

import pytest
import torch
from torchvision.transforms.functional import gaussian_blur

from vae.config import PRESETS, ConfigError, ModelConfig, preset
from vae.conv_vae import build_model, count_parameters
from vae.multi_decoder import keep_detail

EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def forward(config: ModelConfig, batch: int = 2):
    model = build_model(config)
    x = torch.rand(batch, config.channels, config.image_size, config.image_size) * 2 - 1
    labels = torch.arange(batch) % max(len(config.expressions), 1)
    return model, model(x, labels if config.kind == "multi" else None)


@pytest.mark.parametrize("name", sorted(PRESETS))
@pytest.mark.parametrize("kind", ["vae", "ae", "multi"])
def test_every_preset_and_kind_has_the_right_shapes(name: str, kind: str) -> None:
    config = preset(name, kind=kind, expressions=EXPRESSIONS if kind == "multi" else ())
    model, out = forward(config)
    assert out.recon.shape == (2, config.channels, config.image_size, config.image_size)
    assert out.mu.shape == out.z.shape == (2, config.latent_dim)
    assert (out.logvar is None) == (kind == "ae")
    assert out.recon.abs().max() <= 1.0, "tanh output must stay in [-1, 1]"
    z = torch.randn(3, config.latent_dim)
    decoded = model.decode(z, 0) if kind == "multi" else model.decode(z)
    assert decoded.shape == (3, config.channels, config.image_size, config.image_size)


@pytest.mark.parametrize(("size", "channels"), [(48, 1), (64, 3), (128, 3)])
def test_image_sizes_and_channels(size: int, channels: int) -> None:
    widths = (32, 64, 128, 256, 256)[: {48: 4, 64: 4, 128: 5}[size]]
    _, out = forward(ModelConfig(image_size=size, channels=channels, widths=widths, latent_dim=16))
    assert out.recon.shape == (2, channels, size, size)


def test_cpu_preset_is_about_three_million_parameters() -> None:
    assert 2.5e6 < count_parameters(build_model(PRESETS["cpu"])) < 3.5e6


def test_large128_preset_is_128x128_with_five_wide_halvings() -> None:
    config = PRESETS["large128"]
    assert (config.image_size, config.widths, config.latent_dim) == (128, (128, 256, 512, 1024, 2048), 512)


def test_encoder_downsamples_with_4x4_stride_2_convolutions_and_batchnorm() -> None:
    model = build_model(PRESETS["cpu"])
    convs = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.encoder.modules()) == len(convs)


@pytest.mark.parametrize("sharing", ["none", "trunk"])
def test_multi_decoder_decodes_one_code_through_every_expression(sharing: str) -> None:
    config = ModelConfig(
        kind="multi",
        image_size=48,
        channels=1,
        latent_dim=16,
        expressions=EXPRESSIONS,
        decoder_sharing=sharing,
    )
    model = build_model(config).eval()
    z = torch.randn(4, 16)
    every = model.decode_all(z)
    assert every.shape == (4, 7, 1, 48, 48)
    assert torch.allclose(every[:, 3], model.decode(z, "happy"), atol=1e-6)
    mixed = model.decode(z, torch.tensor([0, 3, 5, 6]))
    assert torch.allclose(mixed[1], every[1, 3], atol=1e-6)
    assert not torch.allclose(every[:, 0], every[:, 1]), "decoders must have their own parameters"
    with pytest.raises(ValueError, match="unknown expression"):
        model.decode(z, "bored")


def test_strength_scales_each_expression_away_from_the_mean_over_decoders() -> None:
    config = ModelConfig(
        image_size=48,
        channels=1,
        widths=(8, 16, 32, 32),
        latent_dim=16,
        kind="multi",
        expressions=EXPRESSIONS,
    )
    model = build_model(config).eval()
    z = torch.randn(4, 16)
    drawn = model.decode_all(z)
    mean = drawn.mean(1, keepdim=True)
    assert torch.equal(model.decode_all(z, 1.0), drawn)
    flat = model.decode_all(z, 0.0)
    assert torch.allclose(flat, mean.expand_as(flat), atol=1e-6), "strength 0: no expression is left"
    strong = model.decode_all(z, 2.0)
    inside = (mean + 2 * (drawn - mean)).abs() < 1  # where the doubled face needs no clipping
    assert torch.allclose((strong - mean)[inside], 2 * (drawn - mean)[inside], atol=1e-5)
    assert strong.abs().max() <= 1
    with pytest.raises(ValueError, match=r"strength must lie in 0\.\.3\.0, not 3\.5"):
        model.decode_all(z, 3.5)


@pytest.mark.parametrize("sigma", [0.75, 2.0, 4.0])
def test_detail_cuts_at_torchvisions_gaussian(sigma: float) -> None:
    """The detail layer's blur is written out (vae.multi_decoder._blur); it must stay torchvision's."""
    photo = torch.rand(3, 1, 48, 48) * 2 - 1
    alike = torch.zeros(3, 7, 1, 48, 48)
    fine = photo - gaussian_blur(photo, kernel_size=2 * math.ceil(3 * sigma) + 1, sigma=sigma)
    kept = keep_detail(alike, alike, photo, sigma)
    assert torch.allclose(kept, fine[:, None].expand_as(alike).clamp(-1, 1), atol=1e-5)


def test_detail_is_the_photos_own_where_the_decoders_agree_and_none_where_they_differ_most() -> None:
    torch.manual_seed(0)
    photo = torch.rand(2, 1, 16, 16) * 2 - 1
    fine = photo - gaussian_blur(photo, kernel_size=7, sigma=1.0)
    alike = torch.zeros(2, 7, 1, 16, 16)
    assert keep_detail(alike, alike, photo, 0.0) is alike, "detail 0 keeps none"
    every = keep_detail(alike, alike, photo, 1.0)
    assert torch.allclose(every, fine[:, None].expand_as(alike).clamp(-1, 1), atol=1e-6)

    differ = alike.clone()
    differ[:, :, :, 8, 8] = torch.linspace(-1, 1, 7)[None, :, None]  # one pixel holds an expression
    kept = keep_detail(differ, differ, photo, 1.0)
    assert torch.allclose(kept[:, :, :, 8, 8], differ[:, :, :, 8, 8], atol=1e-6), (
        "none where they differ most"
    )
    assert torch.allclose(kept[:, :, :, 0, 0], every[:, :, :, 0, 0], atol=1e-6), "all of it far from there"
    for detail in (-0.5, 4.5):
        with pytest.raises(ValueError, match=r"photo detail must lie in 0\.\.4\.0"):
            keep_detail(differ, differ, photo, detail)


def test_invalid_configs_are_refused_with_a_reason() -> None:
    with pytest.raises(ConfigError, match="divisible"):
        ModelConfig(image_size=50)
    with pytest.raises(ConfigError, match="channels"):
        ModelConfig(channels=2)
    with pytest.raises(ConfigError, match="expressions"):
        ModelConfig(kind="multi")
    with pytest.raises(ConfigError, match="unknown preset"):
        preset("huge")


def test_autoencoder_is_deterministic_in_training_mode() -> None:
    model = build_model(ModelConfig(kind="ae", image_size=48, channels=1, latent_dim=8)).train()
    x = torch.rand(4, 1, 48, 48)
    assert torch.equal(model(x).z, model(x).z)
