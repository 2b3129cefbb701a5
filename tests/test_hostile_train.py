"""Hostile `cnaps train` configs (issue 10): each is one line and exit 2 before any photo is
read or model built, and a failed run leaves no empty output folder."""

import pytest

from cnaps.cli import main

GOOD_DATA = 'data = "DATA"\n'
CONFIGS = {
    "random bytes (json)": ("c.json", bytes(range(128, 256)) * 4, "not UTF-8 text"),
    "random bytes (toml)": ("c.toml", bytes(range(255, 127, -1)) * 4, "not UTF-8 text"),
    "a JSON list": ("c.json", b"[1, 2]", "holds a JSON list"),
    "a JSON string": ("c.json", b'"data"', "holds a JSON str"),
    "scale_max = inf": ("c.toml", GOOD_DATA + "[sampler]\nscale_max = inf\n",
                        "sampler.scale_max must be a finite number"),
    "lr = nan": ("c.toml", GOOD_DATA + "[optim]\nlr = nan\n", "optim.lr"),
    "checkpoint_minutes = inf": ("c.toml", GOOD_DATA + "checkpoint_minutes = inf\n",
                                 "checkpoint_minutes must be a finite number"),
    "negative width": ("c.toml", GOOD_DATA + "[model]\nhidden_list = [-5]\n",
                       "hidden_list[0] = -5 is outside"),
    "huge width": ("c.toml", GOOD_DATA + "[model]\nencoder_args = {n_feats = 10000000}\n",
                   "n_feats = 10000000 is outside"),
    "float width": ("c.toml", GOOD_DATA + "[model]\nencoder_args = {n_feats = 1e7}\n",
                    "n_feats must be a whole number"),
    "huge depth": ("c.toml", GOOD_DATA + "[model]\nencoder_args = {n_resblocks = 100000}\n",
                   "n_resblocks = 100000 is outside"),
    "queries > lr_size^2": ("c.toml", GOOD_DATA + "[sampler]\nlr_size = 8\nqueries = 100\n",
                            "sampler.queries 100 is more than the 64 HR pixels"),
    "scale_max < scale_min": ("c.toml", GOOD_DATA + "[sampler]\nscale_min = 3\nscale_max = 2\n",
                              "below scale_min"),
    "huge batch": ("c.toml", GOOD_DATA + "batch_size = 100000000\n", "over the limit"),
}


@pytest.mark.parametrize("case", list(CONFIGS))
def test_hostile_train_config_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch, case):
    name, content, message = CONFIGS[case]
    data = tmp_path / "photos"
    data.mkdir()
    if isinstance(content, str):
        content = content.replace("DATA", str(data)).encode()
    config = tmp_path / name
    config.write_bytes(content)

    def no_run(*args, **kwargs):
        raise AssertionError("training started on an invalid config")

    monkeypatch.setattr("cnaps.sr.train.train", no_run)
    with pytest.raises(SystemExit) as exc:
        main(["train", str(config), "-o", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_failed_train_run_leaves_no_empty_folder(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(f'data = "{tmp_path / "no-such-photos"}"\n')
    with pytest.raises(SystemExit) as exc:
        main(["train", str(config), "-o", str(tmp_path / "run")])
    assert exc.value.code == 2 and "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_failed_run_never_removes_an_existing_folder(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    config = tmp_path / "c.toml"
    config.write_text(f'data = "{tmp_path / "no-such-photos"}"\n')
    with pytest.raises(SystemExit):
        main(["train", str(config), "-o", str(tmp_path / "run")])
    assert (tmp_path / "run").is_dir()
