"""Hostile output locations (issue 10): every one is one line, exit 2, nothing written, nothing
of the user's lost; killed runs' leftovers are cleaned; concurrent writers take turns; files
get the user's umask. Runs `cnaps answer --no-demo` (no model) and `cnaps upscale` through the
real CLI in temporary folders."""

import os
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnaps.errors import OutputError
from cnaps.output import atomic_file, write_folder

from cli_run import run

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
ANSWER_OWNED = ("answer.md", "answer.html", "answer.json", "images")


@pytest.fixture
def prompt(tmp_path):
    seeds = sorted(SEEDS.glob("*.txt"))
    if not seeds:
        pytest.skip(f"no seed prompts in {SEEDS}")
    path = tmp_path / "q.txt"
    shutil.copyfile(seeds[0], path)
    return path


def immutable_folder(tmp_path):
    """A folder even root cannot write into (chattr +i), or skip where that is unavailable."""
    folder = tmp_path / "immutable"
    folder.mkdir()
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    return folder


def hostile_location(tmp_path, kind) -> str:
    if kind == "proc":
        return "/proc/cnaps-test/out"
    if kind == "sys":
        return "/sys/cnaps-test-out"
    if kind == "parent is a file":
        (tmp_path / "afile").write_text("x")
        return str(tmp_path / "afile" / "out")
    if kind == "name over 255 bytes":
        return str(tmp_path / ("n" * 300))
    if kind == "immutable folder":
        return str(immutable_folder(tmp_path) / "out")
    raise AssertionError(kind)


KINDS = ["proc", "sys", "parent is a file", "name over 255 bytes", "immutable folder"]


@pytest.fixture
def cleanup_immutable(tmp_path):
    yield
    folder = tmp_path / "immutable"
    if folder.exists():
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True)


@pytest.mark.usefixtures("cleanup_immutable")
@pytest.mark.parametrize("kind", KINDS)
def test_answer_out_in_unwritable_places_is_one_line(tmp_path, prompt, capsys, monkeypatch, kind):
    out = hostile_location(tmp_path, kind)

    def no_work(*args, **kwargs):
        raise AssertionError("the answer was computed before the output was checked")

    monkeypatch.setattr("cnaps.cli.answer.make_report", no_work)
    code, stdout, err = run(["answer", str(prompt), "--no-demo", "--out", out], capsys)
    assert code == 2 and stdout == ""
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


@pytest.mark.usefixtures("cleanup_immutable")
@pytest.mark.parametrize("kind", KINDS)
def test_upscale_output_in_unwritable_places_is_one_line(tmp_path, capsys, monkeypatch, kind):
    src = tmp_path / "in.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(src)
    out = hostile_location(tmp_path, kind) + ".png"

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr("cnaps.cli.upscale.load_weights", no_model)
    code, _, err = run(["upscale", str(src), "--scale", "2", "-o", out, "-q"], capsys)
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_answer_out_dot_is_refused_and_nothing_deleted(tmp_path, prompt, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["answer", str(prompt), "--no-demo", "--out", "."], capsys)
    assert code == 2 and "is the current folder" in err
    assert (tmp_path / "q.txt").is_file()


def test_answer_folder_with_foreign_files_is_refused_not_deleted(tmp_path, prompt, capsys):
    out = tmp_path / "ans"
    assert run(["answer", str(prompt), "--no-demo", "--out", str(out)], capsys)[0] == 0
    (out / "thesis.tex").write_text("two years of work")
    (out / "notes.txt").write_text("mine")
    code, _, err = run(["answer", str(prompt), "--no-demo", "--out", str(out)], capsys)
    assert code == 2 and "notes.txt, thesis.tex" in err and len(err.strip().splitlines()) == 1
    assert (out / "thesis.tex").read_text() == "two years of work"
    assert (out / "notes.txt").read_text() == "mine"


def test_previous_answer_with_images_is_replaced(tmp_path, prompt, capsys):
    out = tmp_path / "ans"
    assert run(["answer", str(prompt), "--no-demo", "--out", str(out)], capsys)[0] == 0
    (out / "images").mkdir()
    (out / "images" / "model.png").write_bytes(b"old")
    assert run(["answer", str(prompt), "--no-demo", "--out", str(out)], capsys)[0] == 0
    assert sorted(p.name for p in out.iterdir()) == ["answer.html", "answer.json", "answer.md"]


@pytest.mark.parametrize("leftover", [".ans.tmp-k1ll3d", ".ans.old-k1ll3d"])
def test_killed_answer_runs_leftovers_are_cleaned(tmp_path, prompt, capsys, leftover):
    (tmp_path / leftover).mkdir()
    (tmp_path / leftover / "answer.md").write_text("half")
    (tmp_path / ".other.tmp-x").mkdir()  # another folder's: not ours to clean
    code, _, _ = run(["answer", str(prompt), "--no-demo", "--out", str(tmp_path / "ans")], capsys)
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-x", "ans", "q.txt"]


def test_killed_upscale_part_files_are_cleaned(tmp_path):
    (tmp_path / ".out.png.abc123.part").write_bytes(b"half")
    (tmp_path / ".other.png.x.part").write_bytes(b"not ours")
    with atomic_file(tmp_path / "out.png") as tmp:
        tmp.write_bytes(b"done")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.png.x.part", "out.png"]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_files_get_the_users_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        write_folder(tmp_path / "ans", {"answer.json": b"{}", "images/a.png": b"x"},
                     owned=ANSWER_OWNED, marker="answer.json")
        with atomic_file(tmp_path / "one.png") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(previous)
    assert (tmp_path / "ans").stat().st_mode & 0o777 == 0o777 & ~umask
    assert (tmp_path / "ans" / "answer.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "one.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_concurrent_writers_take_turns(tmp_path):
    """Four writers, ten rounds each, into one folder: every call succeeds and the folder
    always ends holding one writer's complete answer."""
    errors = []

    def writer(n):
        for round_ in range(10):
            files = {"answer.md": f"{n}-{round_}".encode(), "answer.json": f"{n}".encode(),
                     "images/x.png": f"{n}".encode()}
            try:
                write_folder(tmp_path / "ans", files, owned=ANSWER_OWNED, marker="answer.json")
            except Exception as exc:  # noqa: BLE001 - collected, asserted below
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    out = tmp_path / "ans"
    writer_id = (out / "answer.json").read_text()
    assert (out / "answer.md").read_text().startswith(f"{writer_id}-")
    assert (out / "images" / "x.png").read_text() == writer_id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ans"]


def test_upscale_output_equal_to_input_is_refused(tmp_path, capsys):
    src = tmp_path / "in.png"
    Image.fromarray(np.full((8, 8, 3), 7, np.uint8)).save(src)
    before = src.read_bytes()
    code, _, err = run(["upscale", str(src), "--scale", "2", "-o", str(src), "-q"], capsys)
    assert code == 2 and "is the input file" in err
    assert src.read_bytes() == before


def test_write_folder_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "ans").write_text("a file")
    with pytest.raises(OutputError, match="not a folder"):
        write_folder(tmp_path / "ans", {"answer.json": b"{}"}, owned=ANSWER_OWNED,
                     marker="answer.json")
    assert (tmp_path / "ans").read_text() == "a file"
