"""Hostile checkpoints (issue 10): flipped bytes and absurd architectures are refused with one
line and exit 2 by `weights add` and `upscale --weights`, before anything is built."""

import struct
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from cnaps.errors import CheckpointError
from cnaps.sr.checkpoint import check_architecture, save_checkpoint
from cnaps.sr.registry import make
from test_encoders import liif_spec

from cli_run import run

TINY_ARGS = {"encoder_spec": {"name": "edsr-baseline",
                              "args": {"n_resblocks": 1, "n_feats": 8, "no_upsampling": True}},
             "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [16]}}}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def tiny_checkpoint(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "tiny.pth"
    save_checkpoint(make({"name": "liif", "args": TINY_ARGS}), path)
    return path


def flip_bytes_inside_largest_tensor(path, count=256):
    """Invert `count` bytes in the middle of the largest stored tensor, leaving the zip's
    structure intact (what a bad disk or download does)."""
    with zipfile.ZipFile(path) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len + info.file_size // 2 - count // 2
    raw[start:start + count] = bytes(b ^ 0xFF for b in raw[start:start + count])
    path.write_bytes(bytes(raw))


def spec_file(tmp_path, encoder_args=None, hidden_list=None):
    args = {"encoder_spec": {"name": "edsr-baseline",
                             "args": {"no_upsampling": True, **(encoder_args or {})}},
            "imnet_spec": {"name": "mlp", "args": {"out_dim": 3,
                                                   "hidden_list": hidden_list or [16]}}}
    path = tmp_path / "spec.pth"
    torch.save({"model": {"name": "liif", "args": args, "sd": {}}}, path)
    return path


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (12, 10, 3), np.uint8)).save(path)
    return path


@pytest.mark.parametrize("command", ["weights add", "upscale --weights"])
def test_flipped_bytes_are_caught_by_the_zip_crcs(tmp_path, home, tiny_checkpoint, photo,
                                                  capsys, command):
    code, _, _ = run(["weights", "add", str(tiny_checkpoint)], capsys)
    assert code == 0  # intact: accepted
    flip_bytes_inside_largest_tensor(tiny_checkpoint)
    if command == "weights add":
        args = ["weights", "add", str(tiny_checkpoint), "--name", "again"]
    else:
        args = ["upscale", str(photo), "--weights", str(tiny_checkpoint), "--scale", "2",
                "-o", str(tmp_path / "out.png"), "-q"]
    code, out, err = run(args, capsys)
    assert code == 2 and "fails its CRC check" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.png").exists()
    assert not (home / "weights" / "again.pth").exists()


def test_installed_weights_damaged_after_install_are_refused(tmp_path, home, tiny_checkpoint,
                                                             photo, capsys):
    """An installed file that changed since: caught by the sha256 recorded at install time."""
    code, out, _ = run(["weights", "add", str(tiny_checkpoint), "--name", "mine"], capsys)
    assert code == 0
    installed = home / "weights" / "mine.pth"
    flip_bytes_inside_largest_tensor(installed)
    code, _, err = run(["upscale", str(photo), "--model", "mine", "--scale", "2",
                        "-o", str(tmp_path / "out.png"), "-q"], capsys)
    assert code == 2 and "no longer match their sha256" in err
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("encoder_args, hidden_list, message", [
    ({"n_feats": 1e7}, None, "n_feats must be a whole number"),
    ({"n_feats": 10_000_000}, None, "n_feats = 10000000 is outside 1..4096"),
    ({"n_feats": -5}, None, "n_feats = -5 is outside"),
    ({"n_resblocks": 100_000}, None, "n_resblocks = 100000 is outside"),
    ({"n_resblocks": 500, "n_feats": 4096}, None, "M parameters, over the limit"),
    ({}, [1e9], "hidden_list[0] must be a whole number"),
    ({}, [1_000_000_000], "hidden_list[0] = 1000000000 is outside"),
    ({}, [0], "hidden_list[0] = 0 is outside"),
    ({"n_feats": True}, None, "must be a whole number"),
])
@pytest.mark.parametrize("command", ["weights add", "upscale --weights"])
def test_absurd_architectures_refused_before_building(tmp_path, home, photo, capsys, monkeypatch,
                                                      encoder_args, hidden_list, message,
                                                      command):
    def no_build(*args, **kwargs):
        raise AssertionError("the model was built from an invalid spec")

    monkeypatch.setattr("cnaps.sr.checkpoint.make", no_build)
    path = spec_file(tmp_path, encoder_args, hidden_list)
    args = (["weights", "add", str(path)] if command == "weights add" else
            ["upscale", str(photo), "--weights", str(path), "--scale", "2", "-o",
             str(tmp_path / "o.png"), "-q"])
    code, _, err = run(args, capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("encoder", ["edsr-baseline", "rdn"])
def test_parameter_count_is_computed_without_building(encoder):
    """The bound is only as good as the count: within 1 % of the built model's."""
    spec = liif_spec(encoder)
    real = sum(p.numel() for p in make(spec).parameters())
    assert abs(check_architecture(spec["args"]) - real) / real < 0.01


def test_wrong_encoder_name_or_missing_mlp_is_a_checkpoint_error():
    with pytest.raises(CheckpointError, match="encoder_spec.name must be one of"):
        check_architecture({"encoder_spec": {"name": "vgg"}, "imnet_spec": {"name": "mlp"}})
    with pytest.raises(CheckpointError, match="imnet_spec must be"):
        check_architecture({"encoder_spec": {"name": "rdn", "args": {}}, "imnet_spec": 5})
