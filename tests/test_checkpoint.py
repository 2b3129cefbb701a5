"""The released checkpoint format: round trip, strict loading, clear errors for bad files."""

import zipfile

import pytest
import torch

from cnaps.errors import CheckpointError
from cnaps.sr.checkpoint import load_model, read_checkpoint, save_checkpoint
from cnaps.sr.registry import make
from test_encoders import liif_spec


def test_round_trip_edsr(tmp_path):
    torch.manual_seed(0)
    model = make(liif_spec("edsr-baseline")).eval()
    path = tmp_path / "m.pth"
    save_checkpoint(model, path, optimizer={"state": {}}, epoch=7)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"model", "optimizer", "epoch"} and raw["epoch"] == 7
    assert raw["model"]["name"] == "liif"
    assert raw["model"]["args"] == liif_spec("edsr-baseline")["args"]
    loaded = load_model(path)
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])


def test_rdn_checkpoint_in_released_format_loads_and_runs(tmp_path):
    """No RDN weights can be had here: a file with the released key names and shapes must
    load strictly and upscale."""
    from cnaps.sr.inference import upscale

    torch.manual_seed(0)
    model = make(liif_spec("rdn")).eval()
    path = tmp_path / "rdn-liif.pth"
    torch.save({"model": {**model.spec, "sd": model.state_dict()}, "optimizer": {}, "epoch": 1000},
               path)
    loaded = load_model(path)
    assert loaded.receptive_radius == 131
    out = upscale(loaded, torch.rand(3, 6, 5), (15, 13))
    assert out.shape == (3, 15, 13) and torch.isfinite(out).all()


def _write(path, obj):
    torch.save(obj, path)
    return path


@pytest.mark.parametrize("case,message", [
    ("zero", "empty"),
    ("text", "not a PyTorch checkpoint"),
    ("truncated", "cannot read|not a PyTorch checkpoint"),
    ("no_model", "expected a dict with a 'model' entry"),
    ("wrong_name", "expected 'liif'"),
    ("missing_key", "missing keys"),
    ("wrong_shape", "wrong shape"),
    ("nan", "NaN"),
    ("missing_file", "does not exist"),
    ("pickle_code", "cannot read"),
])
def test_bad_checkpoints_raise_clear_errors(tmp_path, case, message):
    model = make(liif_spec("edsr-baseline"))
    sd = model.state_dict()
    path = tmp_path / f"{case}.pth"
    if case == "zero":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("hello, I am not a model")
    elif case == "truncated":
        _write(path, {"model": {**model.spec, "sd": sd}})
        path.write_bytes(path.read_bytes()[:5000])
    elif case == "no_model":
        _write(path, {"state_dict": sd})
    elif case == "wrong_name":
        _write(path, {"model": {"name": "metasr", "args": {}, "sd": sd}})
    elif case == "missing_key":
        _write(path, {"model": {**model.spec, "sd": {k: v for k, v in sd.items()
                                                      if "body.3" not in k}}})
    elif case == "wrong_shape":
        bad = dict(sd)
        bad["imnet.layers.0.weight"] = torch.zeros(256, 579)
        _write(path, {"model": {**model.spec, "sd": bad}})
    elif case == "nan":
        bad = dict(sd)
        bad["imnet.layers.8.bias"] = torch.tensor([float("nan"), 0.0, 0.0])
        _write(path, {"model": {**model.spec, "sd": bad}})
    elif case == "pickle_code":
        # A pickle that would run code: weights_only loading refuses it.
        import pathlib
        _write(path, {"model": {**model.spec, "sd": sd}, "x": pathlib.PurePosixPath("/etc")})
    with pytest.raises(CheckpointError, match=message):
        load_model(path)


def test_read_checkpoint_rejects_a_zip_that_is_not_torch(tmp_path):
    path = tmp_path / "x.pth"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(CheckpointError):
        read_checkpoint(path)


def test_save_is_atomic(tmp_path):
    model = make(liif_spec("edsr-baseline"))
    target = tmp_path / "out.pth"
    target.write_bytes(b"previous")

    class Boom(dict):
        def __reduce_ex__(self, proto):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        save_checkpoint(model, target, optimizer=Boom())
    assert target.read_bytes() == b"previous"
    assert list(tmp_path.iterdir()) == [target]
