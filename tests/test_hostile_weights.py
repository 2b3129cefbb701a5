"""Hostile weights caches (issue 10): an index of the wrong JSON shape and a CNAPS_HOME that
cannot be written are one line and exit 2."""

import shutil
import subprocess

import pytest
import torch

from cnaps.sr.checkpoint import save_checkpoint
from cnaps.sr.registry import make
from test_hostile_checkpoint import TINY_ARGS

from cli_run import run


@pytest.mark.parametrize("index, message", [
    ("[]", "expected a JSON object of entries, got list"),
    ('{"name": 5}', "entry 'name'"),
    ('{"a": {"name": "a"}}', "entry 'a'"),
    ("{not json", "is corrupt"),
    ("\xff", "is corrupt"),
])
def test_index_of_the_wrong_shape_is_one_line(tmp_path, capsys, monkeypatch, index, message):
    monkeypatch.setenv("CNAPS_HOME", str(tmp_path))
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "index.json").write_bytes(index.encode("latin-1"))
    code, _, err = run(["weights", "list"], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.pth"
    torch.manual_seed(0)
    save_checkpoint(make({"name": "liif", "args": TINY_ARGS}), path)
    return path


@pytest.mark.parametrize("home", ["file", "proc", "immutable"])
@pytest.mark.parametrize("command", ["add", "pull"])
def test_unwritable_cnaps_home_is_one_line(tmp_path, capsys, monkeypatch, tiny, home, command):
    if home == "file":
        (tmp_path / "home").write_text("x")
        root = tmp_path / "home"
    elif home == "proc":
        root = "/proc/cnaps-test-home"
    else:
        root = tmp_path / "home"
        root.mkdir()
        if shutil.which("chattr") is None or subprocess.run(
                ["chattr", "+i", str(root)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here")
    monkeypatch.setenv("CNAPS_HOME", str(root))

    def no_download(*args, **kwargs):
        raise AssertionError("pip ran before the cache folder was checked")

    monkeypatch.setattr("cnaps.sr.weights.subprocess.run", no_download)
    try:
        args = ["weights", "add", str(tiny)] if command == "add" else \
            ["weights", "pull", "liif-edsr-baseline"]
        code, _, err = run(args, capsys)
    finally:
        monkeypatch.undo()  # subprocess.run again, for chattr
        if home == "immutable":
            subprocess.run(["chattr", "-i", str(root)], capture_output=True)
    assert code == 2 and "CNAPS_HOME" in err and len(err.strip().splitlines()) == 1
