"""The whole report: the JSON record, citations, and all-or-nothing writing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnaps.answer import records as report_mod
from cnaps.errors import CnapsError
from cnaps.answer.stage8_guard import find_urls
from cnaps.answer.stage1_prompt import load_prompt
from cnaps.answer.links import normalize_url
from cnaps.answer.pipeline import make_report
from cnaps.answer.records import AnswerOptions
from cnaps.answer.folder import normalised_record, write_report

FIXTURES = Path(__file__).parent / "fixtures" / "prompts"
NO_DEMO = AnswerOptions(demo=False)


@pytest.fixture(scope="module")
def sr_report():
    return make_report(FIXTURES / "sr_upscale_x2.txt", NO_DEMO)


def test_record_has_the_contract_fields(sr_report):
    data = json.loads(sr_report.json_text())
    task = data["classification"]
    assert (task["task_id"], task["task_name"]) == (
        "arbitrary-scale-super-resolution", "Arbitrary-scale single-image super-resolution")
    assert 0 < task["confidence"] <= 1 and task["evidence"]  # the classifier's own words
    assert data["request"]["scales"] == [2.0] and data["request"]["degradations"] == []
    assert data["topics"]["ids"] == ["edges"]  # "... 2x without it looking soft?"
    assert set(data["models"][0]) >= {"name", "paper", "github", "runnable"}
    assert all(set(r) >= {"title", "url", "relevance", "reason"} for r in data["related"])
    assert data["demo"] is None and data["no_demo_reason"].startswith("No demo was run")
    assert data["guard"] == {"removed": []}
    assert data["options"] == {"demo": False, "image": None, "scale": None, "seed": 0}


def test_citations_are_every_url_of_the_answer_and_all_from_the_prompt(sr_report):
    allowed = load_prompt(FIXTURES / "sr_upscale_x2.txt").allowed_urls
    urls = find_urls(sr_report.markdown)
    assert sr_report.record.citations == list(dict.fromkeys(urls))
    assert all(normalize_url(u) in allowed for u in urls)


def test_non_runnable_model_explains_why_no_demo():
    rec = make_report(FIXTURES / "denoise_dncnn.txt", AnswerOptions()).record
    assert rec.demo is None and rec.models[0].runnable is False
    assert rec.no_demo_reason == (f"No demo was run: cnaps cannot run {rec.models[0].name}, the "
                                  "recommended model; the answer rests on the sources below.")


def test_classifier_internals_go_to_the_html_details_not_the_markdown(sr_report):
    evidence = sr_report.record.classification.evidence
    assert not any(line in sr_report.markdown for line in evidence)
    details = sr_report.html.split("<details>", 1)[1]
    assert "<summary>How cnaps read the prompt" in details
    assert all(line.replace('"', "&#34;") in details for line in evidence)


def test_normalised_record_drops_timings_and_rounds_metrics():
    data = {"demo": {"seconds": 1.5, "psnr": {"model": 23.16408, "bicubic": 22.6506},
                     "ssim": {"model": 0.66098, "bicubic": 0.66290}}}
    assert normalised_record(data) == {"demo": {"psnr": {"model": 23.164, "bicubic": 22.651},
                                                "ssim": {"model": 0.661, "bicubic": 0.663}}}


def test_write_report_writes_everything(sr_report, tmp_path):
    out = write_report(sr_report, tmp_path / "runs" / "x")
    assert sorted(p.name for p in out.iterdir()) == ["answer.html", "answer.json", "answer.md"]
    assert (out / "answer.md").read_text() == sr_report.markdown
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["x"]  # no temporary left


def test_write_report_replaces_a_previous_answer(sr_report, tmp_path):
    out = tmp_path / "x"
    write_report(sr_report, out)
    (out / "images").mkdir()
    (out / "images" / "stale.png").write_bytes(b"old")
    write_report(sr_report, out)
    assert not (out / "images").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_failure_leaves_nothing_half_written(sr_report, tmp_path, monkeypatch):
    out = tmp_path / "x"
    write_report(sr_report, out)
    before = (out / "answer.json").read_text()

    def boom(self):
        raise OSError("disk full")

    monkeypatch.setattr(report_mod.Report, "json_text", boom)
    with pytest.raises(OSError):
        write_report(sr_report, out)
    with pytest.raises(OSError):
        write_report(sr_report, tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]
    assert (out / "answer.json").read_text() == before


def test_refuses_to_replace_a_folder_that_is_not_an_answer(sr_report, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CnapsError, match="not a cnaps answer folder"):
        write_report(sr_report, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_no_demo_runs_when_the_user_wants_no_enlargement(tmp_path):
    # LIIF is listed, but the user's task is inpainting: the demo (an enlargement) does not show it.
    prompt = tmp_path / "inpaint.txt"
    prompt.write_text('A user has asked the following question:\n"Can you remove the lamp post from my photo? '
                      'Keep the size as it is, I do not need it any bigger."\n\n'
                      "### Recommended AI Models:\nModel: INP-LaMa\nPaper: https://arxiv.org/pdf/2109.07161\n\n"
                      "Model: SISR-Any-LIIF-RDN\nPaper: https://arxiv.org/pdf/2012.09161\n", encoding="utf-8")
    rec = make_report(prompt, AnswerOptions()).record
    assert rec.classification.task_id == "image-inpainting"
    assert rec.demo is None
    assert "not an enlargement" in rec.no_demo_reason and "INP-LaMa" in rec.no_demo_reason


def test_a_task_outside_the_catalog_is_named_from_its_research_area(tmp_path):
    prompt = tmp_path / "depth.txt"
    prompt.write_text('A user has asked the following question:\n"Can DepthNet-X tell how far away the hills '
                      'in my holiday photo are?"\n\n### Recommended AI Models:\nModel: DepthNet-X\n'
                      "Paper: https://arxiv.org/pdf/2401.00001\n\n### Related Papers:\n"
                      "Model: Depth From One Picture\nPaper: https://arxiv.org/abs/2401.00002\n"
                      "Summary: Estimates the depth of every pixel from a single photograph and predicts "
                      "relative depth that transfers to unseen scenes.\n", encoding="utf-8")
    report = make_report(prompt, NO_DEMO)
    assert report.record.classification.task_id == "unknown"
    assert "**Depth estimation.**" in report.markdown and "Cannot answer" not in report.markdown
    assert "relative depth" in report.markdown  # quoted, with its key, from the prompt's summary
