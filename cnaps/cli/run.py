"""`cnaps run`: execute a workflow file (input -> model -> output), e.g. the one an answer's
demo wrote, which gives the demo's images and numbers again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from cnaps.errors import CnapsError
from cnaps.fingerprint import bytes_sha256

# What `cnaps run` wrote into an output folder (name -> sha256): a rerun replaces those
# files, never a file of the user's that has a name it would write.
RECORD = ".cnaps-run.json"
DEMO_PICTURES = ("lr", "bicubic", "model", "ground_truth", "comparison")


def _written_by_us(out_dir: Path) -> dict[str, str]:
    try:
        files = json.loads((out_dir / RECORD).read_text(encoding="utf-8"))["files"]
        return {str(k): str(v) for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _check_targets(out_dir: Path, names: list[str]) -> None:
    """OutputError (nothing written) if one of `names` exists in out_dir and is not the file
    an earlier `cnaps run` wrote there, byte for byte."""
    from cnaps.output import refuse_foreign_files

    ours = _written_by_us(out_dir)
    in_the_way = []
    for name in names:
        path = out_dir / name
        if not os.path.lexists(path):
            continue
        try:
            mine = (path.is_file() and not path.is_symlink()
                    and ours.get(name) == bytes_sha256(path.read_bytes()))
        except OSError:
            mine = False
        if not mine:
            in_the_way.append(path)
    refuse_foreign_files(in_the_way, "move it or choose another --out")


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
    from cnaps.output import write_text_atomic

    wf = parse_workflow(text)
    out_dir = out_dir or Path("runs") / workflow_file.stem
    output_name = f"output.{wf.output.format}"
    demo_names = [f"{n}.png" for n in DEMO_PICTURES] if wf.input.degrade is not None else []
    _check_targets(out_dir, [output_name, "result.json", *demo_names])  # before the work
    result = run_workflow(wf, allow_files=True)
    names = [output_name, "result.json", *(f"{n}.png" for n in result.pictures)]
    _check_targets(out_dir, names)  # again: the folder may have changed meanwhile
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / output_name
    save_atomic(result.image, target)
    for name, picture in result.pictures.items():
        save_atomic(picture, out_dir / f"{name}.png")
    summary = {"weights": result.weights, "precision": result.precision,
               "size": list(result.image.size), "seconds": result.seconds,
               "demo": result.demo.model_dump(mode="json") if result.demo else None}
    write_text_atomic(out_dir / "result.json", json.dumps(summary, indent=2) + "\n")
    record = {**_written_by_us(out_dir),
              **{name: bytes_sha256((out_dir / name).read_bytes()) for name in names}}
    write_text_atomic(out_dir / RECORD, json.dumps({"files": record}, indent=2) + "\n")
    click.echo(f"wrote {target} ({result.image.size[0]}x{result.image.size[1]}, "
               f"{result.weights}, {result.precision}) in {result.seconds:.1f} s")
    if result.demo:
        d = result.demo
        click.echo(f"x{d.scale:g} {d.input_size.width}x{d.input_size.height} -> "
                   f"{d.output_size.width}x{d.output_size.height}: PSNR {d.psnr.model:.2f} dB "
                   f"(bicubic {d.psnr.bicubic:.2f}), SSIM {d.ssim.model:.3f} "
                   f"(bicubic {d.ssim.bicubic:.3f})")
