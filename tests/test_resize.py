"""MATLAB-compatible imresize: derivable properties, and agreement with resize-right (a PyPI
package that reimplements MATLAB's imresize) when it is installed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnaps.errors import ScaleError
from cnaps.sr.resize import contributions, cubic, downsample, imresize_matlab, resize_pil


def test_cubic_kernel_values():
    assert cubic(np.array([0.0]))[0] == 1.0
    np.testing.assert_allclose(cubic(np.array([1.0, 2.0, -1.0, -2.0, 2.5])), 0.0, atol=1e-15)
    # a = -0.5: k(0.5) = 1.5/8 - 2.5/4 + 1 = 0.5625, k(1.5) = -0.0625
    np.testing.assert_allclose(cubic(np.array([0.5, -1.5])), [0.5625, -0.0625])


@pytest.mark.parametrize("in_len,out_len", [(12, 6), (12, 4), (12, 3), (13, 7), (5, 10), (7, 11)])
def test_weights_sum_to_one_and_indices_in_range(in_len, out_len):
    weights, indices = contributions(in_len, out_len, out_len / in_len)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    assert indices.min() >= 0 and indices.max() < in_len
    assert weights.shape == indices.shape and weights.shape[0] == out_len


def test_kernel_widens_when_shrinking():
    taps_half = contributions(64, 32, 0.5)[0].shape[1]
    taps_quarter = contributions(64, 16, 0.25)[0].shape[1]
    taps_up = contributions(16, 32, 2.0)[0].shape[1]
    assert taps_up <= 6 and taps_half > taps_up and taps_quarter > taps_half


@pytest.mark.parametrize("shape,scale,expected", [
    ((10, 10), 0.5, (5, 5)), ((11, 7), 0.5, (6, 4)), ((9, 9), 1 / 3, (3, 3)),
    ((4, 5), 2, (8, 10)), ((7, 3), 1.5, (11, 5)), ((100, 50), 0.25, (25, 13))])
def test_output_size_is_ceil(shape, scale, expected):
    img = np.zeros(shape + (3,), dtype=np.uint8)
    assert imresize_matlab(img, scale=scale).shape == expected + (3,)


@pytest.mark.parametrize("scale", [0.5, 1 / 3, 0.25, 2, 1.7])
def test_constant_image_is_exact(scale):
    img = np.full((24, 36, 3), 137, dtype=np.uint8)
    out = imresize_matlab(img, scale=scale)
    assert out.dtype == np.uint8 and np.all(out == 137)
    out_f = imresize_matlab(img.astype(np.float64) / 255, scale=scale)
    np.testing.assert_allclose(out_f, 137 / 255, atol=1e-12)


@pytest.mark.parametrize("scale", [0.5, 0.25, 2.0])
def test_linear_ramp_is_exact_away_from_borders(scale):
    # Cubic convolution reproduces linear functions; mirrored borders do not, so skip them.
    n = 64
    ramp = np.tile(np.arange(n, dtype=np.float64)[None, :], (8, 1)) * 0.5 + 3
    out = imresize_matlab(ramp, output_shape=(8, int(n * scale)))
    x = np.arange(1, int(n * scale) + 1)
    u = x / scale + 0.5 * (1 - 1 / scale) - 1  # 0-based input coordinate of each output
    expected = u * 0.5 + 3
    margin = int(np.ceil(2 / min(scale, 1))) + 1
    np.testing.assert_allclose(out[3, margin:-margin], expected[margin:-margin], atol=1e-10)


def _matrix(in_len, out_len):
    weights, indices = contributions(in_len, out_len, out_len / in_len)
    m = np.zeros((out_len, in_len))
    for row, (w, i) in enumerate(zip(weights, indices)):
        np.add.at(m[row], i, w)
    return m


def test_uint8_rounds_and_clips_after_each_pass():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (30, 40), dtype=np.uint8)
    img[:, 20:24] = 255  # cubic overshoots around a bright bar
    out = imresize_matlab(img, scale=2)
    assert out.dtype == np.uint8 and out.shape == (60, 80)
    assert imresize_matlab(img.astype(np.float64), scale=2).max() > 255

    def to_uint8(x):
        return np.clip(np.floor(x + 0.5), 0, 255)
    rows_first = to_uint8(_matrix(30, 60) @ img)  # the same as a matrix product, rows first
    expected = to_uint8(rows_first @ _matrix(40, 80).T)
    np.testing.assert_array_equal(out, expected)


def test_downsample_kernels_and_sizes():
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (48, 36, 3), dtype=np.uint8)
    for kernel in ("pil", "matlab"):
        lr = downsample(img, 4, kernel)
        assert lr.shape == (12, 9, 3) and lr.dtype == np.uint8
    expected = np.asarray(Image.fromarray(img).resize((9, 12), Image.BICUBIC))
    np.testing.assert_array_equal(downsample(img, 4, "pil"), expected)
    np.testing.assert_array_equal(resize_pil(img, (12, 9)), expected)
    # the two kernels agree closely on smooth content
    smooth = np.asarray(Image.fromarray(img).resize((9, 12)).resize((36, 48), Image.BILINEAR))
    diff = downsample(smooth, 3, "pil").astype(int) - downsample(smooth, 3, "matlab")
    assert np.abs(diff).mean() < 2
    with pytest.raises(ValueError):
        downsample(img, 2, "lanczos")


def test_bad_arguments():
    img = np.zeros((4, 4), dtype=np.uint8)
    with pytest.raises(ScaleError):
        imresize_matlab(img)
    with pytest.raises(ScaleError):
        imresize_matlab(img, scale=-1)
    with pytest.raises(ScaleError):
        imresize_matlab(img, scale=0.5, output_shape=(2, 2))


@pytest.mark.parametrize("in_shape,out_shape", [
    ((48, 60), (24, 30)), ((48, 60), (16, 20)), ((48, 60), (12, 15)), ((37, 53), (19, 27)),
    ((37, 53), (13, 18)), ((20, 30), (40, 60)), ((21, 17), (50, 23))])
def test_matches_resize_right(in_shape, out_shape):
    resize_right = pytest.importorskip("resize_right", reason="resize-right (dev extra) absent")
    rng = np.random.default_rng(3)
    img = rng.random(in_shape + (3,))
    ours = imresize_matlab(img, output_shape=out_shape)
    theirs = resize_right.resize(img, out_shape=out_shape + (3,), pad_mode="symmetric")
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
