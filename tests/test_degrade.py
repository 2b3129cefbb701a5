"""Noise and JPEG degradations of LR inputs."""

from __future__ import annotations

import numpy as np
import pytest

from cnaps.sr.degrade import add_gaussian_noise, jpeg_compress


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    base = np.linspace(40, 200, 64)[None, :, None] + np.linspace(0, 20, 48)[:, None, None]
    return np.clip(base + rng.normal(0, 3, (48, 64, 3)), 0, 255).astype(np.uint8)


def test_noise_on_uint8_is_the_seeded_draw_rounded_half_up(image):
    """The one rounding rule of training, evaluation and the demo: floor(x + noise + 0.5)."""
    noise = np.random.default_rng(5).normal(0.0, 10, image.shape)
    expected = np.clip(np.floor(image + noise + 0.5), 0, 255).astype(np.uint8)
    a = add_gaussian_noise(image, 10, seed=5)
    assert a.dtype == np.uint8 and np.array_equal(a, expected)
    assert not np.array_equal(a, add_gaussian_noise(image, 10, seed=6))
    diff = a.astype(float) - image
    assert abs(diff.mean()) < 0.5 and 9 < diff.std() < 11


def test_training_draws_the_same_noise_as_evaluation(image):
    """The sampler's augmentation and `cnaps eval --noise` share one function: given the same
    generator state and sigma they make the same noisy image."""
    from cnaps.sr.data import NoiseAug, SamplerConfig, degrade_lr

    cfg = SamplerConfig(noise=NoiseAug(p_clean=0.0, sigma_min=10, sigma_max=10))
    rng = np.random.default_rng(3)
    rng.random(), rng.uniform(10, 10)  # what degrade_lr draws before the noise
    expected = add_gaussian_noise(image, 10, rng)
    assert np.array_equal(degrade_lr(image, cfg, np.random.default_rng(3)), expected)


def test_noise_clips_and_zero_sigma_is_identity(image):
    black = np.zeros((20, 20, 3), dtype=np.uint8)
    noisy = add_gaussian_noise(black, 30, seed=1)
    assert noisy.min() == 0 and noisy.mean() > 5  # half the noise is clipped away
    assert np.array_equal(add_gaussian_noise(image, 0), image)
    with pytest.raises(ValueError):
        add_gaussian_noise(image, -1)


def test_noise_on_float_stays_float_in_range(image):
    x = image.astype(np.float32) / 255
    y = add_gaussian_noise(x, 25, seed=0)
    assert y.dtype == np.float32 and y.min() >= 0 and y.max() <= 1
    assert 0.07 < float((y - x).std()) < 0.11  # ~25/255, a little less after clipping


def test_jpeg_degrades_with_quality(image):
    err = {q: np.abs(jpeg_compress(image, q).astype(float) - image).mean() for q in (10, 50, 95)}
    assert err[10] > err[50] > err[95] > 0
    out = jpeg_compress(image, 50)
    assert out.shape == image.shape and out.dtype == np.uint8


def test_jpeg_on_float_and_bad_quality(image):
    x = image.astype(np.float64) / 255
    y = jpeg_compress(x, 80)
    assert y.dtype == np.float64 and y.shape == x.shape and np.abs(y - x).mean() < 0.02
    with pytest.raises(ValueError):
        jpeg_compress(image, 0)
