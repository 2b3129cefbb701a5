"""Options several commands share: device selection and thread count are data, not literals."""

from __future__ import annotations

import click
import torch

from cnaps.errors import CnapsError


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise CnapsError("--device cuda asked for, but this PyTorch sees no CUDA GPU; "
                         "use --device cpu or auto")
    return torch.device(name)


device_option = click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
    help="Where to run the model (auto: CUDA when available, else CPU).")
precision_option = click.option(
    "--precision", type=click.Choice(["exact", "fast", "auto"]), default="exact", show_default=True,
    help="exact: float32, the paper's numbers; fast: bfloat16 encoder and MLP on CPUs with "
         "bf16 units (and GPUs), about 2x faster here, within 0.01 dB; auto: fast where "
         "measured faster on this machine.")
threads_option = click.option(
    "--threads", type=click.IntRange(min=1), default=None,
    help="CPU threads for PyTorch (default: PyTorch's choice, one per core).")


def apply_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)


def announce_precision(precision: str, device: torch.device) -> None:
    """One line on stderr when the precision that will run is not simply the one asked for."""
    from cnaps.sr.precision import resolve_precision

    note = resolve_precision(precision, device).note
    if note:
        click.echo(note, err=True)
