"""`cnaps run`: execute a workflow file (input -> model -> output), e.g. the one an answer's
demo wrote, which gives the demo's images and numbers again."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cnaps.errors import CnapsError


@click.command("run")
@click.argument("workflow_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Output folder [default: runs/<workflow file stem>/].")
def run(workflow_file, out_dir):
    """Run the workflow in WORKFLOW_FILE (JSON, see cnaps/workflow.py).

    Writes output.<format> into the output folder; for a demo input (input.degrade) also the
    demo's pictures (lr, bicubic, model, ground_truth, comparison) and result.json with the
    PSNR/SSIM it measured, and prints them.
    """
    from cnaps.sr.imageio import save_atomic
    from cnaps.workflow import parse_workflow, run_workflow

    try:
        text = workflow_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise CnapsError(f"cannot read workflow {workflow_file}: {exc.strerror}") from None
    wf = parse_workflow(text)
    result = run_workflow(wf, allow_files=True)
    out_dir = out_dir or Path("runs") / workflow_file.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"output.{wf.output.format}"
    save_atomic(result.image, target)
    for name, picture in result.pictures.items():
        save_atomic(picture, out_dir / f"{name}.png")
    summary = {"weights": result.weights, "precision": result.precision,
               "size": list(result.image.size), "seconds": result.seconds,
               "demo": result.demo.model_dump(mode="json") if result.demo else None}
    tmp = out_dir / ".result.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    tmp.replace(out_dir / "result.json")
    click.echo(f"wrote {target} ({result.image.size[0]}x{result.image.size[1]}, "
               f"{result.weights}, {result.precision}) in {result.seconds:.1f} s")
    if result.demo:
        d = result.demo
        click.echo(f"x{d.scale:g} {d.input_size.width}x{d.input_size.height} -> "
                   f"{d.output_size.width}x{d.output_size.height}: PSNR {d.psnr.model:.2f} dB "
                   f"(bicubic {d.psnr.bicubic:.2f}), SSIM {d.ssim.model:.3f} "
                   f"(bicubic {d.ssim.bicubic:.3f})")
