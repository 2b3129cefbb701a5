"""Noise handling before LIIF: estimate the noise level of an LR input, pre-filter it, and the
`--denoise auto` routing between the released weights and the noise-robust fine-tune.

LIIF was trained on clean bicubic LR images and amplifies noise (LIIF_SPEC §5). Two remedies:
a non-local-means pre-filter (scikit-image's `denoise_nl_means`, h = 0.8 sigma) in front of the
released weights, or the `liif-edsr-baseline-noise` weights, fine-tuned here with noise on the
LR input. The noise level is estimated with scikit-image's `estimate_sigma` (a wavelet
median-absolute-deviation estimator, Donoho & Johnstone 1994).

`auto` leaves clean inputs to the released weights (the fine-tune loses a little on them) and
sends noisy ones to the fine-tune, falling back to pre-filter + released weights if the
fine-tune is not installed.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

RELEASED = "liif-edsr-baseline"
ROBUST = "liif-edsr-baseline-noise"
# Estimated sigma (8-bit units) from which `auto` treats an input as noisy. Measured on the
# Set5 + Set14 LR images (mean, max): clean x4 3.1, 8.0; clean x8 4.9, 16.1 (baboon, all
# texture); true sigma 5: x4 6.3, x8 7.8 (means); true sigma 10: minimum 7.2.
AUTO_THRESHOLD = 6.0
BLOCK = 16  # LR pixels per side of the blocks the noise level is estimated on
NLM_H_FACTOR = 0.8  # h = 0.8 sigma: the setting measured on Set5 in issue 5

Mode = Literal["none", "nlm", "auto"]


class DenoiseDecision(BaseModel):
    """What to do with one input: which weights, whether to pre-filter, the noise estimate."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    weights_name: str
    prefilter: bool
    sigma: float  # estimated noise std, 8-bit units
    reason: str = ""


def _to_hwc_float(lr) -> np.ndarray:
    """uint8/float (H, W, 3) array or float (3, H, W) tensor in [0, 1] -> float64 (H, W, 3)."""
    if isinstance(lr, torch.Tensor):
        return lr.detach().cpu().double().permute(1, 2, 0).numpy()
    arr = np.asarray(lr)
    return arr / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)


def _like(img: np.ndarray, template):
    """Return float (H, W, 3) `img` in the type and layout of `template`."""
    if isinstance(template, torch.Tensor):
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).to(template.dtype)
    template = np.asarray(template)
    if template.dtype == np.uint8:
        return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
    return img.astype(template.dtype)


def estimate_noise_sigma(lr) -> float:
    """Estimated Gaussian noise std of an LR image, in 8-bit units (0-255).

    `estimate_sigma` over a whole small LR image counts fine texture as noise (clean Set14
    LR images at x8 read up to 20). Noise is everywhere, texture is not: estimate per
    BLOCK x BLOCK block and take the 25th percentile, so the least textured quarter decides."""
    from skimage.restoration import estimate_sigma

    img = _to_hwc_float(lr)
    h, w = img.shape[:2]
    if min(h, w) < 2 * BLOCK:
        return float(estimate_sigma(img, channel_axis=-1, average_sigmas=True) * 255)
    with warnings.catch_warnings():  # flat blocks: an empty wavelet band warns, gives nan
        warnings.simplefilter("ignore", RuntimeWarning)
        per_block = [estimate_sigma(img[y:y + BLOCK, x:x + BLOCK], channel_axis=-1,
                                    average_sigmas=True)
                     for y in range(0, h - BLOCK + 1, BLOCK)
                     for x in range(0, w - BLOCK + 1, BLOCK)]
    return float(np.nan_to_num(np.nanpercentile(per_block, 25)) * 255)


def prefilter(lr, sigma: float):
    """Non-local means (scikit-image) tuned to noise std `sigma` (8-bit units); same type out."""
    from skimage.restoration import denoise_nl_means

    if sigma <= 0:
        return lr
    img = _to_hwc_float(lr)
    s = sigma / 255.0
    out = denoise_nl_means(img, h=NLM_H_FACTOR * s, sigma=s, fast_mode=True, patch_size=5,
                           patch_distance=6, channel_axis=-1)
    return _like(np.clip(out, 0, 1), lr)


def robust_available() -> bool:
    from cnaps.sr.weights import installed

    return ROBUST in installed()


def choose_auto(lr, threshold: float = AUTO_THRESHOLD) -> DenoiseDecision:
    """Released weights for clean inputs; the noise-robust weights for noisy ones."""
    sigma = estimate_noise_sigma(lr)
    if sigma < threshold:
        return DenoiseDecision(weights_name=RELEASED, prefilter=False, sigma=sigma,
                               reason=f"estimated noise {sigma:.1f} < {threshold}: clean")
    if robust_available():
        return DenoiseDecision(weights_name=ROBUST, prefilter=False, sigma=sigma,
                               reason=f"estimated noise {sigma:.1f}: noise-robust weights")
    return DenoiseDecision(weights_name=RELEASED, prefilter=True, sigma=sigma,
                           reason=f"estimated noise {sigma:.1f}: {ROBUST} not installed, "
                                  "non-local-means pre-filter instead")


def decide(mode: Mode, lr, weights: str | None = None) -> DenoiseDecision:
    """The decision for `--denoise MODE`. An explicit `weights` choice is kept in every mode
    (auto then only decides about the pre-filter)."""
    if mode == "none":
        return DenoiseDecision(weights_name=weights or RELEASED, prefilter=False, sigma=0.0,
                               reason="--denoise none")
    if mode == "nlm":
        sigma = estimate_noise_sigma(lr)
        return DenoiseDecision(weights_name=weights or RELEASED, prefilter=True, sigma=sigma,
                               reason=f"--denoise nlm, estimated noise {sigma:.1f}")
    if mode != "auto":
        from cnaps.errors import ConfigError

        raise ConfigError(f"--denoise must be none, nlm or auto, not {mode!r}")
    decision = choose_auto(lr)
    if weights is not None and weights != decision.weights_name:
        noisy = decision.sigma >= AUTO_THRESHOLD
        return DenoiseDecision(weights_name=weights, prefilter=noisy and weights != ROBUST,
                               sigma=decision.sigma,
                               reason=f"--weights {weights} kept; estimated noise "
                                      f"{decision.sigma:.1f}")
    return decision
