"""Image quality metrics as the super-resolution literature computes them (LIIF_SPEC §4).

Images are (3, H, W) RGB in [0, 1] (numpy arrays or torch tensors), the model's float output
compared as is (not rounded to 8 bits).

- PSNR on Y (benchmarks: Set5, Set14, B100, Urban100): the difference image is mapped to the
  BT.601 luma difference `diff · [65.738, 129.057, 25.064] / 256`, a border of `shave` = scale
  pixels is dropped, peak = 1. This is the LIIF reference code's formula.
- PSNR on RGB (DIV2K-style sets): all three channels, shave = scale + 6.
- SSIM on Y, the convention of Wang et al. (2004) as used by the EDSR/RCAN MATLAB evaluation:
  Y = 16 + (65.738 R + 129.057 G + 25.064 B) / 256 in 8-bit units (R, G, B in [0, 255]),
  data range 255, an 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, population
  (not sample) variances, the mean taken over the 'valid' window positions only, after shaving
  `shave` = scale pixels. scikit-image's `structural_similarity(gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False, data_range=255)` computes the same number.
"""

from __future__ import annotations

import math

import numpy as np

Y_COEFFS = np.array([65.738, 129.057, 25.064]) / 256  # per unit of R, G, B in [0, 1]
Y_OFFSET = 16 / 255
SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # 11x11 window
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _as_array(img) -> np.ndarray:
    """(3, H, W) float64 numpy array from a numpy array or a torch tensor."""
    if hasattr(img, "detach"):
        img = img.detach().cpu().numpy()
    arr = np.asarray(img, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[0] != 3:
        raise ValueError(f"expected a (3, H, W) RGB image, got shape {arr.shape}")
    return arr


def shave_for(scale: int, mode: str = "y") -> int:
    """The border the protocol ignores: scale for Y (benchmarks), scale + 6 for RGB (DIV2K)."""
    if mode == "y":
        return int(scale)
    if mode == "rgb":
        return int(scale) + 6
    raise ValueError(f"unknown metric mode {mode!r}; choose y or rgb")


def _shave(x: np.ndarray, shave: int) -> np.ndarray:
    if shave <= 0:
        return x
    if x.shape[-2] <= 2 * shave or x.shape[-1] <= 2 * shave:
        raise ValueError(f"image {x.shape[-2:]} too small for a {shave}-pixel border shave")
    return x[..., shave:-shave, shave:-shave]


def rgb_to_y(img) -> np.ndarray:
    """BT.601 luma of a (3, H, W) RGB image in [0, 1], as (H, W) in [16/255, 235/255]."""
    return Y_OFFSET + np.tensordot(Y_COEFFS, _as_array(img), axes=(0, 0))


def psnr(sr, hr, shave: int = 0, mode: str = "y") -> float:
    """PSNR in dB (peak 1) of `sr` against `hr` on Y or RGB, ignoring a `shave`-pixel border."""
    diff = _as_array(sr) - _as_array(hr)
    if mode == "y":
        diff = np.tensordot(Y_COEFFS, diff, axes=(0, 0))  # (H, W)
    elif mode != "rgb":
        raise ValueError(f"unknown metric mode {mode!r}; choose y or rgb")
    mse = float(np.mean(_shave(diff, shave) ** 2))
    return math.inf if mse == 0 else -10 * math.log10(mse)


def _gaussian_window() -> np.ndarray:
    x = np.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=np.float64)
    g = np.exp(-(x * x) / (2 * SSIM_SIGMA ** 2))
    return g / g.sum()


def _filter_valid(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable correlation of a 2-D array with g ⊗ g, 'valid' positions only."""
    n = len(g)
    rows = sum(g[i] * x[i:x.shape[0] - n + 1 + i] for i in range(n))
    return sum(g[j] * rows[:, j:rows.shape[1] - n + 1 + j] for j in range(n))


def ssim_gray(a: np.ndarray, b: np.ndarray, data_range: float = 255.0) -> float:
    """Mean SSIM of two (H, W) images (Gaussian 11x11, sigma 1.5, valid window positions)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = 2 * SSIM_RADIUS + 1
    if a.shape != b.shape or min(a.shape) < n:
        raise ValueError(f"SSIM needs two equal images of at least {n}x{n}, got "
                         f"{a.shape} and {b.shape}")
    g = _gaussian_window()
    mu_a, mu_b = _filter_valid(a, g), _filter_valid(b, g)
    var_a = _filter_valid(a * a, g) - mu_a ** 2
    var_b = _filter_valid(b * b, g) - mu_b ** 2
    cov = _filter_valid(a * b, g) - mu_a * mu_b
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def ssim(sr, hr, shave: int = 0) -> float:
    """SSIM on the Y channel (8-bit units) of two (3, H, W) RGB images in [0, 1]."""
    y_sr = _shave(rgb_to_y(sr) * 255, shave)
    y_hr = _shave(rgb_to_y(hr) * 255, shave)
    return ssim_gray(y_sr, y_hr)
