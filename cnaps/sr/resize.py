"""Bicubic resizing for making LR inputs: PIL's, and a MATLAB-compatible `imresize`.

The LIIF paper's x2-x4 benchmark inputs were made with MATLAB's `imresize(img, 1/s, 'bicubic')`;
its x6+ inputs and the reference figures in LIIF_SPEC §4 use PIL's `Image.resize(..., BICUBIC)`.
Both are antialiased Keys cubic filters (a = -0.5) with the same pixel-centre mapping; they
differ at the borders (MATLAB mirrors the image, PIL drops the taps that fall outside and
renormalises), in the pass order (MATLAB rows first, PIL columns first) and in arithmetic (PIL
uses fixed-point weights), so their 8-bit LR images differ by a level or so, more near borders.

`imresize_matlab` follows MATLAB's documented algorithm: Keys' cubic kernel with a = -0.5; when
shrinking, the kernel is stretched by 1/scale (antialiasing); each output pixel x (1-based) maps to
u = x/scale + 0.5(1 - 1/scale); its weights are normalised to sum to one; out-of-range taps are
mirrored (symmetric padding); output size is ceil(in * scale). Dimensions are resized one at a
time, the one with the smaller scale first (rows first on ties); for uint8 input every pass is
rounded half away from zero and clipped to [0, 255], because MATLAB keeps the input's class
between passes.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from cnaps.errors import ScaleError

CUBIC_A = -0.5


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (support [-2, 2])."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    a = CUBIC_A
    near = (a + 2) * ax3 - (a + 3) * ax2 + 1
    far = a * ax3 - 5 * a * ax2 + 8 * a * ax - 4 * a
    return np.where(ax <= 1, near, np.where(ax < 2, far, 0.0))


def contributions(in_len: int, out_len: int, scale: float,
                  antialias: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per output pixel, the input indices it reads and their weights (MATLAB's algorithm).

    Returns (weights, indices), both (out_len, P); indices are 0-based and already mirrored
    into [0, in_len); every weights row sums to one."""
    kernel_width = 4.0
    if scale < 1 and antialias:
        kernel_width /= scale
        def kernel(x): return scale * cubic(scale * x)  # noqa: E306
    else:
        kernel = cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)  # (out,) input coordinate, 1-based
    left = np.floor(u - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    indices = left[:, None] + np.arange(taps)[None, :]  # (out, P), 1-based
    weights = kernel(u[:, None] - indices)
    weights /= weights.sum(axis=1, keepdims=True)
    # Symmetric padding: index sequence 1..n, n..1, 1..n, ...
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    indices = mirror[np.mod(indices.astype(np.int64) - 1, 2 * in_len)]
    keep = np.any(weights != 0, axis=0)  # drop all-zero edge columns, as MATLAB does
    return weights[:, keep], indices[:, keep]


def _resize_axis(img: np.ndarray, axis: int, out_len: int, scale: float,
                 antialias: bool) -> np.ndarray:
    weights, indices = contributions(img.shape[axis], out_len, scale, antialias)
    moved = np.moveaxis(img, axis, 0).astype(np.float64)  # (in, ...)
    gathered = moved[indices]  # (out, P, ...)
    w = weights.reshape(weights.shape + (1,) * (moved.ndim - 1))
    return np.moveaxis((gathered * w).sum(axis=1), 0, axis)


def _round_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x + 0.5), 0, 255).astype(np.uint8)  # MATLAB rounds half away


def imresize_matlab(img: np.ndarray, scale: float | None = None,
                    output_shape: tuple[int, int] | None = None,
                    antialias: bool = True) -> np.ndarray:
    """MATLAB `imresize(img, scale, 'bicubic')` of an (H, W) or (H, W, C) array.

    Give `scale` (output size ceil(in * scale)) or `output_shape` (rows, cols; the per-axis
    scales are then out/in). uint8 in -> uint8 out (rounded per pass, as MATLAB); float in ->
    float64 out, unclipped."""
    if (scale is None) == (output_shape is None):
        raise ScaleError("give exactly one of scale or output_shape")
    in_shape = img.shape[:2]
    if scale is not None:
        if not scale > 0 or not math.isfinite(scale):
            raise ScaleError(f"resize scale must be a positive number, got {scale}")
        scales = (float(scale), float(scale))
        out_shape = tuple(int(math.ceil(n * scale - 1e-9)) for n in in_shape)
    else:
        out_shape = tuple(int(n) for n in output_shape)
        scales = tuple(o / i for o, i in zip(out_shape, in_shape))
    if min(out_shape) < 1:
        raise ScaleError(f"resizing {in_shape} gives an empty image {out_shape}")
    is_uint8 = img.dtype == np.uint8
    out = img
    for axis in sorted(range(2), key=lambda a: scales[a]):  # stable: rows first on ties
        out = _resize_axis(out, axis, out_shape[axis], scales[axis], antialias)
        if is_uint8:
            out = _round_uint8(out)
    return out


def resize_pil(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """PIL bicubic resize of an 8-bit (H, W, 3) array to `size` = (rows, cols)."""
    if img.dtype != np.uint8:
        raise TypeError("resize_pil expects a uint8 image")
    rows, cols = size
    return np.asarray(Image.fromarray(img).resize((cols, rows), Image.BICUBIC))


def downsample(img: np.ndarray, scale: int, kernel: str = "pil") -> np.ndarray:
    """LR image of an 8-bit HR crop whose sides are multiples of `scale`: (H/s, W/s)."""
    rows, cols = img.shape[0] // scale, img.shape[1] // scale
    if kernel == "pil":
        return resize_pil(img, (rows, cols))
    if kernel == "matlab":  # as the benchmarks' scripts call it: imresize(hr, 1/s, 'bicubic')
        out = imresize_matlab(img, scale=1 / scale)
        assert out.shape[:2] == (rows, cols), (out.shape, rows, cols)
        return out
    raise ValueError(f"unknown LR kernel {kernel!r}; choose pil or matlab")
