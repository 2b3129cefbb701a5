"""Stage 6, the demo: prove the answer by running the model on a real photo.

Protocol (the paper's evaluation made visible): ground truth = a square of the photo, as large as
the scale needs for an input of at least 16 px, cropped to a multiple of the scale; LR = PIL bicubic downscale of the 8-bit ground truth; the requested
degradations are applied to the LR with a fixed seed (blur, then noise, then JPEG: the order in
which a camera and a file format would add them); the model upscales the LR back to the ground
truth size; PSNR and SSIM on the Y channel with a border of `ceil(scale)` pixels shaved, on the
float output, for the model and for plain PIL bicubic upscaling of the same LR.

Only the weights that actually ran are named: when the recommended weights are not installed
and the installed EDSR-baseline LIIF runs instead, the result says so (`substitute_for`). The
comparison figure is drawn by `cnaps.answer.figure`.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

from cnaps.answer.figure import comparison, short, to_uint8
from cnaps.answer.records import (
    BLUR_RADIUS,
    JPEG_QUALITY,
    NOISE_SIGMA,
    DemoPlan,
    DemoRaw,
    DemoResult,
    DemoRun,
    Pair,
    Size,
    fmt_scale,
)
from cnaps.errors import InputImageError, ScaleError
from cnaps.sr import imageio
from cnaps.sr.crops import busiest_box
from cnaps.sr.weights import DEFAULT_WEIGHTS

DEGRADATIONS = ("blur", "noise", "jpeg")  # applied in this order
DEFAULT_SCALE = 4.0
MIN_DEMO_SCALE = 1.1  # below this the input and output barely differ: nothing to show
CROP_SIDE = 384  # ground-truth side up to x24: keeps a demo to ~10 s on two CPU cores
MIN_LR_SIDE = 16  # the smallest input side the demo shows: x32 from a 512 px photo
FALLBACK_WEIGHTS = "liif-edsr-baseline"
# The default photo: scikit-image's astronaut (public domain, NASA), the face and collar.
DEFAULT_PHOTO = "skimage.data.astronaut"
DEFAULT_CROP = (0, 64)  # (top, left) of the CROP_SIDE square in the 512x512 photo
DEFAULT_ZOOM = (88, 188, 96)  # (top, left, side) in the photo: the face


def largest_scale(short_side: int) -> float:
    """The largest scale at which a photo of this short side still gives a MIN_LR_SIDE input."""
    return short_side / MIN_LR_SIDE


def choose_scale(scales: list[float], short_side: int) -> tuple[float, str]:
    """The demo's scale and a sentence saying why.

    Rule: the scale asked, when the photo allows it (from MIN_DEMO_SCALE up to
    `largest_scale`); several asked, the largest allowed one (the most telling: the hardest);
    above the photo's limit only, that limit; none asked, x4 (assumed)."""
    top = largest_scale(short_side)
    asked = sorted({float(s) for s in scales if s > 1})
    if not asked:
        return DEFAULT_SCALE, f"no scale was given, so x{fmt_scale(DEFAULT_SCALE)} was assumed"
    listed = join_scales(asked)
    usable = [s for s in asked if s <= top]
    if not usable:
        return top, (f"{listed} was asked; the demo runs x{fmt_scale(top)}, the largest its "
                     f"{short_side} px photo allows (a {MIN_LR_SIDE} px input)")
    chosen = max(usable[-1], MIN_DEMO_SCALE)
    if len(asked) == 1:
        if chosen != asked[0]:
            return chosen, (f"{listed} was asked; the demo runs x{fmt_scale(chosen)}, the "
                            "smallest at which input and output visibly differ")
        return chosen, f"{listed} as asked"
    return chosen, (f"{listed} were asked; the demo runs x{fmt_scale(chosen)}, the largest "
                    f"{'the photo allows' if usable[-1] != asked[-1] else 'of them'}")


def join_scales(scales: list[float]) -> str:
    """[2, 3.5, 6] -> 'x2, x3.5 and x6'."""
    words = [f"x{fmt_scale(s)}" for s in scales]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def plan_demo(recommended_weights: str, recommended_label: str, scales: list[float],
              degradations: list[str], image: str | None = None, seed: int = 0,
              scale: float | None = None) -> DemoPlan:
    """Decide what runs. Raises WeightsNotInstalledError when no LIIF weights are installed."""
    from cnaps.sr.weights import installed, resolve

    short_side = photo_short_side(image)
    if scale is not None:
        top = largest_scale(short_side)
        if not (1 < scale <= top):
            raise ScaleError(f"--scale must be above 1 and at most {fmt_scale(top)} (a "
                             f"{MIN_LR_SIDE} px input from the {short_side} px photo), got "
                             f"{scale}; e.g. --scale 4")
        chosen, note = float(scale), f"x{fmt_scale(scale)} set with --scale"
    else:
        chosen, note = choose_scale(scales, short_side)
    have = installed()
    substitute_for = None
    weights = recommended_weights
    if weights not in have:
        resolve(FALLBACK_WEIGHTS)  # raises, saying how to install, when nothing can run
        weights, substitute_for = FALLBACK_WEIGHTS, recommended_label
    model = model_label(weights)
    wanted = [d for d in DEGRADATIONS if d in degradations]
    return DemoPlan(weights=weights, model=model, substitute_for=substitute_for, scale=chosen,
                    scale_note=note, degradations=wanted, denoise=denoise_note(wanted),
                    image=image, seed=seed)


ENCODER_NAMES = {"edsr-baseline": "EDSR-baseline", "rdn": "RDN"}
RELEASED_WEIGHTS = {"liif-edsr-baseline", "liif-rdn"}


def model_label(weights: str) -> str:
    """What ran, in words: the encoder, and the weights' name and provenance unless they are a
    release (weights trained by cnaps are always labelled as such, never passed off as released)."""
    from cnaps.sr.weights import KNOWN, resolve

    encoder = resolve(weights).encoder
    label = f"LIIF with the {ENCODER_NAMES.get(encoder, encoder)} encoder"
    if weights in RELEASED_WEIGHTS:
        return label
    known = KNOWN.get(weights)
    origin = ", fine-tuned here, not a released model" if known and known.trained_here else ""
    return f"{label} ({weights} weights{origin})"


def denoise_note(degradations: list[str]) -> str:
    """How noise will be handled, before the run (the run's own decision replaces it)."""
    if "noise" not in degradations:
        return "not needed (no noise was added)"
    return "--denoise auto"


def denoise_decision(plan: DemoPlan, lr: np.ndarray):
    """`--denoise auto` for a noisy input: (weights, input to upscale, note), or None when
    there is no noise or auto changes nothing. The plan's weights are kept unless they are the
    released EDSR-baseline ones, which auto may swap for noise-robust weights."""
    from cnaps.sr import denoise

    if "noise" not in plan.degradations:
        return None
    keep = None if plan.weights == DEFAULT_WEIGHTS else plan.weights
    decision = denoise.decide("auto", lr, weights=keep)
    steps = []
    if decision.prefilter:
        steps.append("a non-local-means pre-filter")
    if decision.weights_name != plan.weights:
        steps.append(f"the {decision.weights_name} weights")
    if not steps:
        return None
    inp = denoise.prefilter(lr, decision.sigma) if decision.prefilter else lr
    note = (f"--denoise auto estimated noise sigma {decision.sigma:.1f} (8-bit units) and "
            f"used {' and '.join(steps)}")
    return decision.weights_name, np.ascontiguousarray(inp), note


def _read_photo(image: str | None) -> tuple[np.ndarray, str]:
    """The whole photo (RGB uint8) and its name."""
    if image is None:
        from skimage import data

        return data.astronaut(), f"{DEFAULT_PHOTO}()"
    path = Path(image)
    if not path.is_file():
        raise InputImageError(f"--image {image}: no such file; give a PNG or JPEG photo")
    try:
        with Image.open(path) as im:
            rgb = imageio.rgb8(im, path)  # 16-bit and float scaled, bombs refused
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputImageError(f"--image {image} is not a readable image ({exc}); "
                              "give a PNG or JPEG photo") from None
    return rgb, path.name


def photo_short_side(image: str | None) -> int:
    """Short side of the demo photo, which bounds the demo's scale."""
    if image is None:
        return 512  # scikit-image's astronaut is 512x512
    rgb, _ = _read_photo(image)
    return min(rgb.shape[:2])


def load_photo(image: str | None, scale: float = DEFAULT_SCALE
               ) -> tuple[np.ndarray, str, tuple[int, int, int] | None]:
    """The ground-truth square (RGB uint8), its description, and a zoom box if known.

    The square is CROP_SIDE wide, or as wide as `scale` needs for a MIN_LR_SIDE input (up to
    the photo's short side): demo time depends on the output size, so the crop stays small
    unless a large scale needs more."""
    rgb, name = _read_photo(image)
    h, w = rgb.shape[:2]
    side = min(h, w, max(CROP_SIDE, math.ceil(MIN_LR_SIDE * scale)))
    if image is None:
        top, left = min(DEFAULT_CROP[0], h - side), min(DEFAULT_CROP[1], w - side)
        z_top, z_left, z_side = DEFAULT_ZOOM
        zoom = (z_top - top, z_left - left, z_side)
    else:
        top, left, zoom = (h - side) // 2, (w - side) // 2, None
    crop = rgb[top:top + side, left:left + side]
    where = "crop" if image is None else "centre crop"
    return np.ascontiguousarray(crop), f"{name} {where} at row {top}, col {left}", zoom


def make_pair(photo: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(ground truth, LR): the photo cropped so its size is LR size x scale, and its PIL
    bicubic downscale on 8-bit data."""
    h, w = photo.shape[:2]
    lr_h, lr_w = int(h // scale), int(w // scale)
    if min(lr_h, lr_w) < MIN_LR_SIDE:
        raise InputImageError(
            f"a {w}x{h} photo at x{fmt_scale(scale)} leaves a {lr_w}x{lr_h} input; need at "
            f"least {MIN_LR_SIDE} px a side: give a larger --image or a smaller --scale")
    gt_h, gt_w = round(lr_h * scale), round(lr_w * scale)
    gt = photo[:gt_h, :gt_w]
    lr = np.asarray(Image.fromarray(gt).resize((lr_w, lr_h), Image.BICUBIC))
    return np.ascontiguousarray(gt), lr


def degrade(lr: np.ndarray, degradations: list[str], seed: int) -> np.ndarray:
    """The 8-bit LR with blur, noise, JPEG applied (those asked, in that order)."""
    from cnaps.sr.degrade import add_gaussian_noise, jpeg_compress

    out = lr
    if "blur" in degradations:
        out = np.asarray(Image.fromarray(out).filter(ImageFilter.GaussianBlur(BLUR_RADIUS)))
    if "noise" in degradations:
        out = add_gaussian_noise(out, NOISE_SIGMA, seed)
    if "jpeg" in degradations:
        out = jpeg_compress(out, JPEG_QUALITY)
    return np.ascontiguousarray(out)


def y_metrics(pred: np.ndarray, gt: np.ndarray, shave: int) -> tuple[float, float]:
    """(PSNR dB, SSIM) on the Y channel (`cnaps.sr.metrics`); pred, gt float (H, W, 3) in
    [0, 1]."""
    from cnaps.sr.metrics import psnr, ssim

    sr, hr = pred.transpose(2, 0, 1), gt.transpose(2, 0, 1)
    return psnr(sr, hr, shave=shave, mode="y"), ssim(sr, hr, shave=shave)


@contextmanager
def deterministic_torch():
    """Deterministic kernels for the run, restoring the caller's setting afterwards."""
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)


def run_model(weights: str, lr: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, str]:
    """Float (H, W, 3) output of the named weights for an 8-bit LR, and the weights' sha256."""
    from cnaps.sr.inference import load_weights_once, upscale
    from cnaps.sr.weights import resolve

    model = load_weights_once(weights)
    inp = torch.tensor(lr).permute(2, 0, 1).float().div(255.0)  # (3, h, w)
    with deterministic_torch(), torch.no_grad():
        out = upscale(model, inp, size)  # (3, H, W) in [0, 1]
    return out.permute(1, 2, 0).double().numpy(), resolve(weights).sha256


def run_demo(plan: DemoPlan) -> DemoRun:
    """Run the plan: make the pair, degrade, upscale, measure, draw."""
    start = time.perf_counter()
    photo, photo_note, zoom = load_photo(plan.image, plan.scale)
    gt, lr_clean = make_pair(photo, plan.scale)
    lr = degrade(lr_clean, plan.degradations, plan.seed)
    gt_h, gt_w = gt.shape[:2]
    gt_f = gt.astype(np.float64) / 255.0
    shave = math.ceil(plan.scale)
    decided = denoise_decision(plan, lr)
    weights, model_input, denoise = decided or (plan.weights, lr, plan.denoise)
    out, sha = run_model(weights, model_input, (gt_h, gt_w))
    bicubic = np.asarray(Image.fromarray(lr).resize((gt_w, gt_h), Image.BICUBIC))
    psnr_m, ssim_m = y_metrics(out, gt_f, shave)
    psnr_b, ssim_b = y_metrics(bicubic.astype(np.float64) / 255.0, gt_f, shave)
    label = plan.model if weights == plan.weights else model_label(weights)
    panels = [(f"input {lr.shape[1]}x{lr.shape[0]} (nearest)", Image.fromarray(lr)),
              ("bicubic", Image.fromarray(bicubic))]
    raw = None
    if decided:
        raw_out, _ = run_model(plan.weights, lr, (gt_h, gt_w))
        psnr_r, ssim_r = y_metrics(raw_out, gt_f, shave)
        raw = DemoRaw(model=plan.model, weights=plan.weights, psnr=Pair(model=psnr_r,
                      bicubic=psnr_b), ssim=Pair(model=ssim_r, bicubic=ssim_b))
        panels.append((f"{short(plan.model)}, noisy input", Image.fromarray(to_uint8(raw_out))))
    panels += [(short(label) + (", --denoise auto" if decided else ""),
                Image.fromarray(to_uint8(out))),
               ("ground truth", Image.fromarray(gt))]
    pictures = {"lr": panels[0][1], "bicubic": panels[1][1], "model": panels[-2][1],
                "ground_truth": panels[-1][1]}
    pictures["comparison"] = comparison(panels, zoom if zoom is not None else busiest_box(gt))
    result = DemoResult(
        model=label, weights=weights, weights_sha256=sha,
        substitute_for=plan.substitute_for, photo=photo_note,
        input_size=Size(width=lr.shape[1], height=lr.shape[0]),
        output_size=Size(width=gt_w, height=gt_h), scale=plan.scale,
        scale_note=plan.scale_note, degradations=plan.degradations, denoise=denoise,
        seed=plan.seed, psnr=Pair(model=psnr_m, bicubic=psnr_b),
        ssim=Pair(model=ssim_m, bicubic=ssim_b), raw=raw,
        seconds=round(time.perf_counter() - start, 3))
    return DemoRun(result=result, pictures=pictures)
