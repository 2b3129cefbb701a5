"""`cnaps eval` end to end on a tiny synthetic set with a tiny random-weights checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cnaps.cli import main
from cnaps.sr.checkpoint import save_checkpoint
from cnaps.sr.liif import LIIF


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = LIIF({"name": "edsr-baseline", "args": {"n_resblocks": 1, "n_feats": 8}},
                 {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [16, 16]}})
    path = tmp_path_factory.mktemp("weights") / "tiny.pth"
    save_checkpoint(model, path)
    return path


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(0)
    for name, shape in (("a.png", (40, 44, 3)), ("b.png", (36, 36))):
        folder = tmp_path / "Tiny" / "HR"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(folder / name)
    return tmp_path


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_eval_writes_table_json_and_plot(data, tiny_weights, tmp_path, capsys):
    code, out, err = run(["eval", "--data", str(data), "--sets", "Tiny", "--scales", "2,x3",
                          "--weights", str(tiny_weights), "--json", str(tmp_path / "r.json"),
                          "--plot", str(tmp_path / "p.png"), "--no-progress"], capsys)
    assert code == 0, err
    assert "Tiny" in out and "x2" in out and "x3" in out and "PSNR bicubic" in out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["model"] == "tiny.pth"
    assert [(r["scale"], r["n"]) for r in report["results"]] == [(2, 2), (3, 2)]
    assert {i["image"] for i in report["results"][0]["images"]} == {"a.png", "b.png"}
    assert report["results"][0]["bicubic"]["psnr"] > 5
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_eval_options_reach_the_report(data, tiny_weights, tmp_path, capsys):
    code, _, err = run(["eval", "--data", str(data), "--sets", "Tiny", "--scales", "2",
                        "--weights", str(tiny_weights), "--metric", "rgb", "--lr-kernel",
                        "matlab", "--noise", "5", "--jpeg", "70", "--seed", "4", "--limit", "1",
                        "--threads", "1", "--device", "cpu",
                        "--json", str(tmp_path / "r.json"), "--no-progress"], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    settings = report["settings"]
    assert (settings["metric"], settings["lr_kernel"], settings["noise"], settings["jpeg"],
            settings["seed"], settings["limit"]) == ("rgb", "matlab", 5.0, 70, 4, 1)
    assert report["results"][0]["n"] == 1 and report["results"][0]["shave"] == 8
    assert "matlab" in report["protocol"] and "JPEG quality 70" in report["protocol"]


@pytest.mark.parametrize("args,message", [
    (["--data", "{missing}"], "does not exist"),
    (["--sets", "Nope"], "no folder"),
    (["--sets", "Empty"], "is empty"),
    (["--scales", "2.5"], "whole numbers"),
    (["--scales", "two"], "numbers like"),
    (["--scales", "-4"], "whole numbers"),
    (["--scales", ","], "comma-separated"),
    (["--jpeg", "0"], "--jpeg"),
    (["--noise", "-3"], "--noise"),
])
def test_eval_user_errors_exit_2_with_one_line(data, tiny_weights, capsys, args, message):
    (data / "Empty" / "HR").mkdir(parents=True)
    argv = ["eval", "--data", str(data), "--sets", "Tiny", "--weights", str(tiny_weights),
            "--no-progress"]
    argv += [a.replace("{missing}", str(data / "missing")) for a in args]
    code, _, err = run(argv, capsys)
    assert code == 2
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_eval_help_is_the_docstring(capsys):
    code, out, _ = run(["eval", "--help"], capsys)
    assert code == 0 and "LIIF paper's protocol" in out and "--lr-kernel" in out
