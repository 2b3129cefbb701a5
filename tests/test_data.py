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


def _build_deb(tmp_path, name: str, photo_array: np.ndarray):
    """A real .deb (dpkg-deb --build) holding one wallpaper and a DEP-5 copyright file."""
    import shutil
    import subprocess

    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not installed")
    root = tmp_path / "pkgroot"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        "Description: test wallpapers\n")
    walls = root / "usr/share/backgrounds" / name
    walls.mkdir(parents=True)
    Image.fromarray(photo_array).save(walls / "hill.png")
    doc = root / "usr/share/doc" / name
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: someone\nLicense: CC0-1.0\n")
    cache = tmp_path / "cache"
    cache.mkdir()
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root),
                    str(cache / f"{name}_1.0_all.deb")], check=True, capture_output=True)
    return cache


def test_assemble_extracts_a_debian_package_into_a_fresh_cache(tmp_path):
    cache = _build_deb(tmp_path, "test-wallpapers", photo(300, 400))
    entries = assemble(tmp_path / "photos", cache, debian=["test-wallpapers"], skimage=False,
                       max_side=200)
    assert [(e.source, e.origin, e.license) for e in entries] == [
        ("debian:test-wallpapers", "/usr/share/backgrounds/test-wallpapers/hill.png", "CC0-1.0")]
    assert (entries[0].width, entries[0].height) == (200, 150)
    assert (cache / "x" / "test-wallpapers").is_dir()  # extracted once, reused next time
    again = assemble(tmp_path / "photos2", cache, debian=["test-wallpapers"], skimage=False,
                     max_side=200)
    assert [e.sha256 for e in again] == [e.sha256 for e in entries]


def test_a_corrupt_deb_is_a_clear_error_and_leaves_no_extraction(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "broken-wallpapers_1.0_all.deb").write_bytes(b"not a deb")
    with pytest.raises(DataError, match="dpkg -x broken-wallpapers_1.0_all.deb failed"):
        assemble(tmp_path / "photos", cache, debian=["broken-wallpapers"], skimage=False)
    assert not (cache / "x" / "broken-wallpapers").exists()
    assert [p.name for p in cache.iterdir()] == ["broken-wallpapers_1.0_all.deb"]
