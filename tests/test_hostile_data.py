"""Hostile `cnaps data` runs (issue 10): bad --max-side and unwritable OUT are one line before any
download; a failed run leaves no empty folder."""

import pytest

from cnaps.cli import main


def run(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    return exc.value.code, capsys.readouterr().err


@pytest.mark.parametrize("max_side", ["0", "-5", "10"])
def test_max_side_out_of_range_is_one_line(tmp_path, capsys, max_side):
    code, err = run(["data", str(tmp_path / "out"), "--no-debian", "--max-side", max_side], capsys)
    assert code == 2 and "--max-side" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("out", ["/proc/cnaps-data-test", "{tmp}/afile/out"])
def test_unwritable_out_is_one_line_before_any_work(tmp_path, capsys, monkeypatch, out):
    (tmp_path / "afile").write_text("x")

    def no_work(*args, **kwargs):
        raise AssertionError("photos were assembled before OUT was checked")

    monkeypatch.setattr("cnaps.sr.photos.assemble", no_work)
    code, err = run(["data", out.format(tmp=tmp_path), "--no-debian"], capsys)
    assert code == 2 and err.startswith("error: cannot write") and len(err.splitlines()) == 1


def test_failed_data_run_leaves_no_partial_folder(tmp_path, capsys, monkeypatch):
    """Photos written before a later step failed (once: the scikit-image photos, then a failed
    Debian download) are removed with the folder the run created."""
    from cnaps.errors import DataError

    def fails(out, *args, **kwargs):
        from pathlib import Path

        Path(out).mkdir(parents=True)
        (Path(out) / "skimage-astronaut.png").write_bytes(b"png")
        raise DataError("apt-get download failed")

    monkeypatch.setattr("cnaps.sr.photos.assemble", fails)
    code, err = run(["data", str(tmp_path / "out"), "--no-debian"], capsys)
    assert code == 2 and "apt-get download failed" in err
    assert not (tmp_path / "out").exists()


def test_failed_data_run_never_touches_an_existing_folder(tmp_path, capsys, monkeypatch):
    from cnaps.errors import DataError

    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.png").write_bytes(b"user's")

    def fails(*args, **kwargs):
        raise DataError("apt-get download failed")

    monkeypatch.setattr("cnaps.sr.photos.assemble", fails)
    assert run(["data", str(out), "--no-debian"], capsys)[0] == 2
    assert (out / "mine.png").read_bytes() == b"user's"
