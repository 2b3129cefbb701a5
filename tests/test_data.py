"""cnaps.sr.data: the paper's sampler, LR degradations, the Debian license parser, assembly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cnaps.errors import DataError
from cnaps.sr.data import (JpegAug, NoiseAug, Sampler, SamplerConfig, add_noise_u8, assemble,
                           degrade_lr, dep5_licenses, license_for, list_images)


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


def test_sampler_is_reproducible_from_its_rng_state():
    cfg = SamplerConfig(lr_size=8, scale_max=3, queries=20)
    a = Sampler([photo()], cfg, np.random.default_rng(5)).batch(2)
    b = Sampler([photo()], cfg, np.random.default_rng(5)).batch(2)
    assert all((x == y).all() for x, y in zip((a.inp, a.coord, a.gt), (b.inp, b.coord, b.gt)))


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
    assert (add_noise_u8(lr, 0, np.random.default_rng(0)) == lr).all()


def test_jpeg_augmentation_changes_the_image():
    lr = photo(48, 48)
    out = degrade_lr(lr, SamplerConfig(jpeg=JpegAug(p=1.0, q_min=20, q_max=20)),
                     np.random.default_rng(0))
    assert out.shape == lr.shape and not (out == lr).all()


COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
License: GPL-2+

Files: 16.04/Bridge_by_Sander_Klootwijk.jpg
Copyright: 2016 Sander Klootwijk
License: CC-BY-SA-4.0

Files: wallpapers/*.png
License: LGPL-3
"""


def test_dep5_licenses_last_matching_stanza_wins():
    stanzas = dep5_licenses(COPYRIGHT)
    assert stanzas[1] == (["16.04/Bridge_by_Sander_Klootwijk.jpg"], "CC-BY-SA-4.0")
    assert license_for("usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg",
                       stanzas) == "CC-BY-SA-4.0"
    assert license_for("usr/share/lxqt/wallpapers/fog.png", stanzas) == "LGPL-3"
    assert license_for("usr/share/other/x.jpg", stanzas) == "GPL-2+"


def test_list_images_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        list_images(tmp_path / "missing")
    with pytest.raises(DataError, match="no images"):
        list_images(tmp_path)


def test_assemble_scikit_image_photos_with_manifest(tmp_path):
    entries = assemble(tmp_path / "photos", tmp_path / "cache", debian=[], max_side=300)
    names = {e.file for e in entries}
    assert "skimage-astronaut.png" in names and len(entries) >= 4
    manifest = json.loads((tmp_path / "photos" / "manifest.json").read_text())
    assert {m["file"] for m in manifest} == names
    for m in manifest:
        assert m["license"] and m["source"] == "scikit-image"
        with Image.open(tmp_path / "photos" / m["file"]) as img:
            assert max(img.size) <= 300 and img.size == (m["width"], m["height"])
