"""The earlier stages, run as the pipeline runs them, for tests of one later stage."""

from __future__ import annotations

from cnaps.answer.stage2_request import extract_request
from cnaps.answer.stage4_classify import classify
from cnaps.answer.stage5_related import judge_related


def families_of(prompt, catalog):
    return [catalog.match_model(m.name) for m in prompt.models]


def classify_prompt(prompt, catalog):
    """Stage 4 after stage 2, as in `cnaps.answer.pipeline.make_report`."""
    return classify(prompt, catalog, extract_request(prompt.question), families_of(prompt, catalog))


def judge_prompt(prompt, catalog, classification=None, request=None):
    """Stage 5 after stages 2 and 4."""
    request = request if request is not None else extract_request(prompt.question)
    classification = classification or classify(prompt, catalog, request, families_of(prompt, catalog))
    return judge_related(prompt, classification, catalog, request, families_of(prompt, catalog))


def store_one_abstract(arxiv_id: str, abstract: str):
    """Write a paper store (at $CNAPS_CATALOG_CACHE) holding one abstract; its path."""
    from cnaps.answer.paper_store import StoredPaper, store_path, write_store

    write_store(store_path(), {arxiv_id: StoredPaper(
        arxiv_id=arxiv_id, title="a test paper", authors=["A. Author"], year=2016,
        published="2016-08-13", primary_category="cs.CV", abstract=abstract,
        fetched_at="2026-12-07T00:00:00+00:00")})
    return store_path()
