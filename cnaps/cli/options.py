"""Options several commands share: device selection and thread count are data, not literals."""

from __future__ import annotations

import click
import torch

from cnaps.sr.device import DEVICES, PRECISIONS, resolve_precision

device_option = click.option(
    "--device", type=click.Choice(DEVICES), default="auto", show_default=True,
    help="Where to run the model (auto: CUDA when available, else CPU).")
precision_option = click.option(
    "--precision", type=click.Choice(PRECISIONS), default="exact", show_default=True,
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
    note = resolve_precision(precision, device).note
    if note:
        click.echo(note, err=True)
