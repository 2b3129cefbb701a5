"""The demo: scale choice, the LR/ground-truth pair, degradations, honest labels, and a real run
of the released weights on a small photo."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnaps.answer import stage6_demo as demo
from cnaps.errors import InputImageError, ScaleError, WeightsNotInstalledError
from cnaps.sr.weights import InstalledWeights


@pytest.mark.parametrize("scales, chosen, note", [
    ([], 4.0, "no scale was given, so x4 was assumed"),
    ([8.0], 8.0, "x8 as asked"),
    ([3.5], 3.5, "x3.5 as asked"),
    ([12.0], 12.0, "x12 as asked"),
    ([32.0], 32.0, "x32 as asked"),
    ([2.0, 8.0, 4.0], 8.0, "x2, x4 and x8 were asked; the demo runs x8, the largest of them"),
    ([2.0, 40.0], 2.0, "x2 and x40 were asked; the demo runs x2, the largest the photo allows"),
    ([40.0], 32.0, "x40 was asked; the demo runs x32, the largest its 512 px photo allows "
                   "(a 16 px input)"),
    ([1.05], 1.1, "x1.05 was asked; the demo runs x1.1, the smallest at which input and "
                  "output visibly differ"),
    ([1.0], 4.0, "no scale was given, so x4 was assumed"),
])
def test_choose_scale(scales, chosen, note):
    assert demo.choose_scale(scales, 512) == (chosen, note)


@pytest.mark.parametrize("scale, side", [(4.0, 384), (24.0, 384), (30.0, 480), (32.0, 512)])
def test_ground_truth_grows_only_when_the_scale_needs_it(scale, side):
    photo, _, zoom = demo.load_photo(None, scale)
    assert photo.shape == (side, side, 3)
    gt, lr = demo.make_pair(photo, scale)
    assert min(lr.shape[:2]) >= demo.MIN_LR_SIDE
    top, left, zside = zoom  # the face stays inside the crop
    assert 0 <= top and 0 <= left and top + zside <= side and left + zside <= side


@pytest.mark.parametrize("scale, lr_side, gt_side",
                         [(8.0, 48, 384), (3.5, 109, 382), (4.0, 96, 384)])
def test_pair_is_cropped_to_lr_size_times_scale(scale, lr_side, gt_side):
    photo, note, zoom = demo.load_photo(None)
    assert photo.shape == (384, 384, 3) and "astronaut" in note and "col 64" in note
    gt, lr = demo.make_pair(photo, scale)
    assert lr.shape == (lr_side, lr_side, 3) and gt.shape == (gt_side, gt_side, 3)
    assert lr.dtype == gt.dtype == np.uint8
    expected = np.asarray(Image.fromarray(gt).resize((lr_side, lr_side), Image.BICUBIC))
    assert np.array_equal(lr, expected)


def test_too_small_photo_is_a_user_error(tmp_path):
    path = tmp_path / "tiny.png"
    Image.new("RGB", (40, 40), "gray").save(path)
    photo, _, _ = demo.load_photo(str(path))
    with pytest.raises(InputImageError, match="at least 16 px"):
        demo.make_pair(photo, 8.0)


def test_unreadable_image_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(InputImageError, match="not a readable image"):
        demo.load_photo(str(bad))
    with pytest.raises(InputImageError, match="no such file"):
        demo.load_photo(str(tmp_path / "missing.png"))


def test_degradations_are_seeded_and_ordered():
    _, lr = demo.make_pair(demo.load_photo(None)[0], 8.0)
    noisy = demo.degrade(lr, ["noise"], seed=0)
    assert np.array_equal(noisy, demo.degrade(lr, ["noise"], seed=0))
    assert not np.array_equal(noisy, demo.degrade(lr, ["noise"], seed=1))
    residual = noisy.astype(float) - lr.astype(float)
    assert 8.0 < residual.std() < 11.0  # sigma 10, a little clipping
    for kind in ("blur", "jpeg"):
        assert not np.array_equal(demo.degrade(lr, [kind], 0), lr)
    assert np.array_equal(demo.degrade(lr, [], 0), lr)


def _fake_installed(monkeypatch, names):
    entries = {n: InstalledWeights(name=n, file=f"/x/{n}.pth", sha256="0" * 64, size=1,
                                   encoder="rdn" if "rdn" in n else "edsr-baseline",
                                   source="test", added="") for n in names}
    monkeypatch.setattr("cnaps.sr.weights.installed", lambda: entries)


def test_missing_rdn_weights_are_substituted_and_labelled(monkeypatch):
    _fake_installed(monkeypatch, ["liif-edsr-baseline"])
    plan = demo.plan_demo("liif-rdn", "LIIF-RDN", [8.0], ["noise"])
    assert plan.weights == "liif-edsr-baseline"
    assert plan.model == "LIIF with the EDSR-baseline encoder"
    assert plan.substitute_for == "LIIF-RDN"


def test_installed_recommended_weights_run_as_themselves(monkeypatch):
    _fake_installed(monkeypatch, ["liif-edsr-baseline", "liif-rdn"])
    plan = demo.plan_demo("liif-rdn", "LIIF-RDN", [], [])
    assert (plan.weights, plan.model, plan.substitute_for) == (
        "liif-rdn", "LIIF with the RDN encoder", None)
    assert plan.scale == 4.0 and "assumed" in plan.scale_note


def test_no_weights_at_all_says_how_to_install(monkeypatch):
    _fake_installed(monkeypatch, [])
    with pytest.raises(WeightsNotInstalledError, match="cnaps weights pull liif-edsr-baseline"):
        demo.plan_demo("liif-rdn", "LIIF-RDN", [8.0], [])


def test_scale_option_is_validated(monkeypatch):
    _fake_installed(monkeypatch, ["liif-edsr-baseline"])
    with pytest.raises(ScaleError, match="--scale"):
        demo.plan_demo("liif-edsr-baseline", "LIIF-EDSR", [], [], scale=0.5)
    assert demo.plan_demo("liif-edsr-baseline", "LIIF-EDSR", [8.0], [], scale=3.0).scale == 3.0


@pytest.fixture
def small_photo(tmp_path):
    from skimage import data

    path = tmp_path / "face.png"
    Image.fromarray(data.astronaut()[80:208, 160:288]).save(path)  # 128x128, the face
    return str(path)


def test_run_demo_on_a_small_photo(released_model, small_photo):
    plan = demo.plan_demo("liif-edsr-baseline", "LIIF-EDSR", [4.0], [], image=small_photo)
    run = demo.run_demo(plan)
    r = run.result
    assert (r.input_size.width, r.output_size.width) == (32, 128)
    assert r.weights_sha256 == "1cf77e16f33ee17bd04049f497eaea1e06f25585dbb1919e4c7cd1d9d4d23d57"
    assert r.substitute_for is None and r.raw is None
    assert r.psnr.model > r.psnr.bicubic  # clean x4: LIIF beats bicubic
    assert 0 < r.ssim.bicubic < r.ssim.model < 1
    assert set(run.pictures) == {"lr", "bicubic", "model", "ground_truth", "comparison"}
    assert run.pictures["model"].size == (128, 128)
    again = demo.run_demo(plan).result
    assert (again.psnr, again.ssim) == (r.psnr, r.ssim)  # deterministic


class _Decision:
    weights_name = "liif-edsr-baseline"
    prefilter = True
    sigma = 9.87


def _fake_decide(mode, lr, weights=None):
    assert mode == "auto" and weights is None
    return _Decision()


def _fake_prefilter(lr, sigma):
    return np.asarray(Image.fromarray(lr).resize((8, 8)).resize(lr.shape[1::-1]))


def test_noise_handling_hook_reports_the_run_without_it(released_model, small_photo,
                                                         monkeypatch):
    monkeypatch.setattr("cnaps.sr.denoise.decide", _fake_decide)
    monkeypatch.setattr("cnaps.sr.denoise.prefilter", _fake_prefilter)
    plan = demo.plan_demo("liif-edsr-baseline", "LIIF-EDSR", [4.0], ["noise"], image=small_photo)
    r = demo.run_demo(plan).result
    assert r.raw is not None and r.raw.weights == "liif-edsr-baseline"
    assert r.denoise == ("--denoise auto estimated noise sigma 9.9 (8-bit units) and used a "
                         "non-local-means pre-filter")
    assert r.raw.psnr.model != r.psnr.model
