"""Stage 4 of the answer pipeline: is each related paper relevant to the user's task?

Prompts offer related papers that are often only loosely connected (a histopathology GAN offered
for a super-resolution question). Following PaperQA2's habit of scoring every source before
citing it, each paper is judged against the classified task's catalog vocabulary (its own and
that of its related tasks, e.g. fixed-scale SR for arbitrary-scale SR):

- relevant   <=> its title or summary *names the task* (one of the task's core phrases, such as
                 "super-resolution" or "upscale"): the paper is about the task;
- tangential otherwise, however much vocabulary it shares ("upsample", "low resolution").

`score` = v / (v + 6) with v = 3 per task phrase + 1 per keyword found (distinct places in the
text): 0 for no shared vocabulary, 0.5 at two task phrases' worth; it ranks papers and shows how
close a tangential one comes. The reason quotes the summary; summaries are data, so quoted links
are removed and nothing in them is followed.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from cnaps.catalog import Catalog
from cnaps.classify import CORE_WEIGHT, KEYWORD_WEIGHT, Classification
from cnaps.lexicon import find_phrase, tokens
from cnaps.prompt import ParsedPrompt

SCORE_HALF = 6.0  # vocabulary weight at which score reaches 0.5
MAX_QUOTE = 140
AIM = re.compile(r"\b(we (propose|introduce|present|show|study|find|hypothesi[sz]e|demonstrate|develop)|"
                 r"(this|our) (paper|work|method)|in this (paper|work))\b", re.IGNORECASE)
LINK = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)


class RelevanceJudgement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    url: str
    relevance: Literal["relevant", "tangential"]
    score: float
    reason: str  # one line, quoting the paper's summary


def _quote(text: str) -> str:
    """A summary excerpt safe to repeat: one line, links removed, at most MAX_QUOTE characters."""
    text = LINK.sub("[link removed]", " ".join(text.split()))
    if len(text) > MAX_QUOTE:
        text = text[:MAX_QUOTE].rsplit(" ", 1)[0] + " …"
    return text.replace('"', "'")


def _aim(summary: str) -> str:
    """The sentence where the paper says what it does ("We introduce ..."), else its first sentence."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(summary.split())) if s]
    if not sentences:
        return ""
    return next((s for s in sentences if AIM.search(s)), sentences[0])


def judge_paper(title: str, summary: str, core: list[str], keywords: list[str]) -> tuple[bool, float, list[str]]:
    """(names the task, score, verbatim phrases found) of one paper against a task vocabulary."""
    text = f"{title}\n{summary}"
    text_tokens = tokens(text)
    spans: dict[tuple[int, int], float] = {}
    names_task = False
    for weight, phrases in ((CORE_WEIGHT, core), (KEYWORD_WEIGHT, keywords)):
        for phrase in phrases:
            span = find_phrase(phrase, text_tokens)
            if span and span not in spans:
                spans[span] = weight
                names_task |= weight == CORE_WEIGHT
    value = sum(spans.values())
    found = [text[a:b] for (a, b), _ in sorted(spans.items(), key=lambda kv: (-kv[1], kv[0]))]
    return names_task, round(value / (value + SCORE_HALF), 3), found


def judge_related(prompt: ParsedPrompt, classification: Classification, catalog: Catalog) -> list[RelevanceJudgement]:
    """One judgement per related paper, in prompt order."""
    task = catalog.task(classification.task_id)
    vocab_tasks = [task] + [catalog.task(t) for t in task.related_tasks]
    core = [p for t in vocab_tasks for p in t.core]
    keywords = [p for t in vocab_tasks for p in t.keywords]
    task_label = task.name[0].lower() + task.name[1:]

    judgements = []
    for paper in prompt.related:
        names_task, score, found = judge_paper(paper.title, paper.summary, core, keywords)
        aim = _quote(_aim(paper.summary)) or _quote(paper.title)
        shared = ", ".join(f'"{_quote(f)}"' for f in found[:4])
        if not core and not keywords:
            reason = f'the task is unknown, so no paper can be shown relevant; the paper\'s aim: "{aim}"'
        elif names_task:
            reason = f'names the task ({shared}); the paper\'s aim: "{aim}"'
        elif found:
            reason = (f"shares vocabulary ({shared}) but never names {task_label}; "
                      f'the paper\'s aim: "{aim}"')
        else:
            reason = f'no vocabulary of {task_label} in its title or summary; the paper\'s aim: "{aim}"'
        judgements.append(RelevanceJudgement(
            title=paper.title, url=paper.url, relevance="relevant" if names_task else "tangential",
            score=score, reason=reason))
    return judgements
