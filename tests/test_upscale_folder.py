"""`cnaps upscale DIR -o OUTDIR` (cnaps.upscale_folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnaps.cli import main
from cnaps.upscale_folder import (WORKER_BASE_BYTES, fit_workers, list_images,
                                  worker_peak_bytes)


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture
def photos(tmp_path, released_model) -> Path:
    """Three small photos in a tree (PNG, JPEG, grayscale), a corrupt one and a text file."""
    from skimage import data

    root = tmp_path / "photos"
    (root / "sub" / "deeper").mkdir(parents=True)
    Image.fromarray(data.astronaut()[100:140, 150:196]).save(root / "a.png")
    Image.fromarray(data.coffee()[50:90, 100:130]).save(root / "sub" / "c.jpg", quality=95)
    Image.fromarray(data.camera()[:32, :40]).save(root / "sub" / "deeper" / "g.png")
    (root / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "notes.txt").write_text("not an image")
    return root


def test_lists_images_recursively_and_skips_the_output_inside(tmp_path):
    root = tmp_path / "in"
    (root / "x" / ".hidden").mkdir(parents=True)
    (root / "out").mkdir()
    for rel in ["b.PNG", "x/a.jpg", "x/.hidden/h.png", "out/done.png", "x/readme.txt"]:
        (root / rel).write_bytes(b"")
    assert list_images(root, exclude=root / "out") == [Path("b.PNG"), Path("x/a.jpg")]


def test_folder_upscale_keeps_paths_lists_failures_and_skips_done(tmp_path, photos, capsys):
    out_dir = tmp_path / "out"
    code, out, err = run(["upscale", photos, "-o", out_dir, "--scale", "2", "-q"], capsys)
    assert code == 1  # the corrupt file failed; the others were upscaled
    assert "4 images: 3 upscaled, 0 up to date, 1 failed" in out
    assert "failed: sub/broken.png: " in err and err.count("\n") == 1
    made = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*.png")
                  if not any(part.startswith(".") for part in p.relative_to(out_dir).parts))
    assert made == ["a.png", "sub/c.png", "sub/deeper/g.png"]
    with Image.open(out_dir / "a.png") as im:
        assert im.size == (92, 80) and im.mode == "RGB"
    with Image.open(out_dir / "sub" / "deeper" / "g.png") as im:
        assert im.size == (80, 64) and im.mode == "L"  # grayscale stays grayscale
    # each output equals what `cnaps upscale FILE` makes of that file alone
    single = tmp_path / "single.png"
    assert run(["upscale", photos / "sub" / "c.jpg", "-o", single, "--scale", "2", "-q"],
               capsys)[0] == 0
    assert np.array_equal(np.asarray(Image.open(single)),
                          np.asarray(Image.open(out_dir / "sub" / "c.png")))
    before = (out_dir / "a.png").stat().st_mtime_ns
    code, out, _ = run(["upscale", photos, "-o", out_dir, "--scale", "2", "-q"], capsys)
    assert "0 upscaled, 3 up to date, 1 failed" in out
    assert (out_dir / "a.png").stat().st_mtime_ns == before
    # another scale is another output; --force redoes everything
    code, out, _ = run(["upscale", photos, "-o", out_dir, "--scale", "3", "-q"], capsys)
    assert "3 upscaled, 0 up to date" in out
    code, out, _ = run(["upscale", photos, "-o", out_dir, "--scale", "3", "-q", "--force"],
                       capsys)
    assert "3 upscaled, 0 up to date" in out


def test_folder_needs_an_output_folder(tmp_path, photos, capsys):
    code, out, err = run(["upscale", photos, "--scale", "2"], capsys)
    assert code == 2 and out == "" and "-o OUTDIR" in err


def test_workers_fit_in_memory():
    gib = 1 << 30
    assert fit_workers(4, peak=2 * gib, available=5 * gib) == 2  # 0.8 * 5 GiB holds two
    assert fit_workers(4, peak=2 * gib, available=64 * gib) == 4
    assert fit_workers(4, peak=8 * gib, available=2 * gib) == 1  # always at least one
    assert fit_workers(3, peak=2 * gib, available=None) == 3
    # a 4000x3000 photo at x4: 48 MP out, so each worker needs ~0.8 GB on top of the base
    peak = worker_peak_bytes(4000 * 3000, 16000 * 12000)
    assert peak - WORKER_BASE_BYTES == 12 * 12_000_000 + 16 * 192_000_000


@pytest.mark.slow
def test_two_workers_give_the_same_images(tmp_path, photos, capsys):
    serial, pooled = tmp_path / "serial", tmp_path / "pooled"
    run(["upscale", photos, "-o", serial, "--scale", "2.5", "-q", "--threads", "1"], capsys)
    code, out, _ = run(["upscale", photos, "-o", pooled, "--scale", "2.5", "-q", "--jobs", "2",
                        "--threads", "1"], capsys)
    assert code == 1 and "3 upscaled" in out
    for rel in ["a.png", "sub/c.png", "sub/deeper/g.png"]:
        assert np.array_equal(np.asarray(Image.open(serial / rel)),
                              np.asarray(Image.open(pooled / rel)))


def test_a_users_file_where_an_output_goes_is_refused_even_with_force(tmp_path, photos, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "a.png").write_text("mine")
    for extra in ([], ["--force"]):
        code, out, err = run(["upscale", photos, "-o", out_dir, "--scale", "2", "-q", *extra],
                             capsys)
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert "a.png is in the way and not written by cnaps" in err and "-o OUTDIR" in err
        assert (out_dir / "a.png").read_text() == "mine"  # untouched
        assert sorted(p.name for p in out_dir.iterdir()) == ["a.png"]  # nothing written
    # an output cnaps wrote (it has its stamp) is redone by --force as documented
    (out_dir / "a.png").unlink()
    assert run(["upscale", photos, "-o", out_dir, "--scale", "2", "-q"], capsys)[0] == 1
    code, out, _ = run(["upscale", photos, "-o", out_dir, "--scale", "2", "-q", "--force"],
                       capsys)
    assert "3 upscaled, 0 up to date" in out


def test_broken_links_fifos_and_vanished_files_are_listed_as_skipped(tmp_path, photos,
                                                                      capsys):
    import os

    from cnaps.upscale_folder import FolderOptions, upscale_one

    (photos / "dead.png").symlink_to(tmp_path / "nowhere.png")
    os.mkfifo(photos / "sub" / "pipe.png")
    out_dir = tmp_path / "out"
    code, out, err = run(["upscale", photos, "-o", out_dir, "--scale", "2", "-q"], capsys)
    assert code == 1 and "6 images: 3 upscaled, 0 up to date, 2 skipped, 1 failed" in out
    assert "dead.png is a broken symbolic link, skipped\n" in err
    assert "sub/pipe.png is a FIFO, not an image file, skipped\n" in err
    # a file listed at the start and gone when its turn comes (deleted meanwhile)
    options = FolderOptions(scale=2, weights="liif-edsr-baseline", max_output_pixels=10**8,
                            max_input_pixels=10**8)
    row = upscale_one("d29.png", str(photos), str(out_dir), options)
    assert row.status == "skipped" and row.reason == "vanished during the run"
