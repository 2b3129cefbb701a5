"""Hostile `cnaps eval` outputs and scales (issue 10): checked before the model loads, so nothing
(not even --json) is written when one of them is bad."""

import numpy as np
import pytest
from PIL import Image

from cnaps.cli import main


@pytest.fixture
def data(tmp_path):
    (tmp_path / "S" / "HR").mkdir(parents=True)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "S" / "HR" / "a.png")
    return tmp_path


@pytest.mark.parametrize("extra, message", [
    (["--plot", "{tmp}/out.xyz", "--json", "{tmp}/r.json"], "matplotlib cannot draw '.xyz'"),
    (["--plot", "/proc/cnaps-test.png"], "cannot write"),
    (["--json", "{tmp}/S/HR/a.png/r.json"], "is a file, not a folder"),
    (["--json", "{tmp}/same.png", "--plot", "{tmp}/same.png"], "name the same file"),
    (["--scales", "1e200"], "at most x1000"),
    (["--scales", "inf"], "at most x1000"),
    (["--scales", "nan"], "whole numbers"),
])
def test_bad_eval_outputs_fail_before_the_model(data, capsys, monkeypatch, extra, message):
    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the outputs were checked")

    monkeypatch.setattr("cnaps.sr.inference.load_weights", no_model)
    args = ["eval", "--data", str(data), "--sets", "S", "--scales", "2", "--no-progress"]
    with pytest.raises(SystemExit) as exc:
        main(args + [a.format(tmp=data) for a in extra])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (data / "r.json").exists()
