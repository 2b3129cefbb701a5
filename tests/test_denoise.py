"""cnaps.sr.denoise: noise estimation, the NLM pre-filter and the --denoise auto routing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from cnaps.errors import ConfigError
from cnaps.sr import denoise
from cnaps.sr.weights import DEFAULT_WEIGHTS
from cnaps.sr.denoise import (AUTO_THRESHOLD, ROBUST, choose_auto, decide,
                              estimate_noise_sigma, prefilter)


@pytest.fixture(scope="module")
def clean_lr() -> np.ndarray:
    """scikit-image's astronaut, bicubic-downscaled x4 like an LR benchmark input."""
    return np.asarray(Image.fromarray(data.astronaut()).resize((128, 128), Image.BICUBIC))


def noisy(img: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, sigma, img.shape)
    return np.clip(np.rint(img + noise), 0, 255).astype(np.uint8)


def psnr(a, b):
    return 10 * np.log10(255 ** 2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


def test_estimate_separates_clean_from_noisy(clean_lr):
    assert estimate_noise_sigma(clean_lr) < AUTO_THRESHOLD
    for sigma in (10, 20):
        est = estimate_noise_sigma(noisy(clean_lr, sigma))
        assert est > AUTO_THRESHOLD
        assert 0.6 * sigma < est < 1.4 * sigma


def test_texture_is_not_read_as_noise():
    """Two plane waves fill every patch with structure (the case that made clean textured
    Set5/Set14 inputs look noisy to a wavelet estimate): the patch-covariance estimate sees
    only the 8-bit rounding (1/sqrt(12) = 0.29), and noise on top at its true level."""
    from skimage.restoration import estimate_sigma

    y, x = np.mgrid[0:64, 0:64]
    wave = 128 + 70 * np.sin(1.9 * x + 0.7 * y) + 40 * np.sin(0.5 * x - 2.3 * y)
    texture = np.repeat(np.clip(np.rint(wave), 0, 255).astype(np.uint8)[..., None], 3, -1)
    assert estimate_sigma(texture / 255, channel_axis=-1, average_sigmas=True) * 255 > 20
    assert estimate_noise_sigma(texture) < 0.5
    for sigma in (5, 10, 20):
        assert estimate_noise_sigma(noisy(texture, sigma, seed=1)) == pytest.approx(sigma, rel=0.1)


def test_estimate_on_tiny_and_grayscale_inputs():
    assert estimate_noise_sigma(np.zeros((4, 4, 3), np.uint8)) == 0.0  # smaller than a patch
    assert estimate_noise_sigma(np.full((6, 6, 3), 90, np.uint8)) == 0.0  # too few patches
    gray = noisy(np.full((64, 64, 1), 120, np.uint8), 10)[..., 0]
    assert estimate_noise_sigma(gray) == pytest.approx(10, rel=0.15)


def test_estimate_accepts_float_arrays_and_tensors(clean_lr):
    img = noisy(clean_lr, 15)
    ref = estimate_noise_sigma(img)
    assert estimate_noise_sigma(img / 255.0) == pytest.approx(ref, rel=1e-6)
    tensor = torch.from_numpy(img.transpose(2, 0, 1).copy()).float() / 255
    assert estimate_noise_sigma(tensor) == pytest.approx(ref, rel=1e-5)


def test_prefilter_removes_noise_and_keeps_the_type(clean_lr):
    img = noisy(clean_lr, 15)
    out = prefilter(img, 15)
    assert out.dtype == np.uint8 and out.shape == img.shape
    assert psnr(out, clean_lr) > psnr(img, clean_lr) + 2
    tensor = torch.from_numpy(img.transpose(2, 0, 1).copy()).float() / 255
    out_t = prefilter(tensor, 15)
    assert isinstance(out_t, torch.Tensor) and out_t.shape == tensor.shape
    assert prefilter(img, 0) is img


def test_auto_keeps_clean_inputs_on_the_released_weights(clean_lr):
    d = choose_auto(clean_lr)
    assert d.weights_name == DEFAULT_WEIGHTS and not d.prefilter


def test_auto_routes_noisy_inputs(clean_lr, monkeypatch):
    monkeypatch.setattr(denoise, "robust_available", lambda: True)
    d = choose_auto(noisy(clean_lr, 15))
    assert d.weights_name == ROBUST and not d.prefilter and d.sigma > AUTO_THRESHOLD
    monkeypatch.setattr(denoise, "robust_available", lambda: False)
    d = choose_auto(noisy(clean_lr, 15))
    assert d.weights_name == DEFAULT_WEIGHTS and d.prefilter


def test_decide_modes(clean_lr, monkeypatch):
    monkeypatch.setattr(denoise, "robust_available", lambda: True)
    img = noisy(clean_lr, 15)
    assert decide("none", img) == denoise.DenoiseDecision(
        weights_name=DEFAULT_WEIGHTS, prefilter=False, sigma=0.0, reason="--denoise none")
    nlm = decide("nlm", img, weights="my.pth")
    assert nlm.prefilter and nlm.weights_name == "my.pth" and nlm.sigma > AUTO_THRESHOLD
    kept = decide("auto", img, weights="my.pth")
    assert kept.weights_name == "my.pth" and kept.prefilter
    with pytest.raises(ConfigError, match="none, nlm or auto"):
        decide("bm3d", img)


def test_upscale_cli_denoise_option(tmp_path, clean_lr, capsys):
    from cnaps.cli import main
    from cnaps.errors import WeightsNotInstalledError
    from cnaps.sr.weights import resolve

    try:
        resolve(DEFAULT_WEIGHTS)
    except WeightsNotInstalledError as exc:
        pytest.skip(f"{exc}")
    src = tmp_path / "noisy.png"
    Image.fromarray(noisy(clean_lr[:40, :40], 20)).save(src)
    with pytest.raises(SystemExit) as exc:
        main(["upscale", str(src), "-o", str(tmp_path / "out.png"), "--scale", "2",
              "--denoise", "nlm", "--threads", "1"])
    assert exc.value.code == 0
    assert "NLM pre-filter" in capsys.readouterr().err
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (80, 80)


def test_shipped_noise_robust_weights_match_their_entry_and_card():
    import json
    from pathlib import Path

    from cnaps.sr.checkpoint import load_model, read_checkpoint
    from cnaps.sr.weights import KNOWN, installed, sha256_of

    known = KNOWN[ROBUST]
    path = Path(denoise.__file__).resolve().parent.parent / known.package_file
    assert path.is_file() and path.stat().st_size == known.size
    assert sha256_of(path) == known.sha256
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["sha256"] == known.sha256 and "fine-tuned here" in card["label"]
    assert known.trained_here and not any(KNOWN[n].trained_here for n in (DEFAULT_WEIGHTS, "liif-rdn"))
    assert "optimizer" not in read_checkpoint(path)
    assert load_model(path).encoder_spec.name == "edsr-baseline"
    assert installed()[ROBUST].file == str(path)
    assert denoise.robust_available()
