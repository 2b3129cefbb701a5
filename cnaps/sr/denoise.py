"""Noise handling before LIIF: estimate the noise level of an LR input, pre-filter it, and the
`--denoise auto` routing between the released weights and the noise-robust fine-tune.

LIIF was trained on clean bicubic LR images and amplifies noise (LIIF_SPEC §5). Two remedies:
a non-local-means pre-filter (scikit-image's `denoise_nl_means`, h = 0.8 sigma) in front of the
released weights, or the `liif-edsr-baseline-noise` weights, fine-tuned here with noise on the
LR input. The noise level is estimated from the covariance of small patches (Pyatykh, Hesser
& Zheng, "Image noise level estimation by principal component analysis", IEEE TIP 2013), which
texture fools far less than a wavelet estimate does.

`auto` leaves clean inputs to the released weights (the fine-tune loses a little on them) and
sends noisy ones to the fine-tune, falling back to pre-filter + released weights if the
fine-tune is not installed.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

from cnaps.sr.weights import DEFAULT_WEIGHTS

ROBUST = "liif-edsr-baseline-noise"
# Estimated sigma (8-bit units) from which `auto` treats an input as noisy. Chosen on LR images
# made from the training photos (`cnaps data`; 96 HR crops of 256-512 px, x4 and x8, clean and
# sigma 10/20), never on the benchmark sets: the fewest misrouted inputs (1 clean of 192, 4
# noisy of 384) lie on the plateau 6.5-7.0; this is its middle.
AUTO_THRESHOLD = 6.75
PATCH = 5  # side of the patches whose covariance is analysed
FLAT_SHARE = 0.5  # share of patches kept, the least varying (texture and edges are in the rest)
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

    Image structure lives in a few directions of the space of PATCH x PATCH patches, while white
    noise adds sigma^2 to every direction, so the smallest eigenvalue of the patch covariance
    is sigma^2 even where the image is textured (a wavelet estimate such as scikit-image's
    `estimate_sigma` reads the fine texture of small LR images as noise). Patches of all
    channels are pooled and only the least varying FLAT_SHARE kept; the smallest eigenvalue of
    a sample covariance of n patches in p = PATCH^2 dimensions shrinks by (1 - sqrt(p/n))^2
    (Marchenko-Pastur), which is divided out."""
    img = _to_hwc_float(lr) * 255.0
    if img.ndim == 2:
        img = img[..., None]
    p = PATCH * PATCH
    if min(img.shape[:2]) < PATCH:
        return 0.0
    patches = np.concatenate([  # (n, p): every overlapping patch of every channel
        np.lib.stride_tricks.sliding_window_view(img[..., c], (PATCH, PATCH)).reshape(-1, p)
        for c in range(img.shape[2])])
    keep = max(int(len(patches) * FLAT_SHARE), min(len(patches), 4 * p))
    if keep <= p:
        return 0.0  # too small to tell noise from structure: treated as clean
    flat = patches[np.argsort(patches.var(axis=1), kind="stable")[:keep]]
    flat = flat - flat.mean(axis=0)
    smallest = np.linalg.eigvalsh(flat.T @ flat / (keep - 1))[0]
    shrink = (1.0 - np.sqrt(p / keep)) ** 2
    return float(np.sqrt(max(smallest, 0.0) / shrink))


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
        return DenoiseDecision(weights_name=DEFAULT_WEIGHTS, prefilter=False, sigma=sigma,
                               reason=f"estimated noise {sigma:.1f} < {threshold}: clean")
    if robust_available():
        return DenoiseDecision(weights_name=ROBUST, prefilter=False, sigma=sigma,
                               reason=f"estimated noise {sigma:.1f}: noise-robust weights")
    return DenoiseDecision(weights_name=DEFAULT_WEIGHTS, prefilter=True, sigma=sigma,
                           reason=f"estimated noise {sigma:.1f}: {ROBUST} not installed, "
                                  "non-local-means pre-filter instead")


def decide(mode: Mode, lr, weights: str | None = None) -> DenoiseDecision:
    """The decision for `--denoise MODE`. An explicit `weights` choice is kept in every mode
    (auto then only decides about the pre-filter)."""
    if mode == "none":
        return DenoiseDecision(weights_name=weights or DEFAULT_WEIGHTS, prefilter=False, sigma=0.0,
                               reason="--denoise none")
    if mode == "nlm":
        sigma = estimate_noise_sigma(lr)
        return DenoiseDecision(weights_name=weights or DEFAULT_WEIGHTS, prefilter=True, sigma=sigma,
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
