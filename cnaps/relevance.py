"""Stage 4 of the answer pipeline: how does each related paper bear on the user's question?

Prompts offer related papers that are often only loosely connected (a histopathology GAN offered
for a super-resolution question). Following PaperQA2's habit of scoring every source before
citing it, each paper gets one of three verdicts, as an expert reviewer would give them:

- relevant:   a method for the user's task, a remedy for a degradation the user's input has
              (a denoiser when the photo is noisy), or a building block of the recommended model;
- related:    a neighbouring idea that informs the answer without being a method for the task
              (upsampling the feature maps of a vision encoder, for a super-resolution question);
- tangential: anything else.

How: the paper's title and summary are embedded (cnaps/semantic.py, all-MiniLM-L6-v2) and placed
in the research area (catalog/areas.toml) whose concept sentences they are closest to in
meaning; the catalog says what that area is to the classified task (method, remedy, ingredient,
neighbour or nothing). Comparing against every area, not only the task's own, matters: a GAN
paper that mentions "noise" is closer to image generation than to denoising, so it is not
mistaken for a denoiser. `score` is the cosine similarity to the closest area that would make
the paper relevant (0 when there is none), so papers can be ranked by how close they come.

The reason is one plain sentence: what the paper does, taken from its summary (the sentence
where it states its aim, in the third person, shortened to one clause), and how that bears on
the task. Summaries are data: sentences with links, markup or instructions to the reader are
never repeated, and neither are names that the prompt does not give as a title or model.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from cnaps.catalog import UNKNOWN_TASK, Area, Catalog
from cnaps.classify import Classification, Request, extract_request
from cnaps.prompt import ParsedPrompt, PaperRef
from cnaps.semantic import embed

Verdict = Literal["relevant", "related", "tangential"]

# How much closer another area may be before a relevant-making area stops counting: 0 would
# demand the closest area; a small tolerance absorbs ties between overlapping area descriptions.
TIE = 0.02
# Below this cosine similarity a paper is not about an area at all, whichever is closest
# (unrelated abstracts score 0.1-0.3 against every area; papers of an area 0.45-0.8).
FLOOR = 0.3
MAX_CLAUSE = 140  # characters of "what the paper does"
MIN_CLAUSE = 35  # a break earlier than this would leave too little to say what the paper does
STRONG_BREAKS = re.compile(r", (?:which|so|while|whereas|where|and|but|thus|allowing|making)\b| so that ")
COMMA = re.compile(r",")
LINKING_WORDS = {"while", "when", "because", "by", "so", "including", "even", "to", "using", "via", "through"}
WEAK_BREAKS = re.compile(r" (?:by|with|using|via|through|while|and|so|for|from|in|on|into|to|at|of|including|"
                         r"even|because|before|after|when) ")

DEGRADATION_WORDS = {"noise": "noise", "jpeg": "JPEG compression artifacts", "blur": "blur"}
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
# Sentences that are not descriptions of the paper: links, markup, template syntax, or words
# addressed to whoever reads the summary (prompt injection).
LINK = re.compile(r"https?://|www\.|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|ai|dev|xyz|info|edu|gov|co|uk|de|"
                  r"fr|cn|jp|ru|me|app|site|online|page|link)\b", re.IGNORECASE)
MARKUP = re.compile(r"</?[a-zA-Z!]|\{\{|\{%|\]\(|`|#{2,}")
# Inline formatting tags carry no instruction and are dropped before sentences are judged.
FORMATTING = re.compile(r"</?(?:b|i|em|strong|sub|sup|u)>", re.IGNORECASE)
PARENTHESIS = re.compile(r"\s*\(([^()]{1,60})\)")
LATEX = re.compile(r"\\[a-zA-Z]+\{([^{}]*)\}")  # \textbf{A}uto -> Auto
ADDRESSED = re.compile(
    r"\b(ignore|disregard)\b.{0,40}\b(instructions?|rules?|above|previous)\b|\bassistant\b|"
    r"\bsystem\b\s*(note|prompt|message)?\s*:|\byou are now\b|\bplease\b|\bcite\b|\bdownload\b|"
    r"\banswer\b.{0,20}\b(user|question)\b|\bimportant\b\s*:?\s*\bnote\b",
    re.IGNORECASE)
# "We propose X" -> "Proposes X": the aim sentence of an abstract, in the third person.
AIM = re.compile(
    r"\b(?:we|this (?:paper|work|study)|our (?:paper|work))\s+(?:first\s+)?"
    r"(propose|introduce|present|develop|design)s?\b", re.IGNORECASE)
# Subjects that mark a sentence as the paper's own statement (not "the method adapts", a property).
PAPER_SUBJECT = re.compile(r"^(?:we|(?:this|our) (?:paper|work|study))$", re.IGNORECASE)
# Openings of a sentence that adds to the main contribution rather than stating it.
EXTRA = re.compile(r"^(?:in addition|additionally|moreover|furthermore|finally|also|further)\b", re.IGNORECASE)
# The subject of an abstract's sentence: "We propose", "In this paper, we show", "This work upsamples".
SUBJECT = re.compile(
    r"^(?:[^,]{0,80},\s*)?(?P<subject>(?P<we>we|the authors)|(?:this|our|the|the proposed) "
    r"(?:paper|work|study|method|approach))\s+(?:(?P<extra>also|further|additionally)\s+)?(?P<verb>[a-z]+)\b",
    re.IGNORECASE)
# A word that looks like a proper name of a model, dataset or paper: capitals or digits inside it
# (ESRGAN, ViT, GoPro, ImageNet-C). Generic acronyms of the field are not names.
NAME = re.compile(r"\b[A-Za-z0-9]*(?:[a-z0-9][A-Z]|[A-Z]{2})[\w-]*")
GENERIC_ACRONYMS = {
    "CNN", "CNNS", "GAN", "GANS", "JPEG", "PSNR", "SSIM", "MSE", "MLP", "MLPS", "RGB", "ISO", "RELU",
    "AI", "ML", "SOTA", "UNET", "DNN", "DNNS", "CPU", "GPU", "SR", "SISR", "HR", "LR", "3D", "2D", "RAW",
}
TRAILING_WORDS = {"and", "or", "of", "the", "a", "an", "to", "with", "by", "for", "in", "on", "that",
                  "from", "as", "at", "into", "while", "which", "its", "their"}


class RelevanceJudgement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    url: str
    relevance: Verdict
    score: float  # cosine similarity to the closest relevant-making area, 0 if none
    reason: str  # one plain sentence: what the paper does and how it bears on the question
    area: str | None = None  # id of the catalog area the paper was placed in


def sentences(summary: str) -> list[str]:
    """The summary's sentences, one line each, without inline formatting tags."""
    text = FORMATTING.sub("", " ".join(summary.split()))
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def is_description(sentence: str) -> bool:
    """False for sentences carrying links, markup or words addressed to the reader."""
    return not (LINK.search(sentence) or MARKUP.search(sentence) or ADDRESSED.search(sentence))


def given_names(prompt: ParsedPrompt) -> set[str]:
    """Upper-cased words (and their hyphen parts) of the prompt's titles, model names and question."""
    words = set()
    for text in [prompt.question] + [m.name for m in prompt.models] + [p.title for p in prompt.related]:
        for word in re.findall(r"[\w-]+", text):
            words.add(word.upper())
            words.update(part.upper() for part in word.split("-") if part)
    return words


def _foreign_name(clause: str, allowed: set[str]) -> re.Match | None:
    for match in NAME.finditer(clause):
        word = match.group().strip("-")
        parts = [p for p in word.split("-") if p]
        if word.upper() in allowed or word.upper() in GENERIC_ACRONYMS:
            continue
        if all(p.upper() in allowed or p.upper() in GENERIC_ACRONYMS or not NAME.fullmatch(p) for p in parts):
            continue
        return match
    return None


def _third_person(sentence: str) -> str:
    """'In this work, we propose X' -> 'Proposes X'; 'This paper studies X' -> 'Studies X'."""
    match = SUBJECT.match(sentence)
    if not match:
        return sentence
    verb, rest = match.group("verb"), sentence[match.end("verb"):]
    if match.group("we"):
        if verb.endswith("y") and verb[-2:-1] not in tuple("aeiou"):
            verb = verb[:-1] + "ie"
        verb += "es" if verb.endswith(("s", "sh", "ch", "x", "z", "o")) else "s"
    return verb[0].upper() + verb[1:] + rest


def _shorten(clause: str) -> str:
    """One clause of at most MAX_CLAUSE characters, cut at the latest natural break that fits
    (a colon or semicolon always ends it), else at a word boundary."""
    clause = clause.rstrip(" .!?")
    for mark in (": ", "; ", " - ", " — "):
        cut = clause.find(mark)
        if cut >= MIN_CLAUSE:
            clause = clause[:cut]
    if len(clause) > MAX_CLAUSE:
        # a strong break anywhere past the start, else the latest comma, else the latest linking
        # word in the second half, else the last whole word
        for marks, earliest in ((STRONG_BREAKS, MIN_CLAUSE), (COMMA, MAX_CLAUSE / 2), (WEAK_BREAKS, MAX_CLAUSE / 2)):
            cuts = [m.start() for m in marks.finditer(clause) if earliest <= m.start() <= MAX_CLAUSE]
            if cuts:
                clause = clause[:max(cuts)]
                break
        else:
            clause = clause[:MAX_CLAUSE].rsplit(" ", 1)[0]
        if marks is WEAK_BREAKS or not cuts:
            # a linking word among the last three means its phrase was cut short: drop it
            words = clause.split(" ")
            tail = [i for i, word in enumerate(words) if i >= len(words) - 3 and word.lower() in LINKING_WORDS]
            if tail and len(" ".join(words[:tail[0]])) >= MIN_CLAUSE:
                clause = " ".join(words[:tail[0]])
    words = clause.rstrip(" ,").split(" ")
    while len(words) > 3 and words[-1].lower().strip(",") in TRAILING_WORDS:
        words.pop()
    clause = " ".join(words).rstrip(" ,")
    if clause.count("(") > clause.count(")"):  # cut inside a parenthesis: drop its opening
        clause = clause[:clause.rfind("(")].rstrip(" ,")
    return clause


def _before_last_break(text: str) -> str:
    """'... generated samples and report' -> '... generated samples': a phrase cut short loses
    its unfinished last part."""
    cuts = [m.start() for m in WEAK_BREAKS.finditer(text.rstrip()) if m.start() >= MIN_CLAUSE]
    return text[:max(cuts)] if cuts else text


def _aim_rank(sentence: str) -> int:
    """0: the paper states its aim ("we propose"); 1: the paper is the subject ("this work
    upsamples"), unless it is an extra contribution ("the authors also release"); 2: others,
    where summary order decides (written summaries open with what the paper does)."""
    subject = SUBJECT.match(sentence)
    if not subject or subject.group("extra") or EXTRA.match(sentence) or not PAPER_SUBJECT.match(subject.group("subject")):
        return 2
    return 0 if AIM.search(sentence) else 1


def what_it_does(paper: PaperRef, allowed_names: set[str]) -> str | None:
    """The paper's aim in one clause from its summary, or None when no sentence is safe to repeat."""
    candidates = [s for s in sentences(LATEX.sub(r"\1", paper.summary)) if is_description(s)]
    candidates.sort(key=_aim_rank)  # stable: summary order within a rank
    for sentence in candidates:
        clause = _shorten(_third_person(sentence))
        clause = PARENTHESIS.sub(lambda m: "" if _foreign_name(m.group(1), allowed_names) else m.group(), clause)
        for _ in range(3):  # drop names given only by the summary ("Defines NameA and NameB, benchmarks")
            name = _foreign_name(clause, allowed_names)
            if not name:
                break
            appositive = re.compile(re.escape(name.group()) + r"(?:\s+(?:and|or)\s+[\w-]+)*,\s+")
            if appositive.match(clause, name.start()):
                clause = clause[:name.start()] + appositive.sub("", clause[name.start():], count=1)
            else:  # keep the part before the name, up to the last break, when it still says something
                clause = _shorten(_before_last_break(clause[:name.start()]))
        if _foreign_name(clause, allowed_names) or len(clause.split()) < 6:
            continue
        clause = clause[0].upper() + clause[1:]
        return clause
    return None


def paper_text(paper: PaperRef) -> str:
    """What is embedded: the title and the summary's descriptive sentences."""
    kept = [s for s in sentences(paper.summary) if is_description(s)]
    return " ".join([paper.title.rstrip(".") + "."] + kept)


def _roles(classification: Classification, request: Request, prompt: ParsedPrompt,
           catalog: Catalog) -> tuple[dict[str, str], set[str]]:
    """Area id -> why it makes a paper relevant ('task', 'ingredient' or a degradation), and the
    ids of neighbouring areas, for this prompt."""
    task = catalog.task(classification.task_id)
    tasks = {task.id, *task.related_tasks}
    families = {f.id for f in (catalog.match_model(m.name) for m in prompt.models) if f}
    roles: dict[str, str] = {}
    neighbours: set[str] = set()
    for area in catalog.areas:
        if tasks & set(area.tasks):
            roles[area.id] = "task"
        elif treated := [d for d in request.degradations if d in area.treats]:
            roles[area.id] = treated[0]
        elif families & set(area.ingredient_of):
            roles[area.id] = "ingredient"
        elif tasks & set(area.neighbour_of):
            neighbours.add(area.id)
    return roles, neighbours


def _reason(clause: str, verdict: Verdict, role: str | None, area: Area, task_label: str) -> str:
    if role == "task":
        bearing = f"a paper on {area.name}, relevant to {task_label}"
    elif role == "ingredient":
        bearing = f"a paper on {area.name}, a building block of the recommended model"
    elif role in DEGRADATION_WORDS:
        bearing = f"a paper on {area.name}, relevant because the user's input has {DEGRADATION_WORDS[role]}"
    elif verdict == "related":
        bearing = f"a neighbouring idea ({area.name}), not a method for {task_label}"
    else:
        bearing = f"a paper on {area.name}, which does not bear on {task_label}"
    return f"{clause}: {bearing}."


def judge_related(prompt: ParsedPrompt, classification: Classification, catalog: Catalog,
                  request: Request | None = None) -> list[RelevanceJudgement]:
    """One judgement per related paper, in prompt order. `request` (the question's scales and
    degradations) is read from the question when the caller has not already done so."""
    if not prompt.related:
        return []
    request = request or extract_request(prompt.question)
    task = catalog.task(classification.task_id)
    task_label = task.name[0].lower() + task.name[1:]
    roles, neighbours = _roles(classification, request, prompt, catalog)
    allowed = given_names(prompt)

    areas = catalog.areas
    concept_area = [i for i, area in enumerate(areas) for _ in area.concepts]
    concepts = embed([c for area in areas for c in area.concepts])  # (C, 384)
    papers = embed([paper_text(p) for p in prompt.related])  # (P, 384)
    similarity = papers @ concepts.T  # (P, C)

    judgements = []
    for paper, row in zip(prompt.related, similarity):
        per_area = np.full(len(areas), -1.0)
        np.maximum.at(per_area, concept_area, row)
        per_area = np.round(per_area, 3)  # decisions on 3 decimals: robust to float noise
        clause = what_it_does(paper, allowed) or "Its summary gives no description that can be repeated"
        if task.id == UNKNOWN_TASK or not areas:
            why = "the task is unknown" if task.id == UNKNOWN_TASK else "the catalog has no research areas"
            judgements.append(RelevanceJudgement(
                title=paper.title, url=paper.url, relevance="tangential", score=0.0,
                reason=f"{clause}: {why}, so no paper can be shown relevant."))
            continue
        best = int(np.argmax(per_area))
        own = [i for i, a in enumerate(areas) if a.id in roles]
        closest_own = max(own, key=lambda i: per_area[i]) if own else None
        score = float(per_area[closest_own]) if closest_own is not None else 0.0
        if closest_own is not None and score >= FLOOR and score >= per_area[best] - TIE:
            verdict: Verdict = "relevant"
            area = areas[closest_own]
        elif areas[best].id in neighbours and per_area[best] >= FLOOR:
            verdict, area = "related", areas[best]
        elif per_area[best] >= FLOOR:
            verdict, area = "tangential", areas[best]
        else:
            verdict, area = "tangential", None  # close to no area of the catalog
        if area is None:
            reason = f"{clause}: outside the research areas that bear on {task_label}."
        else:
            reason = _reason(clause, verdict, roles.get(area.id) if verdict == "relevant" else None, area, task_label)
        judgements.append(RelevanceJudgement(
            title=paper.title, url=paper.url, relevance=verdict, score=max(score, 0.0),
            area=area.id if area else None, reason=reason))
    return judgements
