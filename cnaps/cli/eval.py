"""`cnaps eval`: the paper's evaluation protocol on benchmark folders (cnaps.sr.evaluate)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cnaps.cli.options import (
    announce_precision,
    apply_threads,
    device_option,
    precision_option,
    threads_option,
)
from cnaps.errors import ConfigError, OutputError, ScaleError, validation_line
from cnaps.output import atomic_file, check_can_write
from cnaps.sr.device import pick_device, resolve_precision
from cnaps.sr.weights import DEFAULT_WEIGHTS

MAX_EVAL_SCALE = 1000


def _split(text: str, what: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise ConfigError(f"--{what} needs a comma-separated list, got {text!r}")
    return items


def _scales(text: str) -> list[float]:
    out = []
    for item in _split(text, "scales"):
        try:
            value = float(item.lower().lstrip("x"))
        except ValueError:
            raise ScaleError(f"--scales takes numbers like 2,3,4, got {item!r}") from None
        if value > MAX_EVAL_SCALE:  # nan and inf are refused by validate_scales
            raise ScaleError(f"--scales: x{value:g} is beyond any benchmark image (at most "
                             f"x{MAX_EVAL_SCALE}); the paper evaluates up to x30")
        out.append(value)
    return out


def _check_outputs(json_path: Path | None, plot_path: Path | None) -> None:
    """OutputError unless both output files can be written (and the plot's format drawn)."""
    if plot_path is not None:
        from matplotlib.figure import Figure

        formats = Figure().canvas.get_supported_filetypes()
        if plot_path.suffix.lower().lstrip(".") not in formats:
            raise OutputError(f"--plot {plot_path}: matplotlib cannot draw {plot_path.suffix!r} "
                              f"files; use one of {', '.join('.' + f for f in sorted(formats))}")
        check_can_write(plot_path, "--plot")
    if json_path is not None:
        check_can_write(json_path, "--json")
    if json_path is not None and plot_path is not None and \
            json_path.absolute() == plot_path.absolute():
        raise OutputError("--json and --plot name the same file; give two names")


@click.command("eval")
@click.option("--data", "data", required=True, type=click.Path(path_type=Path),
              help="Folder of benchmark sets laid out as <DIR>/<Set>/HR/*.png.")
@click.option("--sets", default="Set5", show_default=True,
              help="Comma-separated set folder names, e.g. Set5,Set14,B100.")
@click.option("--scales", default="2,3,4,6,8", show_default=True,
              help="Comma-separated integer scales, e.g. 2,3,4,6,8,12,18,24,30.")
@click.option("--model", "model_name", default=DEFAULT_WEIGHTS, show_default=True,
              help="Installed weights name (see `cnaps weights list`).")
@click.option("--weights", type=click.Path(path_type=Path),
              help="A checkpoint file to evaluate instead of --model.")
@click.option("--metric", type=click.Choice(["y", "rgb"]), default="y", show_default=True,
              help="y: PSNR on Y, shave = scale (Set5/Set14/B100); rgb: shave = scale + 6 "
                   "(DIV2K).")
@click.option("--lr-kernel", type=click.Choice(["pil", "matlab"]), default="pil",
              show_default=True, help="How the LR input is made from the HR crop.")
@click.option("--noise", type=float, default=0.0, show_default=True,
              help="Gaussian noise sigma added to the LR, in 8-bit units (rounded to 8 bits).")
@click.option("--jpeg", type=int, default=None, help="JPEG-compress the LR at this quality.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise.")
@click.option("--limit", type=int, default=None, help="At most N images per set.")
@click.option("--json", "json_path", type=click.Path(path_type=Path),
              help="Write the full report (with per-image scores) as JSON here.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path),
              help="Write a PSNR-vs-scale plot (PNG) here.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar.")
@device_option
@precision_option
@threads_option
def eval_cmd(data, sets, scales, model_name, weights, metric, lr_kernel, noise, jpeg, seed,
             limit, json_path, plot_path, progress, device, precision, threads):
    """Score a model against plain bicubic with the LIIF paper's protocol.

    For each HR image and scale s: crop to a multiple of s, make the LR by bicubic
    downsampling of the 8-bit crop, upscale it back with the model (float output) and with
    PIL bicubic, and report mean PSNR and SSIM per set and scale.

    Example: cnaps eval --data benchmark --sets Set5,Set14 --scales 2,3,4 --json out.json
    """
    from pydantic import ValidationError

    from cnaps.sr.evaluate import (
        EvalSettings,
        evaluate,
        format_table,
        list_images,
        model_upscaler,
        plot,
        validate_scales,
    )
    from cnaps.sr.inference import load_weights

    try:
        settings = EvalSettings(sets=_split(sets, "sets"), scales=validate_scales(_scales(scales)),
                                lr_kernel=lr_kernel, metric=metric, noise=noise, jpeg=jpeg,
                                seed=seed, limit=limit, per_image=True)
    except ValidationError as exc:
        raise ConfigError(f"--{validation_line(exc)}") from None
    for name in settings.sets:  # fail on a bad folder before loading the model
        list_images(data, name, settings.limit)
    _check_outputs(json_path, plot_path)  # and on a bad output, before anything is written
    apply_threads(threads)
    label = str(weights) if weights else model_name
    model = load_weights(weights if weights else model_name)
    device = pick_device(device)
    announce_precision(precision, device)
    upscaler = model_upscaler(model, device, precision)
    name = Path(label).name
    chosen = resolve_precision(precision, device)
    if chosen.name == "fast":  # the report says it is not the exact protocol
        name += f" (precision fast, {str(chosen.dtype).removeprefix('torch.')})"
    report = evaluate(data, settings, upscaler, name, progress)
    click.echo(format_table(report))
    click.echo(f"({report.protocol}; {report.seconds:.0f} s)", err=True)
    if json_path:
        with atomic_file(json_path) as tmp:
            tmp.write_text(json.dumps(report.model_dump(), indent=2) + "\n")
    if plot_path:
        plot(report, plot_path)
