"""`cnaps upscale DIR -o OUTDIR`: the folder side of the upscale command (the work is in
`cnaps.upscale_folder`; this module only speaks to the user)."""

from __future__ import annotations

from pathlib import Path

import click

from cnaps.errors import ScaleError
from cnaps.upscale_folder import FolderError, FolderOptions, upscale_folder


def upscale_folder_command(input_dir: Path, output: Path | None, *, scale, size, weights,
                           tile_pixels, max_output_pixels, max_input_pixels, denoise, quiet,
                           device, threads, jobs, ray_address, force,
                           precision: str = "exact") -> int:
    """Every image of input_dir into output; 0 when all were done, 1 when some failed."""
    if output is None:
        raise FolderError("a folder needs an output folder: -o OUTDIR")
    if denoise != "none":
        raise FolderError("--denoise works on single images only; upscale the folder "
                          "without it")
    if scale is None and size is None:
        raise ScaleError("give either a scale (e.g. --scale 4) or an output size (--size WxH)")
    if Path(weights).is_file():  # workers (Ray's) need not share our working folder
        weights = str(Path(weights).resolve())
    options = FolderOptions(scale=scale, size=size, weights=weights, tile_pixels=tile_pixels,
                            max_output_pixels=max_output_pixels,
                            max_input_pixels=max_input_pixels, device=device,
                            precision=precision, threads=threads, force=force)
    rows, workers = upscale_folder(input_dir, output, options, jobs=jobs, ray=ray_address,
                                   quiet=quiet)
    if workers < jobs:
        click.echo(f"--jobs {jobs} lowered to {workers}: each worker may need the memory "
                   "of the largest image (see cnaps.upscale_folder)", err=True)
    failed = [r for r in rows if r.status == "failed"]
    done = sum(r.status == "upscaled" for r in rows)
    fresh = sum(r.status == "up to date" for r in rows)
    skipped = [r for r in rows if r.status == "skipped"]
    click.echo(f"{len(rows)} images: {done} upscaled, {fresh} up to date, "
               + (f"{len(skipped)} skipped, " if skipped else "")
               + f"{len(failed)} failed; outputs in {output}")
    for r in skipped:  # broken links, FIFOs, files gone meanwhile: the folder, not a failure
        click.echo(f"{r.source} {r.reason}, skipped", err=True)
    for r in failed:
        click.echo(f"failed: {r.source}: {r.reason}", err=True)
    return 1 if failed else 0
