"""`cnaps answer` on many prompts (cnaps.collection) and the demo cache (cnaps.answer.demo_cache)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnaps.answer import demo_cache
from cnaps.cli import main
from cnaps.collection import CollectionError, expand_prompts

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures" / "prompts"
MALFORMED = TESTS / "fixtures" / "malformed"
OK_PROMPTS = ["sr_upscale_x2.txt", "denoise_dncnn.txt", "sr_enlarge_x3_5.txt"]


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


@pytest.fixture(autouse=True)
def no_cache_leak():
    """The CLI turns the demo cache on for its process; leave it off for other tests."""
    yield
    demo_cache.configure(None)


@pytest.fixture
def prompt_dir(tmp_path) -> Path:
    folder = tmp_path / "prompts"
    folder.mkdir()
    for name in OK_PROMPTS:
        shutil.copy(FIXTURES / name, folder / name)
    shutil.copy(MALFORMED / "no_question.txt", folder / "broken.txt")
    return folder


@pytest.fixture
def small_photo(tmp_path) -> Path:
    """A 64x64 photo crop, so a demo at x2 takes a second."""
    from skimage import data

    path = tmp_path / "photo.png"
    Image.fromarray(data.coffee()[100:164, 200:264]).save(path)
    return path


def test_expand_prompts_files_folders_globs(tmp_path, prompt_dir):
    other = tmp_path / "more"
    other.mkdir()
    shutil.copy(FIXTURES / "inpaint_lama.txt", other / "inpaint_lama.txt")
    (other / "notes.md").write_text("not a prompt")
    found = expand_prompts([str(prompt_dir / "denoise_dncnn.txt"), str(prompt_dir),
                            str(tmp_path / "m*" / "*.txt")])
    # the file named first comes first and only once; the folder's *.txt sorted; the glob's
    assert [p.name for p in found] == ["denoise_dncnn.txt", "broken.txt", "sr_enlarge_x3_5.txt",
                                       "sr_upscale_x2.txt", "inpaint_lama.txt"]


@pytest.mark.parametrize("problem", ["missing", "empty glob", "same stem"])
def test_expand_prompts_usage_errors(tmp_path, prompt_dir, problem):
    if problem == "missing":
        args = [str(tmp_path / "nope.txt"), str(prompt_dir)]
    elif problem == "empty glob":
        args = [str(tmp_path / "*.prompt")]
    else:
        twin = tmp_path / "twin"
        twin.mkdir()
        shutil.copy(FIXTURES / "sr_upscale_x2.txt", twin / "sr_upscale_x2.txt")
        args = [str(prompt_dir), str(twin)]
    with pytest.raises(CollectionError):
        expand_prompts(args)


def test_usage_error_is_exit_2_and_one_line(tmp_path, capsys):
    code, out, err = run(["answer", FIXTURES / "sr_upscale_x2.txt", tmp_path / "nope.txt",
                          "--no-demo", "--out", tmp_path / "out"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "nope.txt" in err
    assert not (tmp_path / "out").exists()


def test_collection_index_summary_and_failure_isolation(tmp_path, prompt_dir, capsys):
    out_dir = tmp_path / "answers"
    code, out, err = run(["answer", prompt_dir, "--no-demo", "--out", out_dir, "-q"], capsys)
    assert code == 1  # one prompt failed, the others were answered
    assert "4 prompts: 3 answered, 0 up to date, 1 failed" in out
    assert "failed: broken.txt: " in err
    rows = [json.loads(line) for line in (out_dir / "summary.jsonl").read_text().splitlines()]
    assert [r["stem"] for r in rows] == ["broken", "denoise_dncnn", "sr_enlarge_x3_5",
                                         "sr_upscale_x2"]
    broken = rows[0]
    assert broken["status"] == "failed" and "no question" in broken["reason"].lower()
    assert not (out_dir / "broken").exists()
    for row in rows[1:]:
        assert row["status"] == "answered" and row["reason"] is None
        answer = json.loads((out_dir / row["stem"] / "answer.json").read_text())
        assert row["question"] == answer["question"] and row["task"] == answer["classification"]["task_id"]
    by_stem = {r["stem"]: r for r in rows}
    # the scales the questions ask ("2x", "3.5x"), read independently of the code
    assert by_stem["sr_upscale_x2"]["scales_asked"] == [2.0]
    assert by_stem["sr_enlarge_x3_5"]["scales_asked"] == [3.5]
    assert by_stem["sr_upscale_x2"]["task"] == "arbitrary-scale-super-resolution"
    index = (out_dir / "index.md").read_text()
    table = [line for line in index.splitlines() if line.startswith("| ") and ".txt" in line]
    assert len(table) == 4
    assert "[answer](sr_upscale_x2/answer.md)" in index
    assert "Can I upscale my scanned photo 2x without it looking soft?" in index
    assert "| broken.txt |" in index and "failed: " in index
    html = (out_dir / "index.html").read_text()
    assert 'href="sr_upscale_x2/answer.html"' in html and "<table>" in html


def test_all_answered_is_exit_0(tmp_path, capsys):
    code, out, _ = run(["answer", FIXTURES / "sr_upscale_x2.txt", FIXTURES / "inpaint_lama.txt",
                        "--no-demo", "--out", tmp_path / "a", "-q"], capsys)
    assert code == 0 and "2 prompts: 2 answered" in out


def test_one_file_behaves_as_before(tmp_path, capsys):
    code, out, _ = run(["answer", FIXTURES / "sr_upscale_x2.txt", "--no-demo",
                        "--out", tmp_path / "a"], capsys)
    assert code == 0 and out.startswith("wrote ")
    assert not (tmp_path / "a" / "index.md").exists()


def test_skip_if_done_and_force(tmp_path, prompt_dir, capsys):
    out_dir = tmp_path / "answers"
    args = ["answer", prompt_dir, "--no-demo", "--out", out_dir, "-q"]
    run(args, capsys)
    first = (out_dir / "sr_upscale_x2" / "answer.md").stat().st_mtime_ns
    code, out, _ = run(args, capsys)
    assert code == 1 and "0 answered, 3 up to date, 1 failed" in out
    assert (out_dir / "sr_upscale_x2" / "answer.md").stat().st_mtime_ns == first
    # a changed prompt is answered again; the others stay up to date
    changed = prompt_dir / "denoise_dncnn.txt"
    changed.write_bytes(changed.read_bytes() + b"\n")
    _, out, _ = run(args, capsys)
    assert "1 answered, 2 up to date" in out
    # other options make other answers
    _, out, _ = run(args + ["--seed", "3"], capsys)
    assert "3 answered, 0 up to date" in out
    _, out, _ = run(args + ["--seed", "3", "--force"], capsys)
    assert "3 answered, 0 up to date" in out


def _answer_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and p.name != "answer.json"}


def _json_without_seconds(folder: Path) -> dict:
    data = json.loads((folder / "answer.json").read_text())
    data["demo"].pop("seconds")
    return data


def test_cache_gives_byte_identical_answers(tmp_path, small_photo, capsys):
    prompt = FIXTURES / "sr_upscale_x2.txt"
    cache = tmp_path / "cache"
    common = ["answer", prompt, "--image", small_photo, "--scale", "2"]
    assert run(common + ["--no-cache", "--out", tmp_path / "plain"], capsys)[0] == 0
    assert run(common + ["--cache-dir", cache, "--out", tmp_path / "cold"], capsys)[0] == 0
    entries = list(cache.rglob("*.json"))
    assert len(entries) == 1
    assert run(common + ["--cache-dir", cache, "--out", tmp_path / "warm"], capsys)[0] == 0
    plain = _answer_files(tmp_path / "plain")
    assert "images/comparison.png" in plain and "answer.md" in plain
    assert _answer_files(tmp_path / "cold") == plain
    assert _answer_files(tmp_path / "warm") == plain
    assert _json_without_seconds(tmp_path / "warm") == _json_without_seconds(tmp_path / "plain")
    # the warm answer came from the entry: it carries the cold run's demo time
    cold = json.loads((tmp_path / "cold" / "answer.json").read_text())["demo"]["seconds"]
    warm = json.loads((tmp_path / "warm" / "answer.json").read_text())["demo"]["seconds"]
    assert warm == cold


@pytest.mark.parametrize("damage", ["truncated", "altered metric", "wrong key"])
def test_corrupt_cache_entry_is_recomputed(tmp_path, small_photo, capsys, damage):
    prompt = FIXTURES / "sr_upscale_x2.txt"
    cache = tmp_path / "cache"
    common = ["answer", prompt, "--image", small_photo, "--scale", "2", "--cache-dir", cache]
    assert run(common + ["--out", tmp_path / "first"], capsys)[0] == 0
    (entry,) = cache.rglob("*.json")
    text = entry.read_text()
    if damage == "truncated":
        entry.write_text(text[: len(text) // 2])
    elif damage == "altered metric":
        # a stored metric changed: still valid JSON, but the checksum no longer matches
        data = json.loads(text)
        data["payload"]["result"]["psnr"]["model"] += 1.0
        entry.write_text(json.dumps(data))
    else:
        # a well-formed entry stored under another key (e.g. copied by hand)
        data = json.loads(text)
        data["payload"]["key"] = "0" * 64
        entry.write_text(json.dumps(data))
    assert demo_cache.DemoCache(cache).load(entry.stem) is None
    assert run(common + ["--out", tmp_path / "again"], capsys)[0] == 0
    assert _answer_files(tmp_path / "again") == _answer_files(tmp_path / "first")
    first = json.loads((tmp_path / "first" / "answer.json").read_text())["demo"]
    again = json.loads((tmp_path / "again" / "answer.json").read_text())["demo"]
    assert again["psnr"] == first["psnr"]
    assert demo_cache.DemoCache(cache).load(entry.stem) is not None  # rewritten, valid


def test_cache_key_follows_what_the_demo_depends_on(tmp_path, small_photo):
    from cnaps.answer.stage6_demo import plan_demo

    def key(**changes):
        args = dict(scales=[2.0], degradations=[], image=str(small_photo), seed=0, scale=2.0)
        args.update(changes)
        return demo_cache.demo_key(plan_demo("liif-edsr-baseline", "LIIF", **args))

    try:
        base = key()
    except Exception as exc:  # no weights installed
        pytest.skip(str(exc))
    assert key() == base
    assert key(seed=1) != base
    assert key(scale=3.0) != base
    assert key(degradations=["noise"]) != base
    other = tmp_path / "other.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(other)
    assert key(image=str(other)) != base
    gone = tmp_path / "gone.png"
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(gone)
    plan = plan_demo("liif-edsr-baseline", "LIIF", [2.0], [], image=str(gone), scale=2.0)
    gone.unlink()
    assert demo_cache.demo_key(plan) is None  # unreadable now: the demo reports that error



def test_ray_missing_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)  # import ray -> ImportError
    code, out, err = run(["answer", FIXTURES / "sr_upscale_x2.txt", FIXTURES / "inpaint_lama.txt",
                          "--no-demo", "--out", tmp_path / "a", "-q", "--ray"], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "pip install 'cnaps[ray]'" in err


def test_ray_value_that_is_not_an_address_is_a_usage_error(tmp_path, prompt_dir, capsys):
    # `--ray` takes an optional value, so a folder right after it would be read as the address
    code, _, err = run(["answer", "--ray", prompt_dir, FIXTURES / "sr_upscale_x2.txt",
                        "--no-demo", "--out", tmp_path / "a"], capsys)
    assert code == 2 and "--ray=ADDRESS" in err and err.count("\n") == 1
