"""Tiled upscaling: exact against the plain reference, tiles equal the whole image, sizes."""

from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from plain_liif import plain_upscale

from cnaps.errors import ScaleError
from cnaps.sr.inference import _bands, output_size, upscale

TOLERANCE = 1e-4


def photo(height, width, top=100, left=180):
    """A crop of a real photo (scikit-image's cat), (3, h, w) in [0, 1]."""
    img = skimage.data.chelsea()[top:top + height, left:left + width]
    return torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1).contiguous()


@pytest.mark.parametrize("lr_size,out_size", [
    ((24, 20), (48, 40)),     # x2
    ((17, 23), (63, 85)),     # x3.7, odd sizes
    ((16, 16), (128, 128)),   # x8
    ((20, 18), (30, 27)),     # x1.5
    ((5, 6), (150, 180)),     # x30
    ((12, 16), (40, 90)),     # different scales per axis
])
def test_released_weights_match_plain_reference(released_model, lr_size, out_size):
    lr = photo(*lr_size)
    ref = plain_upscale(released_model, lr, *out_size)
    out = upscale(released_model, lr, out_size)
    assert out.shape == (3, *out_size) and out.dtype == torch.float32
    assert (out - ref).abs().max().item() < TOLERANCE


@pytest.mark.parametrize("tile_pixels", [75 * 75, 90 * 90, 110 * 110])
def test_tiles_equal_whole_image(released_model, tile_pixels):
    """With the halo, tiles give the whole image's numbers (the encoder is 34 px deep)."""
    lr = photo(60, 70)
    whole = upscale(released_model, lr, (150, 161), tile_pixels=1 << 30)
    tiled = upscale(released_model, lr, (150, 161), tile_pixels=tile_pixels)
    assert (tiled - whole).abs().max().item() < 1e-5


def test_uint8_output_is_rounded_float(released_model):
    lr = photo(20, 20)
    as_float = upscale(released_model, lr, (50, 50))
    as_u8 = upscale(released_model, lr, (50, 50), out_dtype=torch.uint8)
    assert as_u8.dtype == torch.uint8
    expected = (as_float * 255).round().to(torch.uint8)
    assert (as_u8.int() - expected.int()).abs().max().item() <= 1


def test_beats_bicubic_on_a_real_photo(released_model):
    """Sanity on a real photo: LIIF x4 is closer to the original than bicubic."""
    from PIL import Image

    hr = photo(96, 96)
    hr_img = Image.fromarray((hr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    lr_img = hr_img.resize((24, 24), Image.BICUBIC)
    lr = torch.from_numpy(np.asarray(lr_img, dtype=np.float32) / 255).permute(2, 0, 1)
    bic = torch.from_numpy(np.asarray(lr_img.resize((96, 96), Image.BICUBIC),
                                      dtype=np.float32) / 255).permute(2, 0, 1)
    out = upscale(released_model, lr.contiguous(), (96, 96))

    def mse(a):
        return ((a - hr)[:, 4:-4, 4:-4] ** 2).mean().item()

    assert mse(out) < mse(bic)


@pytest.mark.parametrize("n_out,n_in,block", [(100, 13, 4), (7, 7, 3), (1000, 999, 64), (9, 3, 1)])
def test_bands_cover_every_output_index_once(n_out, n_in, block):
    bands = _bands(n_out, n_in, block)
    covered = [i for a, b in bands for i in range(a, b)]
    assert covered == list(range(n_out))


def test_output_size_validation():
    assert output_size(10, 20, scale=1.5) == (15, 30)
    assert output_size(10, 20, size=(40, 41)) == (40, 41)
    for bad in (1, 0.5, -2, float("nan"), float("inf")):
        with pytest.raises(ScaleError):
            output_size(10, 20, scale=bad)
    with pytest.raises(ScaleError, match="over the limit"):
        output_size(1000, 1000, scale=30, max_pixels=10_000_000)
    with pytest.raises(ScaleError, match="smaller than the input"):
        output_size(100, 100, size=(50, 200))
    with pytest.raises(ScaleError, match="either a scale"):
        output_size(10, 10)


def test_weights_are_loaded_once_per_process_and_file(released_model, tmp_path):
    from cnaps.sr.inference import load_weights_once
    from cnaps.sr.weights import resolve

    first = load_weights_once("liif-edsr-baseline")
    assert load_weights_once("liif-edsr-baseline") is first
    copy = tmp_path / "w.pth"
    copy.write_bytes(Path(resolve("liif-edsr-baseline").file).read_bytes())
    from_file = load_weights_once(copy)
    assert load_weights_once(copy) is from_file and from_file is not first
    copy.write_bytes(copy.read_bytes())  # same bytes, same key: still the loaded model
    assert load_weights_once(copy) is from_file



def test_warm_upscale_reuses_freed_memory(released_model):
    """On glibc the engine asks malloc to keep freed buffers: a second upscale touches almost no
    fresh pages (with glibc's defaults each query chunk's buffers were new pages: 189k faults
    here; with the setting mostly none, a heap growth now and then)."""
    import platform
    import resource

    from cnaps.sr.inference import _keep_freed_memory

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    lr = photo(32, 32)
    upscale(released_model, lr, (256, 256))
    assert _keep_freed_memory() is True
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    upscale(released_model, lr, (256, 256))
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 20000  # 189k without
