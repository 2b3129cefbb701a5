"""Stage 5 of the answer pipeline: how does each related paper bear on the user's question?

Prompts offer related papers that are often only loosely connected (a histopathology GAN offered
for a super-resolution question). Following PaperQA2's habit of scoring every source before
citing it, each paper gets one of three verdicts, as an expert reviewer would give them:

- relevant:   a method for the user's task, a remedy for a degradation the user's input has
              (a denoiser when the photo is noisy), or a building block of the recommended model;
- related:    a neighbouring idea that informs the answer without being a method for the task
              (upsampling the feature maps of a vision encoder, for a super-resolution question);
- tangential: anything else.

How: the paper's title and summary are embedded (cnaps/answer/semantic.py, all-MiniLM-L6-v2) and placed
in the research area (catalog/areas.toml) whose concept sentences they are closest to in
meaning; the catalog says what that area is to the classified task (method, remedy, ingredient,
neighbour or nothing). Comparing against every area, not only the task's own, matters: a GAN
paper that mentions "noise" is closer to image generation than to denoising, so it is not
mistaken for a denoiser. `score` is the cosine similarity to the closest area that would make
the paper relevant (0 when there is none), so papers can be ranked by how close they come.

The reason is one plain sentence: what the paper does, taken from its summary by cnaps/answer/summary.py
(the sentence where it states its aim, in the third person, one clause; never a link, markup,
an instruction to the reader or a name the prompt does not give), and how that bears on the task.
"""

from __future__ import annotations

import numpy as np

from cnaps.answer.catalog import UNKNOWN_TASK, Area, Catalog, ModelFamily, load_degradations
from cnaps.answer.lexicon import phrase_stems, tokens
from cnaps.answer.records import Classification, RelevanceJudgement, Request, Verdict
from cnaps.answer.semantic import embed
from cnaps.answer.stage1_prompt import ParsedPrompt
from cnaps.answer.summary import given_names, paper_text, what_it_does

# How much closer another area may be before a relevant-making area stops counting: 0 would
# demand the closest area; a small tolerance absorbs ties between overlapping area descriptions.
TIE = 0.02
# Below this cosine similarity a paper is not about an area at all, whichever is closest
# (unrelated abstracts score 0.1-0.3 against every area; papers of an area 0.45-0.8).
FLOOR = 0.3


def _roles(classification: Classification, request: Request, families: list[ModelFamily | None],
           catalog: Catalog) -> tuple[dict[str, str], set[str]]:
    """Area id -> why it makes a paper relevant ('task', 'ingredient' or a degradation), and the
    ids of neighbouring areas, for this prompt."""
    task = catalog.task(classification.task_id)
    tasks = {task.id, *task.related_tasks}
    family_ids = {f.id for f in families if f}
    roles: dict[str, str] = {}
    neighbours: set[str] = set()
    for area in catalog.areas:
        if tasks & set(area.tasks):
            roles[area.id] = "task"
        elif treated := [d for d in request.degradations if d in area.treats]:
            roles[area.id] = treated[0]
        elif family_ids & set(area.ingredient_of):
            roles[area.id] = "ingredient"
        elif tasks & set(area.neighbour_of):
            neighbours.add(area.id)
    return roles, neighbours


# Words of an area's name that do not identify it on their own ("image", "the", "of").
GENERIC_NAME_WORDS = set(phrase_stems("image the of a an another and task"))


def _title_names(title: str, area: Area) -> bool:
    """Whether every distinctive word of the area's name appears in the paper's title
    (word stems, so "Denoising" names "image denoising" and "Super-Resolution" names
    "super-resolution")."""
    wanted = {stem for stem in phrase_stems(area.name) if stem not in GENERIC_NAME_WORDS}
    have = {stem for stem, _, _ in tokens(title)}
    return bool(wanted) and wanted <= have


def _reason(clause: str, verdict: Verdict, role: str | None, area: Area, task_label: str) -> str:
    if role == "task":
        bearing = f"a paper on {area.name}, relevant to {task_label}"
    elif role == "ingredient":
        bearing = f"a paper on {area.name}, a building block of the recommended model"
    elif role in (degradations := load_degradations()):
        bearing = f"a paper on {area.name}, relevant because the user's input has {degradations[role].noun}"
    elif verdict == "related":
        bearing = f"a neighbouring idea ({area.name}), not a method for {task_label}"
    else:
        bearing = f"a paper on {area.name}, which does not bear on {task_label}"
    return f"{clause}: {bearing}."


def _unknown_task_area(prompt: ParsedPrompt, catalog: Catalog) -> int | None:
    """Index of the research area nearest in meaning to the question and the recommended models'
    names, when the task is none of the catalog's (colorization, depth estimation), if any is near."""
    nearest = catalog.nearest_area(prompt.question + " " + "; ".join(m.name for m in prompt.models))
    return catalog.areas.index(nearest[0]) if nearest and nearest[1] >= FLOOR else None


def user_task_area(classification: Classification, judgements: list[RelevanceJudgement]) -> str | None:
    """The research area an unknown task was placed in: the one its question plainly means (stage
    4), else the area of the papers judged relevant to it, else None; read, not recomputed."""
    if classification.task_id != UNKNOWN_TASK:
        return None
    return classification.area or next((j.area for j in judgements if j.relevance == "relevant" and j.area), None)


def judge_related(prompt: ParsedPrompt, classification: Classification, catalog: Catalog,
                  request: Request, families: list[ModelFamily | None]) -> list[RelevanceJudgement]:
    """One judgement per related paper, in prompt order, from the earlier stages' results: the
    task (stage 4), the request (stage 2) and the recommended models' families."""
    if not prompt.related:
        return []
    task = catalog.task(classification.task_id)
    task_label = task.name[0].lower() + task.name[1:]
    roles, neighbours = _roles(classification, request, families, catalog)
    allowed = given_names(prompt)

    areas = catalog.areas
    concept_area = [i for i, area in enumerate(areas) for _ in area.concepts]
    concepts = embed([c for area in areas for c in area.concepts])  # (C, D)
    papers = embed([paper_text(p) for p in prompt.related])  # (P, D)
    similarity = papers @ concepts.T  # (P, C)
    own_area = None
    if task.id == UNKNOWN_TASK:  # the area the classifier read from the question, else the nearest
        own_area = next((i for i, a in enumerate(areas) if a.id == classification.area), None) \
            if classification.area else _unknown_task_area(prompt, catalog)
    if own_area is not None:  # the user's task is no catalog task, but it has a research area
        roles, neighbours = {areas[own_area].id: "task"}, set()
        task_label = f"the user's task ({areas[own_area].name})"
    elif task.id == UNKNOWN_TASK:  # no task, but a remedy for what the input has still bears on it
        roles, neighbours = {a: r for a, r in roles.items() if r in request.degradations}, set()
        task_label = "the user's task"

    judgements = []
    for paper, row in zip(prompt.related, similarity):
        per_area = np.full(len(areas), -1.0)
        np.maximum.at(per_area, concept_area, row)
        per_area = np.round(per_area, 3)  # decisions on 3 decimals: robust to float noise
        clause = what_it_does(paper, allowed) or "Its summary gives no description that can be repeated"
        if (task.id == UNKNOWN_TASK and own_area is None and not roles) or not areas:
            why = "the task is unknown" if task.id == UNKNOWN_TASK else "the catalog has no research areas"
            judgements.append(RelevanceJudgement(
                title=paper.title, url=paper.url, relevance="tangential", score=0.0,
                reason=f"{clause}: {why}, so no paper can be shown relevant."))
            continue
        best = int(np.argmax(per_area))
        own = [i for i, a in enumerate(areas) if a.id in roles]
        closest_own = max(own, key=lambda i: per_area[i]) if own else None
        # A title that names one of these areas ("... Image Inpainting ...") settles the area,
        # even when the summary's wording sits closer to another one.
        named = [i for i in own if per_area[i] >= FLOOR and _title_names(paper.title, areas[i])]
        if named:
            closest_own = max(named, key=lambda i: per_area[i])
        score = float(per_area[closest_own]) if closest_own is not None else 0.0
        if closest_own is not None and score >= FLOOR and (named or score >= per_area[best] - TIE):
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
