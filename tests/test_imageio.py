"""Image reading/writing: every Pillow mode we promise, and clear errors for bad files."""

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cnaps.errors import InputImageError
from cnaps.sr.imageio import read_image, save_atomic, to_pil


def rgb_array(h=12, w=16):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_rgb(tmp_path):
    arr = rgb_array()
    Image.fromarray(arr).save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert img.size == (12, 16) and not img.grayscale and img.alpha is None
    assert np.allclose(img.rgb.permute(1, 2, 0).numpy() * 255, arr)


def test_rgba_keeps_alpha(tmp_path):
    rgba = np.dstack([rgb_array(), np.full((12, 16), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = read_image(tmp_path / "a.png")
    assert img.alpha is not None and np.allclose(img.alpha, 128 / 255)


def test_grayscale_palette_and_16bit(tmp_path):
    gray = rgb_array()[:, :, 0]
    Image.fromarray(gray, "L").save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.grayscale and img.rgb.shape == (3, 12, 16)
    Image.fromarray(rgb_array()).convert("P").save(tmp_path / "p.png")
    assert not read_image(tmp_path / "p.png").grayscale
    g16 = (gray.astype(np.uint16) * 257)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    img16 = read_image(tmp_path / "g16.png")
    assert img16.sixteen_bit and img16.grayscale
    assert np.allclose(img16.rgb[0].numpy(), g16 / 65535, atol=1e-6)


def test_exif_orientation_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees
    Image.fromarray(rgb_array(10, 20)).save(tmp_path / "o.jpg", exif=exif)
    assert read_image(tmp_path / "o.jpg").size == (20, 10)  # rotated: height and width swap


def test_bad_files(tmp_path):
    with pytest.raises(InputImageError, match="does not exist"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "zero.png").write_bytes(b"")
    with pytest.raises(InputImageError, match="empty"):
        read_image(tmp_path / "zero.png")
    (tmp_path / "text.png").write_text("not an image at all")
    with pytest.raises(InputImageError, match="not an image"):
        read_image(tmp_path / "text.png")
    Image.fromarray(rgb_array(200, 200)).save(tmp_path / "full.png")
    (tmp_path / "trunc.png").write_bytes((tmp_path / "full.png").read_bytes()[:300])
    with pytest.raises(InputImageError, match="corrupt|truncated"):
        read_image(tmp_path / "trunc.png")
    with pytest.raises(InputImageError, match="not a file"):
        read_image(tmp_path)


def decompression_bomb(path, width=100_000, height=100_000):
    """A tiny PNG whose header declares an enormous image."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def test_decompression_bomb_refused_before_decoding(tmp_path):
    bomb = decompression_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 200
    with pytest.raises(InputImageError, match="10000 MP, over the input limit"):
        read_image(bomb)


def test_save_atomic_leaves_nothing_on_failure(tmp_path):
    img = to_pil(rgb_array())
    with pytest.raises(InputImageError, match="unknown image extension"):
        save_atomic(img, tmp_path / "out.xyz")
    with pytest.raises(InputImageError, match="does not exist"):
        save_atomic(img, tmp_path / "nodir" / "out.png")
    save_atomic(img, tmp_path / "out.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]
