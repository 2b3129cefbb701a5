"""Relevance of related papers: seeds all tangential, SR summaries relevant, reasons grounded."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnaps.catalog import load_catalog
from cnaps.classify import classify
from cnaps.prompt import load_prompt, parse_prompt
from cnaps.relevance import judge_related

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = Path(__file__).resolve().parents[1] / "examples" / "prompts"  # copies of the real seeds


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def judge(prompt, catalog):
    return judge_related(prompt, classify(prompt, catalog), catalog)


def with_related(title: str, summary: str, model: str = "SISR-Any-LIIF-EDSR"):
    return parse_prompt(
        'A user has asked the following question:\n"How do I enlarge a photo 4x?"\n\n'
        f"### Recommended AI Models:\nModel: {model}\n\n"
        f"### Related Papers:\nModel: {title}\nPaper: https://arxiv.org/abs/2401.00001\nSummary: {summary}\n")


@pytest.mark.parametrize("prefix", ["000", "004"])
def test_seed_papers_are_tangential(catalog, prefix):
    paths = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not paths:
        pytest.skip(f"seed prompts not found in {SEEDS}")
    prompt = load_prompt(paths[0])
    judgements = judge(prompt, catalog)
    assert [j.title for j in judgements] == [r.title for r in prompt.related]
    assert [j.url for j in judgements] == [r.url for r in prompt.related]
    assert all(j.relevance == "tangential" for j in judgements)
    for judgement, paper in zip(judgements, prompt.related):
        assert "\n" not in judgement.reason
        aim = judgement.reason.split("the paper's aim: \"", 1)[1].rstrip('"').removesuffix(" …")
        assert aim in paper.summary  # the reason quotes the summary verbatim


def test_featsharp_is_the_closest_and_says_why(catalog):
    paths = sorted(SEEDS.glob("004_*.txt"))
    if not paths:
        pytest.skip(f"seed prompts not found in {SEEDS}")
    judgements = judge(load_prompt(paths[0]), catalog)
    featsharp = judgements[0]
    assert featsharp.title.startswith("FeatSharp")
    assert featsharp.score == max(j.score for j in judgements) > 0
    assert "never names arbitrary-scale single-image super-resolution" in featsharp.reason
    assert "upsample the feature maps" in featsharp.reason


@pytest.mark.parametrize("summary", [
    "We propose a super-resolution network for satellite images.",
    "Our method upscales low-resolution photographs by arbitrary factors.",
    "Image upsampling with learned kernels restores texture in old scans.",
])
def test_summaries_about_super_resolution_are_relevant(catalog, summary):
    (judgement,) = judge(with_related("A Paper", summary), catalog)
    assert judgement.relevance == "relevant"
    assert judgement.reason.startswith("names the task (")
    assert 0 < judgement.score < 1


def test_fixed_scale_sr_paper_is_relevant_to_arbitrary_scale(catalog):
    (judgement,) = judge(with_related("Enhanced Deep Residual Networks for Single Image Super-Resolution",
                                      "A fixed-scale network trained for x2, x3 and x4."), catalog)
    assert judgement.relevance == "relevant"


def test_score_orders_by_shared_vocabulary(catalog):
    weak = judge(with_related("P", "A study of zoom in image classifiers."), catalog)[0]
    none = judge(with_related("P", "A study of bird migration."), catalog)[0]
    strong = judge(with_related("P", "Super-resolution upscales low-resolution images."), catalog)[0]
    assert none.score == 0 < weak.score < strong.score
    assert none.reason.startswith("no vocabulary of")


def test_injection_is_quoted_as_data_without_links(catalog):
    judgements = judge(load_prompt(FIXTURES / "prompts" / "injection_summaries.txt"), catalog)
    assert all(j.relevance == "tangential" for j in judgements)
    assert all("evil.example.com" not in j.reason for j in judgements)
    assert "{{ 7*7 }}" in judgements[0].reason  # kept literally, for the renderer to escape


def test_unknown_task_has_nothing_relevant(catalog):
    prompt = parse_prompt(
        'A user has asked the following question:\n"What is the weather tomorrow?"\n\n'
        "### Recommended AI Models:\nModel: Weather-Bot\n\n"
        "### Related Papers:\nModel: Super-Resolution for All\nPaper: https://arxiv.org/abs/2401.00002\n"
        "Summary: We propose a super-resolution method.\n")
    (judgement,) = judge(prompt, catalog)
    assert judgement.relevance == "tangential" and judgement.score == 0
    assert judgement.reason.startswith("the task is unknown")


def test_deterministic(catalog):
    prompt = load_prompt(FIXTURES / "prompts" / "sr_upscale_x2.txt")
    assert judge(prompt, catalog) == judge(prompt, catalog)
