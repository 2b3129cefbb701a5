"""Evidence for the answer: the sources' sentences that bear on the question, each with a key.

The idea is PaperQA2's contextual summaries, done without a language model: the question's
sources are split into sentences (the stored abstracts of the recommended models' papers,
`cnaps.answer.paper_store`; the summaries of the related papers the relevance judge found
relevant or related, from the prompt; the catalog's facts of the recommended families), every
sentence is scored against the question with the sentence-embedding model
(`cnaps.answer.semantic.embed`, cosine of unit vectors), and the few above `THRESHOLD` are kept,
best first, each with a key `E1`, `E2`, ... that resolves to a link the prompt gave.

Abstracts and summaries are untrusted: a sentence with a link, markup, words addressed to the
reader, or a name the prompt does not give (`cnaps.answer.summary`) is never evidence.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
from pydantic import Field

from cnaps.answer.links import normalize_url
from cnaps.answer.records import Record
from cnaps.answer.summary import LATEX, NAME, _foreign_name, given_names, is_description, sentences

# Cosine similarity (of `semantic.embed`; retune it when that model changes) of a sentence to the question below which it does not
# bear on it; chosen on the fixture and development prompts: sentences about the asked problem
# scored 0.30-0.65 against the question or the task description, sentences about other tasks or
# training details mostly under 0.25 (23 non-LIIF fixture and
# development prompts; the cut keeps 1-6 sentences for each prompt whose sources bear on it).
THRESHOLD = 0.30
MAX_ITEMS = 6  # evidence kept per answer
MAX_PER_SOURCE = 3  # so one long abstract does not crowd out the others
MIN_WORDS, MAX_WORDS = 6, 70
# A measured number with its unit: "0.5 dB", "30%", "4x", "25 fps", "1.2M parameters".
# (Not "8x": a scale factor is a setting, not a measurement.)
NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:dB|%|fps|ms\b|seconds?\b|GFLOPs?\b|FLOPs\b|MB\b|GB\b|"
                    r"M\b|K\b|million\b|billion\b|parameters\b|times\b|-fold\b)")
# Words with which a source states what a method cannot do or where it breaks.
LIMIT = re.compile(r"\b(?:cannot|can't|unable|fail(?:s|ure)?|limit(?:ed|ation|ations)?|only|struggles?|"
                   r"however|hallucinat\w*|artifacts?|trade-?off|at the cost|sensitive|unseen)\b",
                   re.IGNORECASE)

# Units the outside-name filter would take for names (capitals inside a word: "dB").
UNITS = {"DB", "FPS", "GFLOPS", "FLOPS", "MB", "GB", "MP"}

Kind = Literal["abstract", "summary", "fact"]


class EvidenceItem(Record):
    """One sentence of a source that bears on the question."""

    key: str = Field(description="'E1', 'E2', ... in order of score")
    text: str = Field(description="the sentence as the source gives it (plain text, one line)")
    kind: Kind = Field(description="abstract of a recommended model's paper (paper store), "
                                   "summary of a related paper (prompt), or catalog fact")
    about: str = Field(description="the model or paper the sentence is from, as the prompt names it")
    model: bool = Field(description="the source is a recommended model's paper")
    url: str = Field(description="the prompt's link the key resolves to")
    score: float = Field(description="cosine similarity to the question, 3 decimals")
    numbers: bool = Field(description="it reports a measured number with a unit")
    limit: bool = Field(description="it states a limit")
    position: int = Field(description="the sentence's place in its source, from 0")


def _candidates(prompt, catalog, families, judgements, store) -> list[tuple[str, Kind, str, bool, str, int]]:
    """(sentence, kind, about, from a recommended model, url, place in the source) for every
    source sentence."""
    found: list[tuple[str, Kind, str, bool, str, int]] = []
    allowed = {normalize_url(u) for u in prompt.allowed_urls}
    for ref in prompt.models:
        stored = store.get(ref.arxiv_id) if ref.arxiv_id else None
        if stored and ref.paper_url:
            found += [(s, "abstract", ref.name, True, ref.paper_url, n)
                      for n, s in enumerate(sentences(LATEX.sub(r"\1", stored.abstract)))]
    for ref, family in zip(prompt.models, families):
        for arxiv_id in family.papers if family else ():
            paper = catalog.paper(arxiv_id)
            if paper and ref.paper_url and normalize_url(paper.url) == normalize_url(ref.paper_url):
                found += [(f.text, "fact", ref.name, True, ref.paper_url, n) for n, f in enumerate(paper.facts)]
    bearing = {j.url for j in judgements if j.relevance in ("relevant", "related")}
    for paper in prompt.related:
        if paper.url not in bearing or normalize_url(paper.url) not in allowed:
            continue
        text = paper.summary or (store[paper.arxiv_id].abstract if paper.arxiv_id in store else "")
        found += [(s, "summary", paper.title, False, paper.url, n)
                  for n, s in enumerate(sentences(LATEX.sub(r"\1", text)))]
    return found


# A source sentence that opens by introducing something ("Defines ImageNet-C and ImageNet-P, ...")
# names its own contribution there, not an outside source: names in that first clause are allowed.
INTRODUCES = re.compile(r"(?:Defines|Introduces|Presents|Proposes|Releases|Collects|Creates|Builds)\s+([^,;:]*)")


def _usable(sentence: str, names: set[str]) -> bool:
    words = len(sentence.split())
    introduced = INTRODUCES.match(sentence)
    if introduced:
        names = names | {m.group().strip("-").upper() for m in NAME.finditer(introduced.group(1))}
    return (MIN_WORDS <= words <= MAX_WORDS and is_description(sentence)
            and _foreign_name(sentence, names) is None)


def gather_evidence(prompt, catalog, families, judgements, store: dict, task_description: str = "",
                    threshold: float = THRESHOLD) -> list[EvidenceItem]:
    """The few source sentences that bear on the question, best first, keyed E1, E2, ...

    A sentence's score is its similarity to the question or to the task's description, whichever
    is higher: users ask in everyday words ("full of grain"), papers answer in the field's."""
    from cnaps.answer.semantic import embed

    names = given_names(prompt) | UNITS
    candidates = list(dict.fromkeys(c for c in _candidates(prompt, catalog, families, judgements, store)
                                    if _usable(c[0], names)))
    if not candidates:
        return []
    queries = embed([prompt.question] + ([task_description] if task_description else []))  # (Q, D)
    similarity = embed([c[0] for c in candidates]) @ queries.T  # (N, Q)
    scores = np.round(similarity.max(axis=1), 3)  # (N,), 3 decimals: a stable order
    order = sorted(range(len(candidates)), key=lambda i: (-scores[i], i))
    kept: list[EvidenceItem] = []
    per_source: dict[str, int] = {}
    for i in order:
        text, kind, about, model, url, position = candidates[i]
        if scores[i] < threshold or len(kept) == MAX_ITEMS:
            break
        if per_source.get(url, 0) == MAX_PER_SOURCE:
            continue
        per_source[url] = per_source.get(url, 0) + 1
        kept.append(EvidenceItem(key=f"E{len(kept) + 1}", text=text, kind=kind, about=about, model=model,
                                 url=url, score=round(float(scores[i]), 3), numbers=bool(NUMBER.search(text)),
                                 limit=bool(LIMIT.search(text)), position=position))
    return kept


# ---- the evidence writer: the answer's "what the sources say" from the kept sentences ----------

class ClaimView(Record):
    """One kept sentence as the answer shows it; every string is Markdown-safe."""

    key: str
    url: str
    text: str


class SourceClaims(Record):
    """The kept sentences of one source in one part of the answer, best first."""

    about: str = Field(description="Markdown-safe name of the model or paper")
    kind: Kind
    claims: list[ClaimView]


class EvidenceContext(Record):
    """Everything `evidence.md.j2` shows."""

    models: str = Field(description="the recommended models' names, joined, Markdown-safe")
    missing: list[str] = Field(description="recommended models whose paper has no stored abstract, "
                                           "e.g. 'Denoise-DnCNN, arXiv 1608.03981'")
    does: list[SourceClaims] = Field(description="what a recommended model does and how")
    limits: list[SourceClaims] = Field(description="what a recommended model cannot do, per its paper")
    numbers: list[SourceClaims] = Field(description="sentences reporting a number with its unit")
    related: list[SourceClaims] = Field(description="what the related papers add")


def evidence_context(prompt, items: list[EvidenceItem], store: dict) -> EvidenceContext:
    """Sort the kept sentences into the answer's parts, each sentence once (a model's limit, a
    reported number, a model's mechanism, a related paper's contribution), grouped by source in
    the order of each source's best sentence."""
    from cnaps.answer.links import escape_markdown, safe_url
    from cnaps.answer.stage7_write import join_words

    groups: dict[str, dict[tuple[str, str], list[EvidenceItem]]] = {
        "does": {}, "limits": {}, "numbers": {}, "related": {}}  # part -> source -> its items
    for item in items:  # best first, so each part's sources come in the order of their best item
        part = ("limits" if item.model and item.limit else "numbers" if item.numbers
                else "does" if item.model else "related")
        groups[part].setdefault((item.about, item.kind), []).append(item)
    # a source's sentences in its own order: "It also ..." follows what it refers to
    parts = {part: [SourceClaims(about=escape_markdown(about), kind=kind, claims=[
                        ClaimView(key=i.key, url=safe_url(i.url), text=escape_markdown(i.text))
                        for i in sorted(kept, key=lambda i: i.position)])
                    for (about, kind), kept in sources.items()]
             for part, sources in groups.items()}
    missing = [escape_markdown(f"{m.name}, arXiv {m.arxiv_id}" if m.arxiv_id else m.name)
               for m in prompt.models if not (m.arxiv_id and m.arxiv_id in store)]
    return EvidenceContext(models=join_words([escape_markdown(m.name) for m in prompt.models]),
                           missing=missing, **parts)


def render_evidence(context: EvidenceContext) -> str:
    """The evidence section's Markdown, from `prompts/evidence.md.j2`."""
    from cnaps.answer.stage7_write import _render, tidy_markdown

    return tidy_markdown(_render("evidence.md.j2", context))
