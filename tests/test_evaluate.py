"""The evaluation protocol on small synthetic sets, and the spec's Set5 reference figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from cnaps.errors import DataError, ScaleError, InputImageError
from cnaps.sr.evaluate import (EvalReport, EvalSettings, evaluate, format_table, list_images,
                               make_pair, model_upscaler, plot, validate_scales)
from cnaps.sr.imageio import read_rgb
from cnaps.sr.resize import resize_pil


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def data(tmp_path):
    """Two tiny sets: 'A' with two RGB images of odd sizes, 'B' with a grayscale one."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:50, 0:45]
    smooth = (127 + 60 * np.sin(xx / 5.0)[..., None] * np.cos(yy / 7.0)[..., None]
              + rng.normal(0, 4, (50, 45, 3)))
    _write(tmp_path / "A" / "HR" / "one.png", np.clip(smooth, 0, 255).astype(np.uint8))
    _write(tmp_path / "A" / "HR" / "two.png", rng.integers(0, 256, (37, 41, 3), dtype=np.uint8))
    (tmp_path / "A" / "HR" / "notes.txt").write_text("not an image")
    _write(tmp_path / "B" / "HR" / "gray.png", np.clip(smooth[..., 0], 0, 255).astype(np.uint8))
    (tmp_path / "Empty" / "HR").mkdir(parents=True)
    return tmp_path


def bicubic_upscaler(lr, size):
    """A stand-in 'model': PIL bicubic of the 8-bit LR, i.e. exactly the baseline."""
    arr = (lr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return torch.from_numpy(resize_pil(arr, size).transpose(2, 0, 1).copy()).float() / 255


def test_list_images_and_errors(data):
    assert [p.name for p in list_images(data, "A")] == ["one.png", "two.png"]
    assert len(list_images(data, "A", limit=1)) == 1
    with pytest.raises(DataError, match="does not exist"):
        list_images(data / "missing", "A")
    with pytest.raises(DataError, match="sets found in .*A, B"):
        list_images(data, "Set5")
    with pytest.raises(DataError, match="empty"):
        list_images(data, "Empty")


def test_read_rgb_converts_grayscale(data, tmp_path):
    img = read_rgb(data / "B" / "HR" / "gray.png")
    assert img.shape == (50, 45, 3) and np.array_equal(img[..., 0], img[..., 2])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(InputImageError, match="not an image"):
        read_rgb(bad)


def test_validate_scales():
    assert validate_scales([2, 3.0, 4, 2]) == [2, 3, 4]
    for bad in ([1.5], [0], [-2], [1]):
        with pytest.raises(ScaleError):
            validate_scales(bad)


def test_make_pair_crops_top_left_and_downsamples(data):
    hr = read_rgb(data / "A" / "HR" / "two.png")  # 41 x 37
    crop, lr = make_pair(hr, 4, EvalSettings(sets=["A"], scales=[4]))
    assert crop.shape == (36, 40, 3) and np.array_equal(crop, hr[:36, :40])
    assert lr.shape == (9, 10, 3) and lr.dtype == np.uint8
    expected = np.asarray(Image.fromarray(crop).resize((10, 9), Image.BICUBIC))
    assert np.array_equal(lr, expected)
    _, lr_matlab = make_pair(hr, 4, EvalSettings(sets=["A"], scales=[4], lr_kernel="matlab"))
    assert lr_matlab.shape == lr.shape and not np.array_equal(lr_matlab, lr)


def test_make_pair_degradations_are_seeded(data):
    hr = read_rgb(data / "A" / "HR" / "one.png")
    noisy = EvalSettings(sets=["A"], scales=[2], noise=10)
    _, clean = make_pair(hr, 2, EvalSettings(sets=["A"], scales=[2]))
    _, a = make_pair(hr, 2, noisy, [0, 2, 1])
    _, b = make_pair(hr, 2, noisy, [0, 2, 1])
    _, c = make_pair(hr, 2, noisy, [1, 2, 1])
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert 8 < (a.astype(float) - clean).std() < 12
    _, j = make_pair(hr, 2, EvalSettings(sets=["A"], scales=[2], jpeg=20))
    assert j.shape == clean.shape and not np.array_equal(j, clean)


def test_evaluate_report(data, tmp_path):
    settings = EvalSettings(sets=["A", "B"], scales=[2, 3], per_image=True)
    report = evaluate(data, settings, bicubic_upscaler, "bicubic-standin", progress=False)
    assert [(r.set, r.scale, r.n) for r in report.results] == [
        ("A", 2, 2), ("A", 3, 2), ("B", 2, 1), ("B", 3, 1)]
    for r in report.results:
        # the stand-in is the baseline, so both columns agree exactly
        assert r.model.psnr == pytest.approx(r.bicubic.psnr, abs=1e-4)
        assert r.shave == r.scale and 10 < r.model.psnr < 60 and 0 < r.model.ssim <= 1
        assert len(r.images) == r.n
    a2 = report.result("A", 2)
    assert a2.model.psnr == pytest.approx(np.mean([i.model.psnr for i in a2.images]))
    assert report.result("A", 2).model.psnr > report.result("A", 3).model.psnr
    again = EvalReport.model_validate(json.loads(json.dumps(report.model_dump())))
    assert again == report
    table = format_table(report)
    assert "PSNR model" in table and "x3" in table and len(table.splitlines()) == 6
    plot(report, tmp_path / "out" / "plot.png")
    assert Image.open(tmp_path / "out" / "plot.png").size[0] > 300


def test_evaluate_rgb_metric_shave_and_too_large_scale(data):
    report = evaluate(data, EvalSettings(sets=["A"], scales=[2], metric="rgb"),
                      bicubic_upscaler, progress=False)
    assert report.results[0].shave == 8 and report.results[0].images is None
    with pytest.raises(ScaleError, match="too large"):
        evaluate(data, EvalSettings(sets=["A"], scales=[20]), bicubic_upscaler, progress=False)


def test_evaluate_noise_lowers_the_baseline(data):
    clean = evaluate(data, EvalSettings(sets=["A"], scales=[2]), bicubic_upscaler,
                     progress=False)
    noisy = evaluate(data, EvalSettings(sets=["A"], scales=[2], noise=15, seed=3),
                     bicubic_upscaler, progress=False)
    assert noisy.results[0].bicubic.psnr < clean.results[0].bicubic.psnr - 1
    assert "noise sigma 15" in noisy.protocol


# LIIF_SPEC §4: released EDSR-baseline-LIIF on Set5, PIL bicubic LR, Y PSNR, shave = scale.
SET5_REFERENCE = {2: (37.997, 33.673), 3: (34.418, 30.403), 4: (32.259, 28.429),
                  6: (28.955, 25.930), 8: (26.982, 24.399)}


@pytest.mark.slow
@pytest.mark.benchmark_data
def test_set5_reference_figures(benchmark_dir, released_model):
    settings = EvalSettings(sets=["Set5"], scales=list(SET5_REFERENCE))
    report = evaluate(benchmark_dir, settings, model_upscaler(released_model), progress=False)
    for scale, (model_psnr, bicubic_psnr) in SET5_REFERENCE.items():
        result = report.result("Set5", scale)
        assert result.n == 5
        assert result.model.psnr == pytest.approx(model_psnr, abs=0.005), f"x{scale}"
        assert result.bicubic.psnr == pytest.approx(bicubic_psnr, abs=0.005), f"x{scale}"
