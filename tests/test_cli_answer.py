"""`cnaps answer` and `cnaps check` end to end, through the CLI entry point."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from cnaps.answer.records import GuardReport
from cnaps.cli import main

TESTS = Path(__file__).parent
FIXTURES = TESTS / "fixtures" / "prompts"
MALFORMED = TESTS / "fixtures" / "malformed"
GOLDEN = TESTS / "fixtures" / "golden"
EXAMPLES = TESTS.parent / "examples"
SEED_000 = EXAMPLES / "prompts" / "000_d8520ca7f81b1e4f.txt"


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_answer_writes_the_three_files(tmp_path, capsys):
    code, out, err = run(["answer", FIXTURES / "sr_upscale_x2.txt", "--no-demo",
                          "--out", tmp_path / "a"], capsys)
    assert code == 0 and err == ""
    assert out.strip() == f"wrote {tmp_path / 'a'}/answer.md, answer.html, answer.json"
    md = (tmp_path / "a" / "answer.md").read_text()
    assert "## 1. " in md and "## 2. " in md and "## 3. " in md
    html = (tmp_path / "a" / "answer.html").read_text()
    assert "<h2>1. What task the user is trying to perform</h2>" in html
    data = json.loads((tmp_path / "a" / "answer.json").read_text())
    assert data["demo"] is None and data["citations"]


def test_default_output_folder_is_runs_stem(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, _ = run(["answer", FIXTURES / "denoise_dncnn.txt", "--no-demo"], capsys)
    assert code == 0 and (tmp_path / "runs" / "denoise_dncnn" / "answer.md").is_file()


@pytest.mark.parametrize("bad", sorted(p.name for p in MALFORMED.glob("*.txt")) + ["missing.txt"])
def test_malformed_prompt_is_one_line_exit_2_and_no_output(bad, tmp_path, capsys):
    code, out, err = run(["answer", MALFORMED / bad, "--out", tmp_path / "out"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_bad_demo_image_is_exit_2_and_no_output(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"nope")
    code, _, err = run(["answer", FIXTURES / "sr_upscale_x2.txt", "--image", bad,
                        "--out", tmp_path / "out"], capsys)
    assert code == 2 and "not a readable image" in err and not (tmp_path / "out").exists()


def test_check_passes_on_the_fixtures(capsys):
    code, out, _ = run(["check", FIXTURES], capsys)
    assert code == 0, out
    assert out.splitlines()[-1] == f"{len(list(FIXTURES.glob('*.txt')))} prompts: " \
        f"{len(list(FIXTURES.glob('*.txt')))} ok, 0 failed"


def test_check_passes_on_the_malformed_fixtures(capsys):
    code, out, _ = run(["check", MALFORMED], capsys)
    assert code == 0, out


def test_check_reports_a_difference_and_names_the_regenerate_command(tmp_path, capsys):
    golden = tmp_path / "golden"
    shutil.copytree(GOLDEN / "sr_upscale_x2", golden / "sr_upscale_x2")
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    shutil.copy(FIXTURES / "sr_upscale_x2.txt", prompts)
    md = golden / "sr_upscale_x2" / "answer.md"
    md.write_text(md.read_text().replace("Arbitrary-scale", "Fixed-scale", 1))
    code, out, _ = run(["check", prompts, "--golden", golden], capsys)
    assert code == 1
    assert "FAIL     sr_upscale_x2.txt" in out
    assert "-**Fixed-scale single-image super-resolution.**" in out
    assert f"python -m cnaps check {prompts} --golden {golden} --update" in out
    code, _, _ = run(["check", prompts, "--golden", golden, "--update"], capsys)
    assert code == 0 and md.read_text() == (GOLDEN / "sr_upscale_x2" / "answer.md").read_text()


def test_check_flags_a_citation_the_prompt_did_not_give(tmp_path, capsys, monkeypatch):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    shutil.copy(FIXTURES / "sr_upscale_x2.txt", prompts)
    run(["check", prompts, "--update"], capsys)
    monkeypatch.setattr("cnaps.answer.stage8_guard.guard_citations",
                        lambda md, allowed: (md + "\nSee http://evil.example.com\n",
                                             GuardReport()))
    code, out, _ = run(["check", prompts], capsys)
    assert code == 1 and "cites a URL the prompt did not give: http://evil.example.com" in out


@pytest.mark.slow
def test_seed_answer_with_demo_is_fast_and_matches_the_example(tmp_path, capsys):
    from cnaps.errors import WeightsNotInstalledError
    from cnaps.sr.weights import resolve

    try:
        resolve("liif-edsr-baseline")
    except WeightsNotInstalledError as exc:
        pytest.skip(str(exc))
    start = time.perf_counter()
    code, _, _ = run(["answer", SEED_000, "--out", tmp_path / "a"], capsys)
    assert code == 0 and time.perf_counter() - start < 60
    md_a = (tmp_path / "a" / "answer.md").read_bytes()
    assert sorted(p.name for p in (tmp_path / "a" / "images").iterdir()) == [
        "bicubic.png", "comparison.png", "ground_truth.png", "lr.png", "model.png",
        "workflow.json"]
    workflow = json.loads((tmp_path / "a" / "images" / "workflow.json").read_text())
    assert workflow["output"]["scale"] == 8.0 and workflow["input"]["degrade"]["kinds"] == ["noise"]
    assert b"cnaps run images/workflow.json" in md_a
    demo = json.loads((tmp_path / "a" / "answer.json").read_text())["demo"]
    assert demo["substitute_for"] == "LIIF-RDN" and demo["scale"] == 8.0
    assert (demo["input_size"], demo["output_size"]) == (
        {"width": 48, "height": 48}, {"width": 384, "height": 384})
    assert md_a == (EXAMPLES / "answers" / SEED_000.stem / "answer.md").read_bytes()


def test_hostile_question_is_escaped_and_its_url_removed(tmp_path, capsys):
    text = (FIXTURES / "sr_upscale_x2.txt").read_text()
    prompt = tmp_path / "hostile.txt"
    question = text.split('"')[1]
    prompt.write_text(text.replace(
        question, "Why? See http://evil.example.com/x <img src=x onerror=alert(1)> {{ 7*7 }}", 1))
    code, _, err = run(["answer", prompt, "--no-demo", "--out", tmp_path / "a"], capsys)
    assert code == 0
    assert "citation guard removed 1 URL(s) not given by the prompt: " \
           "http://evil.example.com/x" in err
    md = (tmp_path / "a" / "answer.md").read_text()
    html = (tmp_path / "a" / "answer.html").read_text()
    data = json.loads((tmp_path / "a" / "answer.json").read_text())
    assert "evil.example.com" not in md and "evil.example.com" not in html
    assert data["guard"]["removed"] == ["http://evil.example.com/x"]
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert r"{{ 7\*7 }}" in md and "{{ 7*7 }}" in html


def test_without_weights_the_answer_says_how_to_install_them(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CNAPS_HOME", str(tmp_path / "home"))  # an empty weights cache
    code, _, _ = run(["answer", FIXTURES / "sr_upscale_x2.txt", "--out", tmp_path / "a"], capsys)
    assert code == 0
    md = (tmp_path / "a" / "answer.md").read_text()
    assert ("No demo was run: weights 'liif-edsr-baseline' are not installed; "
            "cnaps weights pull liif-edsr-baseline.") in md
    assert json.loads((tmp_path / "a" / "answer.json").read_text())["demo"] is None
