"""Degradations of LR inputs beyond clean bicubic downsampling: Gaussian noise and JPEG.

LIIF was trained on clean bicubic LR images (LIIF_SPEC §3) and amplifies noise and compression
artifacts (§5); these functions make such inputs reproducibly, for evaluation (`cnaps eval
--noise/--jpeg`), demos and training. Images are (H, W, 3) uint8 or float in [0, 1]; each
function returns the type it was given.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(img * 255 + 0.5), 0, 255).astype(np.uint8)


def add_gaussian_noise(img: np.ndarray, sigma: float,
                       seed: int | Sequence[int] | np.random.Generator = 0) -> np.ndarray:
    """Add i.i.d. Gaussian noise of standard deviation `sigma` in 8-bit units (0-255).

    uint8 input: noise (float64) added, then rounded half up (floor(x + 0.5)) and clipped to
    [0, 255] -> uint8, i.e. the noisy image as it would be saved to an 8-bit file; training,
    evaluation and the demo all round this way (a tie needs x + noise to land exactly on .5,
    which continuous noise never does, so half up and half to even give the same images).
    Float input in [0, 1]: noise of sigma / 255, clipped to [0, 1], not rounded.
    `seed`: a seed (the same seed gives the same noise) or a Generator to draw from (training's
    sampler), used as it is."""
    if sigma < 0:
        raise ValueError(f"noise sigma must be >= 0, got {sigma}")
    img = np.asarray(img)
    if sigma == 0:
        return img.copy()
    noise = np.random.default_rng(seed).normal(0.0, sigma, size=img.shape)
    if img.dtype == np.uint8:
        return np.clip(np.floor(img + noise + 0.5), 0, 255).astype(np.uint8)
    return np.clip(img + noise / 255, 0, 1).astype(img.dtype)


def jpeg_compress(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at `quality` (1-95, PIL's scale; 4:2:0 chroma) and decode again."""
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    img = np.asarray(img)
    as_uint8 = img if img.dtype == np.uint8 else _to_uint8(img)
    buf = io.BytesIO()
    Image.fromarray(as_uint8).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    out = np.asarray(Image.open(buf).convert(Image.fromarray(as_uint8).mode))
    if img.dtype == np.uint8:
        return out
    return (out.astype(np.float64) / 255).astype(img.dtype)
