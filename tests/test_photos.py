"""cnaps.sr.photos: the Debian license parser and the assembly of a training folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cnaps.errors import DataError
from cnaps.sr.photos import assemble, dep5_licenses, license_for
from test_data import photo


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
