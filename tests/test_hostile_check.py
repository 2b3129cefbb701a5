"""Damaged golden files for `cnaps check` (issue 10): each is a FAIL line for its prompt (exit 1)
saying to regenerate, never a traceback; an unwritable golden folder on --update is one line."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest


from cli_run import run

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.fixture
def golden(tmp_path, capsys):
    """A prompt folder with one seed prompt and its golden answer (no demo: no model needed)."""
    seeds = sorted(SEEDS.glob("*.txt"))
    if not seeds:
        pytest.skip(f"no seed prompts in {SEEDS}")
    (tmp_path / "prompts").mkdir()
    shutil.copyfile(seeds[0], tmp_path / "prompts" / "a.txt")
    code, _, err = run(["check", str(tmp_path / "prompts"), "--update"], capsys)
    assert code == 0, err
    return tmp_path / "golden" / "a"


def damage(golden: Path, how: str) -> None:
    record = json.loads((golden / "answer.json").read_text())
    if how == "garbage JSON":
        (golden / "answer.json").write_text("{garbage")
    elif how == "missing options":
        record.pop("options")
        (golden / "answer.json").write_text(json.dumps(record))
    elif how == "wrong option type":
        record["options"]["seed"] = "x"
        (golden / "answer.json").write_text(json.dumps(record))
    elif how == "wrong demo type":
        record["demo"] = "x"
        (golden / "answer.json").write_text(json.dumps(record))
    elif how == "JSON list":
        (golden / "answer.json").write_text("[]")
    elif how == "binary answer.md":
        (golden / "answer.md").write_bytes(bytes(range(128, 256)))
    elif how == "answer.json not UTF-8":
        (golden / "answer.json").write_bytes(b"\xff\xfe{}")


CASES = ["garbage JSON", "missing options", "wrong option type", "wrong demo type", "JSON list",
         "binary answer.md", "answer.json not UTF-8"]


@pytest.mark.parametrize("how", CASES)
def test_damaged_golden_is_a_failure_not_a_traceback(golden, capsys, how):
    damage(golden, how)
    code, out, err = run(["check", str(golden.parent.parent / "prompts")], capsys)
    assert code == 1 and err == ""
    assert "FAIL     a.txt" in out and "regenerate them with --update" in out


@pytest.mark.parametrize("how", CASES)
def test_update_repairs_damaged_golden(golden, capsys, how):
    damage(golden, how)
    prompts = str(golden.parent.parent / "prompts")
    assert run(["check", prompts, "--update"], capsys)[0] == 0
    assert run(["check", prompts], capsys)[0] == 0


def test_golden_path_that_is_a_file(golden, capsys):
    shutil.rmtree(golden)
    golden.write_text("not a folder")
    prompts = str(golden.parent.parent / "prompts")
    code, out, _ = run(["check", prompts], capsys)
    assert code == 1 and "FAIL" in out
    code, _, err = run(["check", prompts, "--update"], capsys)
    assert code == 2 and "a file of that name is in the way" in err and len(err.splitlines()) == 1


def test_immutable_golden_folder_on_update_is_one_line(golden, capsys):
    if shutil.which("chattr") is None or subprocess.run(
            ["chattr", "+i", str(golden)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        code, _, err = run(["check", str(golden.parent.parent / "prompts"), "--update"], capsys)
    finally:
        subprocess.run(["chattr", "-i", str(golden)], capture_output=True)
    assert code == 2 and err.startswith("error: cannot write") and len(err.splitlines()) == 1
