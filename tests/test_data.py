"""cnaps.sr.data: the paper's sampler and the LR degradations it draws."""

from __future__ import annotations

import numpy as np
import pytest

from cnaps.errors import DataError
from cnaps.sr.data import JpegAug, NoiseAug, Sampler, SamplerConfig, degrade_lr, list_images


def photo(h=96, w=128, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 2, y * 2, (x + y)], -1) % 256
    return np.clip(base + rng.integers(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


def test_sampler_batch_follows_the_recipe():
    cfg = SamplerConfig(lr_size=8, scale_min=2, scale_max=2, queries=50)
    img = photo()
    batch = Sampler([img], cfg, np.random.default_rng(0)).batch(3)
    assert batch.inp.shape == (3, 3, 8, 8)
    assert batch.coord.shape == batch.cell.shape == (3, 50, 2)
    assert batch.gt.shape == (3, 50, 3)
    assert batch.inp.min() >= -1 and batch.inp.max() <= 1
    # side = 16: every coordinate is a pixel centre of a 16-pixel grid, cell = 2/16
    idx = (batch.coord + 1) * 16 / 2 - 0.5
    assert np.allclose(idx, idx.round(), atol=1e-4)
    assert np.allclose(batch.cell, 2 / 16)
    # no pixel sampled twice within a crop
    for b in range(3):
        assert len({tuple(c) for c in batch.coord[b].tolist()}) == 50
    # gt values are pixel values of the photo (normalised)
    values = {tuple(v) for v in img.reshape(-1, 3).tolist()}
    gt = np.rint((batch.gt.numpy() * 0.5 + 0.5) * 255).astype(int).reshape(-1, 3)
    assert all(tuple(v) in values for v in gt.tolist())


def test_sampler_draws_only_from_its_rng():
    """What resuming a run relies on: a sampler given a saved generator state draws the batch
    the interrupted run would have drawn next (and a different one from the first)."""
    cfg = SamplerConfig(lr_size=8, scale_max=3, queries=20,
                        noise=NoiseAug(p_clean=0.5, sigma_min=5, sigma_max=20))
    rng = np.random.default_rng(5)
    sampler = Sampler([photo()], cfg, rng)
    first = sampler.batch(2)
    saved = rng.bit_generator.state
    second = sampler.batch(2)
    restored = np.random.default_rng(0)
    restored.bit_generator.state = saved
    again = Sampler([photo()], cfg, restored).batch(2)
    assert all((x == y).all() for x, y in zip((second.inp, second.coord, second.gt),
                                              (again.inp, again.coord, again.gt)))
    assert not (first.coord == second.coord).all()


def test_sampler_rejects_images_smaller_than_the_largest_crop():
    with pytest.raises(DataError, match="at least 192px"):
        Sampler([photo(100, 100)], SamplerConfig(), np.random.default_rng(0))


def test_noise_augmentation_levels():
    lr = np.full((64, 64, 3), 128, np.uint8)
    clean = degrade_lr(lr, SamplerConfig(noise=NoiseAug(p_clean=1.0, sigma_max=30)),
                       np.random.default_rng(0))
    assert (clean == lr).all()
    noisy = degrade_lr(lr, SamplerConfig(noise=NoiseAug(p_clean=0.0, sigma_min=10,
                                                        sigma_max=10)),
                       np.random.default_rng(0))
    assert noisy.dtype == np.uint8
    assert 9 < (noisy.astype(float) - 128).std() < 11


def test_jpeg_augmentation_changes_the_image():
    lr = photo(48, 48)
    out = degrade_lr(lr, SamplerConfig(jpeg=JpegAug(p=1.0, q_min=20, q_max=20)),
                     np.random.default_rng(0))
    assert out.shape == lr.shape and not (out == lr).all()


def test_list_images_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        list_images(tmp_path / "missing")
    with pytest.raises(DataError, match="no images"):
        list_images(tmp_path)
