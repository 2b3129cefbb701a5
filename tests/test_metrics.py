"""PSNR and SSIM against their definitions and against scikit-image."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from cnaps.sr.metrics import Y_COEFFS, psnr, rgb_to_y, shave_for, ssim, ssim_gray


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    hr = rng.random((3, 48, 40))
    sr = np.clip(hr + rng.normal(0, 0.05, hr.shape), 0, 1)
    return sr, hr


def test_shave_rule():
    assert shave_for(4, "y") == 4 and shave_for(4, "rgb") == 10
    with pytest.raises(ValueError):
        shave_for(4, "lab")


def test_rgb_psnr_matches_skimage(pair):
    sr, hr = pair
    assert psnr(sr, hr, 0, "rgb") == pytest.approx(
        peak_signal_noise_ratio(hr, sr, data_range=1), abs=1e-10)
    s = 7
    assert psnr(sr, hr, s, "rgb") == pytest.approx(
        peak_signal_noise_ratio(hr[:, s:-s, s:-s], sr[:, s:-s, s:-s], data_range=1), abs=1e-10)


def test_y_psnr_is_the_luma_difference(pair):
    sr, hr = pair
    y_sr, y_hr = rgb_to_y(sr), rgb_to_y(hr)
    expected = peak_signal_noise_ratio(y_hr[4:-4, 4:-4], y_sr[4:-4, 4:-4], data_range=1)
    assert psnr(sr, hr, 4, "y") == pytest.approx(expected, abs=1e-10)
    # the LIIF reference formula, written out: diff . [65.738, 129.057, 25.064] / 256
    d = ((sr - hr) * np.array([65.738, 129.057, 25.064])[:, None, None]).sum(0) / 256
    mse = (d[4:-4, 4:-4] ** 2).mean()
    assert psnr(sr, hr, 4) == pytest.approx(-10 * math.log10(mse), abs=1e-10)


def test_luma_range_and_coefficients():
    assert rgb_to_y(np.zeros((3, 2, 2)))[0, 0] == pytest.approx(16 / 255)
    assert rgb_to_y(np.ones((3, 2, 2)))[0, 0] == pytest.approx(235 / 255, abs=2e-3)
    np.testing.assert_allclose(Y_COEFFS * 255, [65.481, 128.553, 24.966], atol=0.01)


def test_psnr_accepts_torch_and_handles_identity(pair):
    sr, hr = pair
    assert psnr(torch.from_numpy(sr).float(), torch.from_numpy(hr).float(), 2) == pytest.approx(
        psnr(sr.astype(np.float32), hr.astype(np.float32), 2), abs=1e-9)
    assert psnr(hr, hr) == math.inf
    with pytest.raises(ValueError):
        psnr(sr[:1], hr[:1])
    with pytest.raises(ValueError):
        psnr(sr, hr, shave=30)


def test_known_psnr_value():
    hr = np.zeros((3, 10, 10))
    sr = np.full((3, 10, 10), 0.1)  # mse 0.01 -> 20 dB on RGB
    assert psnr(sr, hr, 0, "rgb") == pytest.approx(20.0)


def test_ssim_matches_skimage(pair):
    sr, hr = pair
    y_sr = rgb_to_y(sr)[3:-3, 3:-3] * 255
    y_hr = rgb_to_y(hr)[3:-3, 3:-3] * 255
    expected = structural_similarity(y_hr, y_sr, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=255)
    assert ssim(sr, hr, 3) == pytest.approx(expected, abs=1e-10)


def test_ssim_gray_properties():
    rng = np.random.default_rng(4)
    a = rng.random((32, 32)) * 255
    assert ssim_gray(a, a) == pytest.approx(1.0)
    assert ssim_gray(a, 255 - a) < 0
    smooth = np.tile(np.linspace(0, 255, 32), (32, 1))
    assert 0 < ssim_gray(a, smooth) < 0.5
    with pytest.raises(ValueError):
        ssim_gray(a[:8, :8], a[:8, :8])
