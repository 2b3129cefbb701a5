"""`cnaps upscale`: enlarge a photo with LIIF at any scale or to an exact size."""

from __future__ import annotations

import re
import time
from pathlib import Path

import click
import numpy as np
import torch

from cnaps.cli.options import (
    announce_precision,
    apply_threads,
    device_option,
    precision_option,
    threads_option,
)
from cnaps.cli.upscale_folder import upscale_folder_command
from cnaps.errors import OutputError, ScaleError
from cnaps.output import check_can_write
from cnaps.parallel import parallel_options
from cnaps.sr import imageio
from cnaps.sr.device import pick_device
from cnaps.sr.inference import load_weights, output_size
from cnaps.sr.weights import DEFAULT_WEIGHTS
from cnaps.sr.inference import upscale as run_upscale

DEFAULT_MAX_OUTPUT_PIXELS = 250_000_000


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'WxH' -> (H, W)."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*", text)
    if not match:
        raise ScaleError(f"--size must look like WIDTHxHEIGHT (e.g. 1920x1080), got {text!r}")
    return int(match.group(2)), int(match.group(1))


def _check_output(input_path: Path, output: Path, image: imageio.LoadedImage) -> str | None:
    """OutputError/InputImageError now if OUTPUT cannot be written as asked; else a note on what
    its format cannot hold (None when nothing is lost)."""
    if output.exists() and output.resolve() == input_path.resolve():
        raise OutputError(f"-o {output} is the input file; it would be overwritten: give "
                          "another output name")
    fmt = imageio.output_format(output)
    check_can_write(output, "the output")
    if not output.absolute().parent.is_dir():
        raise OutputError(f"output folder {output.absolute().parent} does not exist; create it "
                          "or choose another -o")
    mode = ("I;16" if image.sixteen_bit else ("L" if image.grayscale else "RGB")
            + ("A" if image.alpha is not None else ""))
    return imageio.saved_mode(mode, fmt)[1]


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output file (PNG unless the extension says otherwise). "
                   "Default: INPUT's name with _x<scale>.png, in the current folder.")
@click.option("--scale", type=float, default=None, help="Enlargement factor > 1, e.g. 2, 3.7, 8.")
@click.option("--size", "size_text", default=None, help="Exact output size WIDTHxHEIGHT instead of --scale.")
@click.option("--model", "model_name", default=DEFAULT_WEIGHTS, show_default=True,
              help="Installed weights name (see `cnaps weights list`).")
@click.option("--weights", type=click.Path(path_type=Path), default=None,
              help="A LIIF checkpoint file to use instead of --model.")
@click.option("--tile", "tile_pixels", type=click.IntRange(min=64 * 64), default=None,
              help="Encoder tile size in LR pixels, halo included (default: 512x512 for "
                   "EDSR-baseline, 400x400 for RDN); lower it to use less memory.")
@click.option("--max-output-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_OUTPUT_PIXELS,
              show_default=True, help="Refuse outputs larger than this many pixels.")
@click.option("--max-input-pixels", type=click.IntRange(min=1),
              default=imageio.DEFAULT_MAX_INPUT_PIXELS, show_default=True,
              help="Refuse inputs declaring more pixels than this (decompression bombs).")
@click.option("--denoise", type=click.Choice(["none", "nlm", "auto"]), default="none",
              show_default=True,
              help="Noisy inputs: nlm = non-local-means pre-filter; auto = estimate the noise and, "
                   "if it matters, use the noise-robust weights (see cnaps.sr.denoise).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary line.")
@device_option
@precision_option
@threads_option
@parallel_options
def upscale(input_path, output, scale, size_text, model_name, weights, tile_pixels,
            max_output_pixels, max_input_pixels, denoise, quiet, device, precision, threads,
            **batch):
    """Enlarge INPUT by --scale (any real number > 1) or to --size WxH with LIIF.

    Grayscale stays grayscale, alpha is kept (enlarged with bicubic), 16-bit grayscale stays
    16-bit in PNG/TIFF (other formats get it scaled to 8 bits, with a note), the EXIF
    orientation is applied. The output file appears only when complete; OUTPUT is checked
    before the model runs and may not be INPUT.

    INPUT may be a folder: every image in it (recursively) goes to -o OUTDIR under the same
    relative path, as PNG; --jobs/--ray run several at once, --force redoes finished ones
    (outputs cnaps wrote; a file of yours in the way stops the run before anything is written).
    """
    apply_threads(threads)
    size = parse_size(size_text)
    if scale is not None and size is not None:
        raise ScaleError("give --scale or --size, not both")
    if input_path.is_dir():
        return upscale_folder_command(
            input_path, output, scale=scale, size=size,
            weights=str(weights) if weights is not None else model_name, tile_pixels=tile_pixels,
            max_output_pixels=max_output_pixels, max_input_pixels=max_input_pixels,
            denoise=denoise, quiet=quiet, device=device, precision=precision, threads=threads,
            **batch)
    image = imageio.read_image(input_path, max_pixels=max_input_pixels)
    height, width = image.size
    out_h, out_w = output_size(height, width, scale=scale, size=size, max_pixels=max_output_pixels)
    if output is None:
        label = f"{scale:g}" if scale is not None else f"{out_w}x{out_h}"
        output = Path(f"{input_path.stem}_x{label}.png")
    if output.suffix == "":
        output = output.with_suffix(".png")
    note = _check_output(input_path, output, image)  # before the model runs, not after
    if note and not quiet:
        click.echo(f"note: {note}", err=True)
    rgb = image.rgb
    if denoise != "none":
        from cnaps.sr.denoise import decide, prefilter

        chosen = str(weights) if weights is not None else (
            None if model_name == DEFAULT_WEIGHTS else model_name)
        decision = decide(denoise, rgb, weights=chosen)
        rgb = prefilter(rgb, decision.sigma) if decision.prefilter else rgb
        weights, model_name = None, decision.weights_name
        if not quiet:
            click.echo(f"denoise {denoise}: {decision.reason}; weights {decision.weights_name}"
                       + (", NLM pre-filter" if decision.prefilter else ""), err=True)
    model = load_weights(weights if weights is not None else model_name)
    started = time.perf_counter()
    out_dtype = torch.float32 if image.sixteen_bit else torch.uint8
    device = pick_device(device)
    if not quiet:
        announce_precision(precision, device)
    result = run_upscale(model, rgb, (out_h, out_w), tile_pixels=tile_pixels,
                         out_dtype=out_dtype, progress=not quiet, device=device,
                         precision=precision).cpu()
    alpha = imageio.resize_alpha(image.alpha, (out_h, out_w)) if image.alpha is not None else None
    if image.sixteen_bit:
        gray16 = np.round(result.mean(0).numpy() * 65535)
        pil = imageio.to_pil(None, sixteen_bit_gray=gray16)
    else:
        pil = imageio.to_pil(result.permute(1, 2, 0).numpy(), alpha, image.grayscale)
    imageio.save_atomic(pil, output)
    if not quiet:
        click.echo(f"{input_path} ({width}x{height}) -> {output} ({out_w}x{out_h}) in "
                   f"{time.perf_counter() - started:.1f} s", err=True)
