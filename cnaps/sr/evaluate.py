"""The paper's evaluation protocol (LIIF_SPEC §4) on benchmark folders, model next to bicubic.

For every image of `<data>/<Set>/HR/` and every integer scale s: the HR image is converted to RGB
and cropped from the top-left to a multiple of s; the LR input is its bicubic downsample to
(H/s, W/s) on 8-bit data (PIL by default, which the spec's reference figures use, or MATLAB's
`imresize`), optionally degraded (noise, then JPEG); the model is queried at every HR pixel and
its float output scored against the HR crop (PSNR and SSIM on Y with shave = s for benchmarks, or
PSNR on RGB with shave = s + 6 for DIV2K-style sets). The baseline is PIL bicubic upscaling of
the same 8-bit LR back to the HR size. Scores are averaged over the images of a set.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm

from cnaps.errors import DataError, ScaleError
from cnaps.sr import metrics
from cnaps.sr.degrade import add_gaussian_noise, jpeg_compress
from cnaps.sr.imageio import IMAGE_SUFFIXES, read_rgb
from cnaps.sr.resize import downsample, resize_pil

MIN_SIDE_AFTER_SHAVE = 2 * metrics.SSIM_RADIUS + 1  # SSIM's window must fit

# (3, h, w) float LR in [0, 1], (H, W) -> (3, H, W) float in [0, 1]
Upscaler = Callable[[torch.Tensor, tuple[int, int]], torch.Tensor]


class EvalSettings(BaseModel):
    """What to evaluate and how; stored in the report so a result says how it was made."""

    model_config = ConfigDict(extra="forbid")
    sets: list[str] = Field(min_length=1, description="benchmark folder names under data")
    scales: list[int] = Field(min_length=1, description="integer upscaling factors")
    lr_kernel: Literal["pil", "matlab"] = Field("pil", description="LR downsampling kernel")
    metric: Literal["y", "rgb"] = Field("y", description="y: benchmarks; rgb: DIV2K-style")
    noise: float = Field(0.0, ge=0, description="Gaussian noise sigma on the LR, 8-bit units")
    jpeg: int | None = Field(None, ge=1, le=100, description="JPEG quality of the LR, or none")
    seed: int = Field(0, description="seed of the noise")
    limit: int | None = Field(None, ge=1, description="at most this many images per set")
    per_image: bool = Field(False, description="keep each image's scores in the report")


class Scores(BaseModel):
    model_config = ConfigDict(extra="forbid")
    psnr: float
    ssim: float


class ImageResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    image: str
    model: Scores
    bicubic: Scores


class SetResult(BaseModel):
    """Mean scores of one set at one scale."""

    model_config = ConfigDict(extra="forbid")
    set: str
    scale: int
    n: int
    shave: int
    model: Scores
    bicubic: Scores
    images: list[ImageResult] | None = None


class EvalReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    settings: EvalSettings
    protocol: str
    ssim: str = ("on Y (BT.601, 8-bit units), Gaussian 11x11 window, sigma 1.5, K1 0.01, "
                 "K2 0.03, valid positions, shave = scale (Wang et al. 2004)")
    results: list[SetResult]
    seconds: float
    torch_threads: int

    def result(self, set_name: str, scale: int) -> SetResult:
        return next(r for r in self.results if r.set == set_name and r.scale == scale)


def validate_scales(scales: list[float]) -> list[int]:
    """Integer scales >= 2, in the given order without repeats, or a ScaleError."""
    out: list[int] = []
    for s in scales:
        if not float(s).is_integer() or s < 2:
            raise ScaleError(
                f"evaluation scales must be whole numbers >= 2 (the HR image is cropped to a "
                f"multiple of the scale), got {s:g}")
        if int(s) not in out:
            out.append(int(s))
    return out


def list_images(data: Path, set_name: str, limit: int | None = None) -> list[Path]:
    """The HR images of `<data>/<set_name>/HR`, sorted by name."""
    data = Path(data)
    if not data.is_dir():
        raise DataError(f"benchmark folder {data} does not exist; expected "
                        "<DIR>/<Set>/HR/*.png, e.g. --data path/to/benchmark")
    folder = data / set_name / "HR"
    if not folder.is_dir():
        present = sorted(p.name for p in data.iterdir() if (p / "HR").is_dir())
        raise DataError(f"no folder {folder}; sets found in {data}: "
                        f"{', '.join(present) or 'none'}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"set {set_name} is empty: no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
                        f" in {folder}")
    return files[:limit] if limit else files


def make_pair(hr: np.ndarray, scale: int, settings: EvalSettings,
              noise_seed: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(HR crop, LR) as uint8 (H, W, 3) arrays, following the protocol and degradations."""
    rows, cols = (hr.shape[0] // scale) * scale, (hr.shape[1] // scale) * scale
    crop = hr[:rows, :cols]
    lr = downsample(crop, scale, settings.lr_kernel)
    if settings.noise > 0:
        lr = add_gaussian_noise(lr, settings.noise, noise_seed if noise_seed else settings.seed)
    if settings.jpeg is not None:
        lr = jpeg_compress(lr, settings.jpeg)
    return crop, lr


def _to_chw(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float() / 255


def score_image(hr: np.ndarray, lr: np.ndarray, scale: int, upscaler: Upscaler,
                metric: str = "y") -> tuple[Scores, Scores, int]:
    """Scores of the model and of bicubic for one (HR crop, LR) pair, and the shave used."""
    size = hr.shape[:2]
    shave = metrics.shave_for(scale, metric)
    target = _to_chw(hr)
    sr = upscaler(_to_chw(lr), size)
    bicubic = _to_chw(resize_pil(lr, size))

    def scores(out: torch.Tensor) -> Scores:
        return Scores(psnr=metrics.psnr(out, target, shave, metric),
                      ssim=metrics.ssim(out, target, scale))
    return scores(sr), scores(bicubic), shave


def _check_size(path: Path, hr: np.ndarray, scale: int, metric: str) -> None:
    rows, cols = hr.shape[0] // scale, hr.shape[1] // scale
    margin = 2 * max(metrics.shave_for(scale, metric), scale)
    if min(rows * scale, cols * scale) - margin < MIN_SIDE_AFTER_SHAVE or min(rows, cols) < 1:
        raise ScaleError(f"scale x{scale} is too large for {path.name} ({hr.shape[1]}x"
                         f"{hr.shape[0]}): the LR image would be {cols}x{rows} and the shaved "
                         "HR crop too small to score")


def _mean(values: list[Scores]) -> Scores:
    return Scores(psnr=float(np.mean([v.psnr for v in values])),
                  ssim=float(np.mean([v.ssim for v in values])))


def evaluate(data: Path, settings: EvalSettings, upscaler: Upscaler, model_name: str = "",
             progress: bool = True) -> EvalReport:
    """Run the protocol over every set, image and scale; all inputs are checked first."""
    scales = validate_scales(settings.scales)
    files = {name: list_images(data, name, settings.limit) for name in settings.sets}
    start = time.perf_counter()
    per_image: dict[tuple[str, int], list[ImageResult]] = {}
    shaves: dict[int, int] = {}
    total = sum(len(f) for f in files.values()) * len(scales)
    with tqdm(total=total, unit="img", delay=2, desc="evaluating", disable=not progress) as bar:
        for set_name, paths in files.items():
            for path in paths:
                hr = read_rgb(path)
                for scale in scales:
                    _check_size(path, hr, scale, settings.metric)
                    seed = [settings.seed, scale, zlib.crc32(f"{set_name}/{path.name}".encode())]
                    crop, lr = make_pair(hr, scale, settings, seed)
                    model_scores, bicubic_scores, shaves[scale] = score_image(
                        crop, lr, scale, upscaler, settings.metric)
                    per_image.setdefault((set_name, scale), []).append(
                        ImageResult(image=path.name, model=model_scores, bicubic=bicubic_scores))
                    bar.set_postfix_str(f"{set_name} x{scale}")
                    bar.update()
    results = []
    for set_name in settings.sets:
        for scale in scales:
            items = per_image[(set_name, scale)]
            results.append(SetResult(
                set=set_name, scale=scale, n=len(items), shave=shaves[scale],
                model=_mean([i.model for i in items]), bicubic=_mean([i.bicubic for i in items]),
                images=items if settings.per_image else None))
    protocol = (f"HR -> RGB, top-left crop to a multiple of the scale; LR = {settings.lr_kernel} "
                f"bicubic downsample of the 8-bit crop")
    if settings.noise:
        protocol += (f" + Gaussian noise sigma {settings.noise:g} (8-bit, rounded, "
                     f"seed {settings.seed})")
    if settings.jpeg:
        protocol += f" + JPEG quality {settings.jpeg}"
    protocol += ("; model queried at every HR pixel, float output; "
                 + ("PSNR on Y, shave = scale" if settings.metric == "y"
                    else "PSNR on RGB, shave = scale + 6")
                 + "; bicubic = PIL bicubic upscaling of the same LR")
    return EvalReport(model=model_name, settings=settings, protocol=protocol, results=results,
                      seconds=round(time.perf_counter() - start, 1),
                      torch_threads=torch.get_num_threads())


def model_upscaler(model, device: torch.device | str = "cpu",
                   precision: str = "exact") -> Upscaler:
    """The engine's `upscale` for a loaded model, as an Upscaler (output back on the CPU).
    The protocol's figures are `exact`; `fast` measures what the bfloat16 mode costs."""
    from cnaps.sr.inference import upscale

    def run(lr: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return upscale(model, lr, size, progress=False, device=device,
                       precision=precision).cpu()
    return run


def format_table(report: EvalReport) -> str:
    """The report as an aligned plain-text table (one row per set and scale)."""
    head = ["set", "scale", "n", "PSNR model", "PSNR bicubic", "gain", "SSIM model",
            "SSIM bicubic"]
    rows = [[r.set, f"x{r.scale}", str(r.n), f"{r.model.psnr:.3f}", f"{r.bicubic.psnr:.3f}",
             f"{r.model.psnr - r.bicubic.psnr:+.3f}", f"{r.model.ssim:.4f}",
             f"{r.bicubic.ssim:.4f}"] for r in report.results]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def plot(report: EvalReport, path: Path) -> None:
    """PSNR against scale, model and bicubic, one panel per set, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(dict.fromkeys(r.set for r in report.results))
    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 3.2), squeeze=False)
    for ax, set_name in zip(axes[0], sets):
        rows = sorted((r for r in report.results if r.set == set_name), key=lambda r: r.scale)
        scales = [r.scale for r in rows]
        ax.plot(scales, [r.model.psnr for r in rows], "o-", label=report.model or "model")
        ax.plot(scales, [r.bicubic.psnr for r in rows], "s--", label="bicubic")
        ax.set_xscale("log")
        ax.set_xticks(scales, [f"x{s}" for s in scales], fontsize=7)
        ax.minorticks_off()
        ax.set_title(f"{set_name} (n={rows[0].n})")
        ax.set_xlabel("scale")
        ax.set_ylabel(f"PSNR {report.settings.metric.upper()} (dB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
