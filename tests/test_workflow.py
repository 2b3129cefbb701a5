"""The Workflow record: validation, running it, and rerunning an answer's demo from it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnaps.cli import main
from cnaps.answer.stage6_demo import plan_demo, run_demo
from cnaps.errors import ConfigError, InputImageError
from cnaps.workflow import (FileInput, SampleInput, Workflow, parse_workflow, run_workflow,
                            workflow_for_demo)


def run_cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    return exit_info.value.code


@pytest.mark.parametrize("text, problem", [
    ('{"input": {"kind": "sample"}, "output": {"scale": 2, "size": [10, 10]}}', "exactly one"),
    ('{"input": {"kind": "sample"}, "output": {}}', "exactly one"),
    ('{"input": {"kind": "sample"}, "output": {"scale": 0.5}}', "above 1"),
    ('{"input": {"kind": "sample"}, "output": {"scale": 2}, "extra": 1}', "extra"),
    ('{"input": {"kind": "camera"}, "output": {"scale": 2}}', "input"),
    ('{"input": {"kind": "sample", "degrade": {"kinds": ["noise"]}}, "output": {"size": [9, 9]}}',
     "needs output.scale"),
    ('{"input": {"kind": "sample"}, "model": {"precision": "double"}, "output": {"scale": 2}}',
     "precision"),
    ('not json', "workflow"),
    # strict: no string where a number goes, no fraction where a whole number goes
    ('{"input": {"kind": "sample"}, "output": {"scale": "2"}}',
     'output.scale: Input should be a valid number (got "2", a string'),
    ('{"input": {"kind": "sample", "degrade": {"seed": 1.5}}, "output": {"scale": 2}}',
     "degrade.seed: Input should be a valid integer (got 1.5, a fraction)"),
    ('{"input": {"kind": "sample"}, "output": {"size": ["64", 64]}}', "output.size.0"),
])
def test_invalid_workflows_are_config_errors(text, problem):
    with pytest.raises(ConfigError, match="not a valid workflow") as err:
        parse_workflow(text)
    assert problem.lower() in str(err.value).lower()


def test_the_default_demo_becomes_the_sample_with_the_demos_crop(released_model):
    plan = plan_demo("liif-edsr-baseline", "LIIF", [8.0], ["noise"], seed=3)
    wf = workflow_for_demo(plan)
    data = json.loads(wf.model_dump_json())
    assert data["input"] == {"kind": "sample", "name": "astronaut",
                             "crop": {"top": 0, "left": 64, "height": 384, "width": 384},
                             "degrade": {"kinds": ["noise"], "seed": 3}}
    assert data["model"] == {"weights": "liif-edsr-baseline", "precision": "exact",
                             "denoise": "auto"}
    assert data["output"]["scale"] == 8.0


def test_workflow_file_of_a_demo_reproduces_its_images_and_numbers(tmp_path, released_model):
    """The demo, written down as workflow.json and run with `cnaps run`, gives the same PSNR,
    SSIM and output pixels: every setting that changes them (photo, scale, degradations,
    seed, weights) is in the record. Non-default values, so a dropped field would show."""
    photo = tmp_path / "photo.png"
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:75, 0:90]
    rgb = np.stack([x * 2.5, y * 3, 128 + 60 * np.sin(x / 5) * np.cos(y / 7)], -1)
    Image.fromarray(np.clip(rgb + rng.normal(0, 4, rgb.shape), 0, 255).astype(np.uint8)).save(photo)
    plan = plan_demo("liif-edsr-baseline", "LIIF", [], ["blur", "noise"], image=str(photo),
                     seed=7, scale=3.0)
    demo = run_demo(plan)
    wf_file = tmp_path / "images" / "workflow.json"
    wf_file.parent.mkdir()
    wf_file.write_text(workflow_for_demo(plan).model_dump_json(indent=2))

    assert run_cli(["run", str(wf_file), "--out", str(tmp_path / "rerun")]) == 0
    rerun = json.loads((tmp_path / "rerun" / "result.json").read_text())["demo"]
    assert rerun["psnr"] == demo.result.psnr.model_dump()
    assert rerun["ssim"] == demo.result.ssim.model_dump()
    assert rerun["weights"] == demo.result.weights
    assert rerun["input_size"] == {"width": 25, "height": 25}  # the 75 px centre square at x3
    for name in ("model", "lr", "ground_truth"):
        again = np.asarray(Image.open(tmp_path / "rerun" / f"{name}.png"))
        assert np.array_equal(again, np.asarray(demo.pictures[name])), name


def test_a_plain_workflow_enlarges_the_sample_crop(released_model):
    wf = Workflow(input=SampleInput(crop={"top": 180, "left": 220, "height": 20, "width": 24}),
                  output={"scale": 2})
    result = run_workflow(wf)
    assert result.image.size == (48, 40)
    from skimage import data

    crop = data.astronaut()[180:200, 220:244]
    bicubic = np.asarray(Image.fromarray(crop).resize((48, 40), Image.BICUBIC), np.float64)
    mse = np.mean((np.asarray(result.image, np.float64) - bicubic) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 25  # the same picture, enlarged
    fast = run_workflow(wf.model_copy(update={"model": wf.model.model_copy(
        update={"precision": "fast"})}))
    # fast runs bf16 where the CPU has bf16 units (/proc/cpuinfo flags), else exact
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    has_bf16 = any(flag in flags.split() for flag in ("avx512_bf16", "amx_bf16"))
    assert fast.precision == ("fast" if has_bf16 else "exact")
    fast_pixels = np.asarray(fast.image, np.float64)
    assert np.abs(fast_pixels - np.asarray(result.image, np.float64)).max() <= 32  # same picture


def test_file_inputs_only_where_allowed(tmp_path):
    wf = Workflow(input=FileInput(path=str(tmp_path / "x.png")), output={"scale": 2})
    with pytest.raises(InputImageError, match="command line only"):
        run_workflow(wf, allow_files=False)
    with pytest.raises(InputImageError, match="does not exist"):
        run_workflow(wf, allow_files=True)


def test_cnaps_run_reports_a_bad_workflow_in_one_line(tmp_path, capsys):
    bad = tmp_path / "wf.json"
    bad.write_text('{"input": {"kind": "sample"}, "output": {"scale": -3}}')
    assert run_cli(["run", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: not a valid workflow") and "\n" not in err


@pytest.mark.parametrize("kinds, denoise", [(["noise"], "none"), (["noise"], "nlm"),
                                            (["jpeg"], "nlm")])
def test_demo_inputs_handle_noise_as_the_demo_does(kinds, denoise):
    wf = Workflow(input=SampleInput(degrade={"kinds": kinds}), model={"denoise": denoise},
                  output={"scale": 4})
    with pytest.raises(ConfigError, match="model.denoise"):
        run_workflow(wf)


def test_cnaps_run_never_replaces_a_users_file(tmp_path, capsys, released_model):
    wf = tmp_path / "wf.json"
    wf.write_text('{"input": {"kind": "sample", "crop": {"top": 0, "left": 0, "height": 24, '
                  '"width": 24}}, "output": {"scale": 2}}')
    for mine in ("output.png", "result.json"):
        out = tmp_path / f"o-{mine}"
        out.mkdir()
        (out / mine).write_text("mine")
        assert run_cli(["run", str(wf), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"{mine} is in the way and not written by cnaps" in err and err.count("\n") == 1
        assert (out / mine).read_text() == "mine"
        assert sorted(p.name for p in out.iterdir()) == [mine]  # nothing else written
    # what cnaps run wrote, it may write again; once edited by the user, it is theirs
    out = tmp_path / "fresh"
    assert run_cli(["run", str(wf), "--out", str(out)]) == 0
    assert run_cli(["run", str(wf), "--out", str(out)]) == 0
    with Image.open(out / "output.png") as im:
        assert im.size == (48, 48)
    (out / "output.png").write_bytes(b"edited")
    assert run_cli(["run", str(wf), "--out", str(out)]) == 2
    assert (out / "output.png").read_bytes() == b"edited"
