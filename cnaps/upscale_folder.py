"""Upscale every image in a folder: recursively, keeping relative paths and names (PNG by
default), here, in local workers or as Ray tasks (`cnaps.parallel`).

Each image goes through the same tiled engine as `cnaps upscale` (bounded memory whatever its
size). A file that cannot be read (corrupt, not an image, too large) becomes a failed row and
the others go on. Skip-if-done: `OUT/.cnaps-done/<relative path>.json` records a fingerprint of
what made each output (the source's bytes, the options, the weights' sha256, the code version);
a rerun skips an image whose output exists and whose fingerprint matches, unless `force`.

Workers and memory: a worker's peak is about `WORKER_BASE_BYTES` (interpreter, torch, the
model, one encoder tile's activations at the default tile) plus what grows with the image:
the float input (12 bytes a pixel) and, per output pixel, the result buffer, its HWC copy and
the PIL image (`OUTPUT_BYTES_PER_PIXEL`). `fit_workers` runs at most as many workers as
`MemAvailable` (from /proc/meminfo) holds at that peak for the folder's largest image.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cnaps.errors import CnapsError, InputImageError
from cnaps.fingerprint import bytes_sha256, code_version, digest, weights_sha256
from cnaps.output import refuse_foreign_files, write_text_atomic

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
DONE_DIR = ".cnaps-done"
# Measured with the released EDSR-baseline LIIF at the default 512x512 tile: peak RSS 0.36 GB
# for a worker upscaling 128-200 px photos x4, 0.79 GB (still running) for a 900x512 photo x2,
# whose encoder needs two tiles; 1.2 GB leaves room for the tile's activations.
WORKER_BASE_BYTES = 1_200_000_000
INPUT_BYTES_PER_PIXEL = 12     # float32 RGB input tensor
OUTPUT_BYTES_PER_PIXEL = 16    # uint8 result (3) + HWC numpy copy (3) + PIL image (4) + slack
OUTPUT_BYTES_PER_PIXEL_16BIT = 28  # float32 result (12) instead of uint8
MEMORY_HEADROOM = 0.8          # use at most this share of the available memory


class FolderError(CnapsError):
    """A folder run that cannot start (no images, output inside the input, ...)."""


class FolderOptions(BaseModel):
    """Everything that decides an output image (and how it is computed)."""

    model_config = ConfigDict(extra="forbid")
    scale: float | None = None
    size: tuple[int, int] | None = Field(None, description="(height, width)")
    weights: str = Field(description="installed weights name or checkpoint path")
    tile_pixels: int | None = None
    max_output_pixels: int
    max_input_pixels: int
    suffix: str = Field(".png", description="output format, by extension")
    device: str = "auto"
    precision: str = Field("exact", description="exact | fast | auto (cnaps.sr.device)")
    threads: int | None = None
    force: bool = False


class ImageRow(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(description="path relative to the input folder")
    output: str = Field(description="path relative to the output folder")
    status: Literal["upscaled", "up to date", "skipped", "failed"]
    reason: str | None = None
    input_size: str | None = None
    output_size: str | None = None
    seconds: float = 0.0


def _not_a_file(path: Path) -> str | None:
    """Why an entry named like an image cannot be read as one (None: a file, or a folder,
    which is walked into)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "is a broken symbolic link" if path.is_symlink() else "vanished during the run"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file")
    return f"is {kind}, not an image file"


def scan_images(root: Path, exclude: Path | None = None,
                ) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(image files under root, by suffix, recursive, hidden ones skipped, relative, sorted;
    entries named like images that are no files: broken links, FIFOs..., with the reason),
    nothing under `exclude` (an output folder inside the input folder)."""
    found, skipped = [], []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if exclude is not None and path.resolve().is_relative_to(exclude.resolve()):
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        reason = _not_a_file(path)
        if reason is not None:
            skipped.append((rel, reason))
        elif path.is_file():
            found.append(rel)
    return sorted(found), sorted(skipped)


def list_images(root: Path, exclude: Path | None = None) -> list[Path]:
    return scan_images(root, exclude)[0]


def foreign_outputs(out_root: Path, images: list[Path], suffix: str) -> list[Path]:
    """Outputs that exist without cnaps's stamp: a user's files, never replaced."""
    return [out_root / output_path(rel, suffix) for rel in images
            if os.path.lexists(out_root / output_path(rel, suffix))
            and not (out_root / DONE_DIR / f"{rel}.json").is_file()]


def output_path(rel: Path, suffix: str) -> Path:
    return rel.with_suffix(suffix)


def fingerprint(source_bytes: bytes, options: FolderOptions) -> str:
    decisive = options.model_dump(mode="json", include={"scale", "size", "suffix",
                                                        "max_output_pixels"})
    return digest({"source": bytes_sha256(source_bytes), "options": decisive,
                   "weights": weights_sha256(options.weights), "code": code_version()})



_threads_set = False


def upscale_one(rel: str, src_root: str, out_root: str, options: FolderOptions) -> ImageRow:
    """Upscale src_root/rel into out_root; a failure becomes a failed row, never raises."""
    global _threads_set
    import numpy as np
    import torch

    from cnaps.sr import imageio
    from cnaps.sr.device import pick_device
    from cnaps.sr.inference import load_weights_once, output_size
    from cnaps.sr.inference import upscale as run_upscale

    started = time.perf_counter()
    if options.threads and not _threads_set:
        torch.set_num_threads(options.threads)
        _threads_set = True
    source = Path(src_root) / rel
    out_rel = output_path(Path(rel), options.suffix)
    target = Path(out_root) / out_rel
    stamp_file = Path(out_root) / DONE_DIR / f"{rel}.json"
    row = ImageRow(source=rel, output=str(out_rel), status="failed")
    try:
        stamp = fingerprint(source.read_bytes(), options)
        if not options.force and target.is_file():
            try:
                done = json.loads(stamp_file.read_text(encoding="utf-8"))
                if done.get("fingerprint") == stamp:
                    return ImageRow.model_validate({**done["row"], "status": "up to date",
                                                    "seconds": 0.0})
            except (OSError, ValueError, TypeError):
                pass
        image = imageio.read_image(source, max_pixels=options.max_input_pixels)
        height, width = image.size
        out_h, out_w = output_size(height, width, scale=options.scale, size=options.size,
                                   max_pixels=options.max_output_pixels)
        model = load_weights_once(options.weights)
        out_dtype = torch.float32 if image.sixteen_bit else torch.uint8
        result = run_upscale(model, image.rgb, (out_h, out_w), tile_pixels=options.tile_pixels,
                             out_dtype=out_dtype, progress=False,
                             device=pick_device(options.device),
                             precision=options.precision).cpu()
        alpha = (imageio.resize_alpha(image.alpha, (out_h, out_w))
                 if image.alpha is not None else None)
        if image.sixteen_bit:
            pil = imageio.to_pil(None, sixteen_bit_gray=np.round(result.mean(0).numpy() * 65535))
        else:
            pil = imageio.to_pil(result.permute(1, 2, 0).numpy(), alpha, image.grayscale)
        target.parent.mkdir(parents=True, exist_ok=True)
        imageio.save_atomic(pil, target)
        row = row.model_copy(update={
            "status": "upscaled", "input_size": f"{width}x{height}",
            "output_size": f"{out_w}x{out_h}",
            "seconds": round(time.perf_counter() - started, 3)})
        write_text_atomic(stamp_file, json.dumps({"fingerprint": stamp,
                                              "row": row.model_dump(mode="json")}) + "\n")
        return row
    except Exception as exc:  # isolate every failure to its image
        gone = _not_a_file(source)
        if gone is not None:  # the user's folder changed under us: not a failure of ours
            return row.model_copy(update={"status": "skipped", "reason": gone,
                                          "seconds": round(time.perf_counter() - started, 3)})
        reason = str(exc).splitlines()[0] if str(exc) else ""
        if not isinstance(exc, CnapsError):
            reason = f"internal error {type(exc).__name__}: {reason}"
        return row.model_copy(update={"reason": reason,
                                      "seconds": round(time.perf_counter() - started, 3)})


def _crashed_row(rel: str, reason: str, suffix: str) -> ImageRow:
    return ImageRow(source=rel, output=str(output_path(Path(rel), suffix)), status="failed",
                    reason=reason)


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo in bytes, None where there is none."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def worker_peak_bytes(in_pixels: int, out_pixels: int, sixteen_bit: bool = False) -> int:
    per_out = OUTPUT_BYTES_PER_PIXEL_16BIT if sixteen_bit else OUTPUT_BYTES_PER_PIXEL
    return WORKER_BASE_BYTES + INPUT_BYTES_PER_PIXEL * in_pixels + per_out * out_pixels


def fit_workers(wanted: int, peak: int, available: int | None) -> int:
    """At most `wanted` workers, as many as fit in MEMORY_HEADROOM of the available memory at
    `peak` bytes each, at least one."""
    if available is None:
        return wanted
    return max(1, min(wanted, int(available * MEMORY_HEADROOM // peak)))


def largest_sizes(src_root: Path, images: list[Path],
                  options: FolderOptions) -> tuple[int, int]:
    """(input pixels, output pixels) of the largest image, read from headers only."""
    from PIL import Image

    from cnaps.sr.inference import output_size

    biggest_in = biggest_out = 0
    for rel in images:
        try:
            with Image.open(src_root / rel) as im:
                width, height = im.size
            out_h, out_w = output_size(height, width, scale=options.scale, size=options.size)
        except Exception:  # unreadable or nonsense: upscale_one reports it
            continue
        biggest_in = max(biggest_in, width * height)
        biggest_out = max(biggest_out, out_h * out_w)
    return biggest_in, biggest_out


def upscale_folder(src_root: Path, out_root: Path, options: FolderOptions, *, jobs: int = 1,
                   ray: str | None = None, quiet: bool = False,
                   ) -> tuple[list[ImageRow], int]:
    """Upscale every image; (rows in path order, local workers used)."""
    import functools

    from cnaps.parallel import run_all, threads_per_worker

    if not src_root.is_dir():
        raise InputImageError(f"{src_root} is not a folder")
    src_root, out_root = src_root.resolve(), out_root.resolve()
    if out_root == src_root:
        raise FolderError("the output folder must differ from the input folder (-o OUTDIR)")
    images, skipped = scan_images(src_root, exclude=out_root)
    if not images:
        raise FolderError(f"{src_root} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    # Before anything is written: a user's file where an output goes stops the run.
    refuse_foreign_files(foreign_outputs(out_root, images, options.suffix),
                         "move it or choose another -o OUTDIR")
    out_root.mkdir(parents=True, exist_ok=True)
    workers = jobs
    if ray is None and jobs > 1:
        workers = fit_workers(jobs, worker_peak_bytes(*largest_sizes(src_root, images, options)),
                              available_memory())
    if options.threads is None and (ray or workers > 1):
        options = options.model_copy(update={
            "threads": 1 if ray else threads_per_worker(min(workers, len(images)))})
    task = functools.partial(upscale_one, src_root=str(src_root), out_root=str(out_root),
                             options=options)
    rows = run_all(task, [str(p) for p in images], jobs=workers, ray=ray, desc="upscaling",
                   unit="image", quiet=quiet, on_crash=functools.partial(
                       _crashed_row, suffix=options.suffix))
    rows += [ImageRow(source=str(rel), output=str(output_path(rel, options.suffix)),
                      status="skipped", reason=reason) for rel, reason in skipped]
    return sorted(rows, key=lambda r: r.source), workers

