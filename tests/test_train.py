"""cnaps.sr.train and `cnaps train`: config validation, the loss falls, exact resume, released
checkpoint format, device choice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnaps.cli import main
from cnaps.errors import ConfigError
from cnaps.sr.checkpoint import load_model, read_checkpoint
from cnaps.sr.data import Sampler
from cnaps.sr.train import TrainConfig, build_model, load_config, train

TINY = {
    "batch_size": 4, "steps": 6, "steps_per_epoch": 3, "seed": 1,
    "model": {"encoder_args": {"n_resblocks": 1, "n_feats": 8}, "hidden_list": [16, 16]},
    "sampler": {"lr_size": 8, "scale_min": 1, "scale_max": 4, "queries": 64,
                "noise": {"p_clean": 0.5, "sigma_max": 20}, "jpeg": {"p": 0.2}},
    "optim": {"lr": 1e-3, "milestones": [4]},
    "val": {"holdout": 2, "crop": 32, "scale": 4, "sigmas": [0, 10]},
}


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    out = tmp_path / "photos"
    out.mkdir()
    y, x = np.mgrid[0:64, 0:64]
    for i in range(6):
        smooth = 128 + 100 * np.sin(x / (5 + i) + i) * np.cos(y / (7 + i))
        img = np.stack([smooth, smooth[::-1], smooth.T], -1) + rng.normal(0, 2, (64, 64, 3))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(out / f"{i}.png")
    return out


def config(folder, **changes) -> TrainConfig:
    return TrainConfig.model_validate({**TINY, "data": str(folder), **changes})


def test_load_config_toml_and_errors(tmp_path, folder):
    good = tmp_path / "c.toml"
    good.write_text(f'data = "{folder}"\nsteps = 7\n[optim]\nlr = 2e-4\n')
    cfg = load_config(good, steps=9)
    assert cfg.steps == 9 and cfg.optim.lr == 2e-4 and cfg.sampler.lr_size == 48
    bad = tmp_path / "bad.toml"
    bad.write_text(f'data = "{folder}"\nbatchsize = 3\n')
    with pytest.raises(ConfigError, match="batchsize"):
        load_config(bad)
    bad.write_text(f'data = "{folder}"\n[val]\ncrop = 30\nscale = 4\n')
    with pytest.raises(ConfigError, match="multiple"):
        load_config(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml")


def test_shipped_configs_validate():
    from pathlib import Path

    for path in sorted((Path(__file__).parent.parent / "configs").glob("*.toml")):
        assert load_config(path).steps > 0


def test_loss_falls(tmp_path, folder):
    torch.set_num_threads(1)
    cfg = config(folder, steps=40, steps_per_epoch=40, optim={"lr": 3e-3})
    torch.manual_seed(cfg.seed)
    initial = build_model(cfg.model)
    fixed = Sampler([np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))],
                    cfg.sampler, np.random.default_rng(123)).batch(16)
    train(cfg, tmp_path / "run", device="cpu", progress=False, log=lambda s: None)
    trained = load_model(tmp_path / "run" / "last.pth")

    def l1(model):
        with torch.no_grad():
            return torch.nn.functional.l1_loss(model(fixed.inp, fixed.coord, fixed.cell),
                                               fixed.gt).item()
    assert l1(trained) < 0.7 * l1(initial)
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().split(
        "\n") if line]
    assert records[0]["step"] == 0 and records[-1]["step"] == 40
    assert records[-1]["val_psnr"]["0.0"] > records[0]["val_psnr"]["0.0"]


def test_resume_restores_the_state_exactly(tmp_path, folder):
    torch.set_num_threads(1)
    cfg = config(folder)
    train(cfg, tmp_path / "straight", device="cpu", progress=False, log=lambda s: None)
    train(cfg, tmp_path / "resumed", device="cpu", progress=False, stop_after=4,
          log=lambda s: None)
    assert read_checkpoint(tmp_path / "resumed" / "last.pth")["step"] == 4
    train(cfg, tmp_path / "resumed", device="cpu", progress=False, log=lambda s: None)
    assert_same_run(tmp_path / "straight", tmp_path / "resumed", steps=6)


def assert_same_run(a_dir, b_dir, steps: int) -> None:
    """Two runs' last.pth hold the same step, weights, Adam moments, schedule and RNG."""
    a, b = read_checkpoint(a_dir / "last.pth"), read_checkpoint(b_dir / "last.pth")
    assert a["step"] == b["step"] == steps
    for key, value in a["model"]["sd"].items():
        assert torch.equal(value, b["model"]["sd"][key]), key
    for pid, state in a["optimizer"]["state"].items():
        assert torch.equal(state["exp_avg"], b["optimizer"]["state"][pid]["exp_avg"])
    assert a["scheduler"] == b["scheduler"] and a["rng_numpy"] == b["rng_numpy"]


def test_max_minutes_stops_cleanly_and_the_same_command_continues(tmp_path, folder):
    torch.set_num_threads(1)
    cfg = config(folder)
    said = []
    train(cfg, tmp_path / "run", device="cpu", progress=False, max_minutes=1e-9,
          log=said.append)
    assert read_checkpoint(tmp_path / "run" / "last.pth")["step"] == 1  # past the deadline
    assert "stopped after" in said[-1] and "step 1 of 6" in said[-1]
    train(cfg, tmp_path / "run", device="cpu", progress=False, log=said.append)
    train(cfg, tmp_path / "straight", device="cpu", progress=False, log=lambda s: None)
    assert_same_run(tmp_path / "straight", tmp_path / "run", steps=6)


def test_resume_refuses_a_different_recipe(tmp_path, folder):
    train(config(folder, steps=3), tmp_path / "run", device="cpu", progress=False,
          log=lambda s: None)
    with pytest.raises(ConfigError, match="different config"):
        train(config(folder, steps=3, batch_size=2), tmp_path / "run", device="cpu",
              progress=False, log=lambda s: None)


def test_checkpoints_are_in_the_released_format(tmp_path, folder):
    train(config(folder), tmp_path / "run", device="cpu", progress=False, log=lambda s: None)
    best = read_checkpoint(tmp_path / "run" / "best.pth")
    assert set(best) >= {"model", "epoch"} and "optimizer" not in best
    assert best["model"]["name"] == "liif"
    model = load_model(tmp_path / "run" / "best.pth")
    assert model.encoder_spec.args["n_feats"] == 8


def test_cli_train_and_clean_errors(tmp_path, folder, capsys):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({**TINY, "data": str(folder), "steps": 3}))
    with pytest.raises(SystemExit) as exc:
        main(["train", str(path), "-o", str(tmp_path / "run"), "--device", "cpu",
              "--threads", "1"])
    assert exc.value.code == 0
    assert "last validation at step 3 of 3" in capsys.readouterr().out
    assert (tmp_path / "run" / "best.pth").is_file()
    with pytest.raises(SystemExit) as exc:
        main(["train", str(path), "-o", str(tmp_path / "run2"), "--data",
              str(tmp_path / "nowhere")])
    assert exc.value.code == 2
    assert "does not exist" in capsys.readouterr().err


def test_export_weights_strips_the_run_state(tmp_path, folder):
    from cnaps.sr.train import export_weights
    from cnaps.sr.weights import sha256_of

    train(config(folder, steps=3), tmp_path / "run", device="cpu", progress=False,
          log=lambda s: None)
    sha, size = export_weights(tmp_path / "run" / "last.pth", tmp_path / "w.pt")
    ckpt = read_checkpoint(tmp_path / "w.pt")
    assert set(ckpt) == {"model", "epoch"}
    assert sha == sha256_of(tmp_path / "w.pt") and size == (tmp_path / "w.pt").stat().st_size
    last = read_checkpoint(tmp_path / "run" / "last.pth")
    for key, value in last["model"]["sd"].items():
        assert torch.equal(value, ckpt["model"]["sd"][key])


@pytest.mark.parametrize("path", sorted((Path(__file__).parent.parent / "configs").glob("*.toml")),
                         ids=lambda p: p.name)
def test_every_shipped_config_is_valid_and_builds_its_model(path):
    cfg = load_config(path)
    assert cfg.sampler.scale_min <= cfg.sampler.scale_max
    assert all(0 < m < cfg.steps for m in cfg.optim.milestones)
    if cfg.model.init is None:  # fresh models are built here; fine-tunes need installed weights
        model = build_model(cfg.model)
        assert model.encoder_spec.name == cfg.model.encoder


def test_a_fresh_rdn_liif_trains_and_saves_in_the_released_format(tmp_path, folder):
    torch.set_num_threads(1)
    rdn = {"encoder": "rdn", "encoder_args": {"G0": 8, "n_blocks": 2, "n_convs": 2, "growth": 4},
           "hidden_list": [16]}
    train(config(folder, model=rdn, steps=2), tmp_path / "run", device="cpu", progress=False,
          log=lambda s: None)
    ckpt = read_checkpoint(tmp_path / "run" / "last.pth")
    assert ckpt["step"] == 2 and ckpt["model"]["args"]["encoder_spec"]["name"] == "rdn"
    assert any(k.startswith("encoder.RDBs.1.LFF.") for k in ckpt["model"]["sd"])
    assert load_model(tmp_path / "run" / "best.pth").encoder_spec.name == "rdn"
