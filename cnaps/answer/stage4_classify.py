"""Stage 4 of the answer pipeline: which task the user is performing.

`classify` weighs two kinds of evidence, lexical and deterministic:
- the recommended models: a name that matches a catalog family (`SISR-Any-LIIF-RDN` -> LIIF-RDN)
  says what the workflow does, and counts most;
- the question (and unrecognised model names): the catalog's task phrases, matched on word stems,
  so "I enlarged a small photo 8x" reads as super-resolution without ever saying so.
Every point of score is kept as a line of evidence quoting the text it came from. One check is by
meaning: a question that plainly means a task outside the catalog (depth, colorization) is that
task even when a known model of another task is listed and nothing in the question asks for it.

`extract_request` (stage 2, the request grammar) reads the scale factors and the input
degradations from the question; the pipeline hands its result to `classify`.
"""

from __future__ import annotations

from cnaps.answer.catalog import UNKNOWN_TASK, Area, Catalog, ModelFamily, Task
from cnaps.answer.lexicon import find_phrase, tokens
from cnaps.answer.records import Classification, Request
from cnaps.answer.stage1_prompt import ParsedPrompt

CORE_WEIGHT = 3.0  # a phrase that names the task
KEYWORD_WEIGHT = 1.0  # vocabulary that comes with the task
MODEL_WEIGHT = 10.0  # a recommended model of a known family: what the workflow actually does
# A magnification factor asked says what to do to the image: stronger than any one task phrase
# ("out of focus" names deblurring, but "quadruple its size" is the request).
SCALE_WEIGHT = CORE_WEIGHT + 1
# ... and any factor is what arbitrary-scale super-resolution does: it wins a tie with a
# fixed-scale model listed beside it.
ANY_FACTOR_BONUS = 1.0
# A factor of a past event only ("last week I upscaled them 2x ... now rank them") is background:
# it points weakly to enlarging, and a phrase of another task outweighs it.
DATED_SCALE_WEIGHT = 1.0
DEGRADATION_WEIGHT = 1.0  # an input with noise (blur) points, weakly, to the task that removes it
MIN_SCORE = 2.0  # below this, the task is "unknown" rather than a guess
# A question this close in meaning to a task outside the catalog (areas.toml `outside_task`) is
# that task, when the listed model's task has no phrase or factor of the question behind it
# (both development sets: questions of the catalog's tasks come at most 0.443 near such an area,
# and are then nearer another; the two questions of such tasks score 0.32 and 0.52, and the
# probe questions of depth 0.48 and 0.55). The margin is thin: it must also be the nearest area.
OUTSIDE_TASK_SIMILARITY = 0.45


def _phrase_scores(text: str, task: Task, where: str,
                   refused: tuple[tuple[int, int], ...] = ()) -> tuple[float, list[str]]:
    """Score of `text` for one task and one evidence line per matched phrase; phrases inside a
    `refused` span ("don't make it bigger") do not count."""
    text_tokens = tokens(text)
    score, evidence, seen = 0.0, [], set()
    for weight, kind, phrases in ((CORE_WEIGHT, "names", task.core), (KEYWORD_WEIGHT, "has", task.keywords)):
        for phrase in phrases:
            span = find_phrase(phrase, text_tokens)
            if span and any(a <= span[0] and span[1] <= b for a, b in refused):
                continue
            if span and span not in seen:  # "grain" and "grainy" are one word: count it once
                seen.add(span)
                score += weight
                quoted = text[span[0]:span[1]]
                evidence.append(f'{where} {kind} "{quoted}" ({"task phrase" if kind == "names" else "keyword"}'
                                f" of {task.id}, +{weight:g})")
    return score, evidence


def _outside_task(question: str, catalog: Catalog) -> tuple[Area, float] | None:
    """The area outside the catalog's tasks that the question means (nearest concept sentence by
    meaning, all areas compared), if it is that close."""
    nearest = catalog.nearest_area(question)
    if nearest and nearest[0].outside_task and nearest[1] >= OUTSIDE_TASK_SIMILARITY:
        return nearest
    return None


def classify(prompt: ParsedPrompt, catalog: Catalog, request: Request,
             families: list[ModelFamily | None]) -> Classification:
    """The task the prompt's user is performing, with a confidence and the evidence for it,
    from the question's `request` (stage 2) and the recommended models' catalog `families`
    (one per model, None where unrecognised)."""
    scores = {t.id: 0.0 for t in catalog.tasks}
    text_scores = dict(scores)
    evidence: dict[str, list[str]] = {t.id: [] for t in catalog.tasks}

    weighed: set[str] = set()
    for model, family in zip(prompt.models, families):
        if family:  # a family trained for several tasks weighs each the same; the question decides
            for task_id in [family.task, *family.also_tasks]:
                # two fixed-scale models beside one LIIF are one task listed, not twice the evidence
                if task_id in weighed:
                    evidence[task_id].append(f'model "{model.name}" is catalog family {family.name} '
                                             f'({task_id}, already counted)')
                    continue
                weighed.add(task_id)
                scores[task_id] += MODEL_WEIGHT
                evidence[task_id].append(
                    f'model "{model.name}" is catalog family {family.name} ({task_id}, +{MODEL_WEIGHT:g})')
        else:
            for task in catalog.tasks:
                s, ev = _phrase_scores(model.name.replace("-", " "), task, f'model name "{model.name}"')
                scores[task.id] += s
                evidence[task.id] += ev

    # The words of "I don't need it any bigger" ask for no enlargement: they are no evidence for it.
    refused = tuple((e.start, e.end) for e in request.evidence if e.kind == "keeps-size")
    for task in catalog.tasks:
        s, ev = _phrase_scores(prompt.question, task, "question", refused)
        scores[task.id] += s
        text_scores[task.id] += s
        evidence[task.id] += ev

    if request.scales:  # every task that enlarges; the recommended model tells which one
        asked = ", ".join(f"{s:g}x" for s in request.scales)
        for task in catalog.tasks:
            # a fixed-scale model is trained for whole factors (x2, x3, x4): 1.5x does not point to it
            if task.enlarges and (task.any_factor or all(f == int(f) for f in request.scales)):
                bonus = ANY_FACTOR_BONUS if task.any_factor else 0.0
                weight = DATED_SCALE_WEIGHT + bonus / 2 if request.dated else SCALE_WEIGHT + bonus
                scores[task.id] += weight
                text_scores[task.id] += weight
                evidence[task.id].append(f"question asks for a magnification factor ({asked}, +{weight:g})")
    for task in catalog.tasks:
        for kind in set(task.removes) & set(request.degradations):
            scores[task.id] += DEGRADATION_WEIGHT
            text_scores[task.id] += DEGRADATION_WEIGHT
            evidence[task.id].append(f"the question's input has {kind}, which {task.id} removes "
                                     f"(+{DEGRADATION_WEIGHT:g})")

    if request.keeps_size:  # "I don't need it any bigger": whatever is listed, nothing is enlarged
        for task in catalog.tasks:
            if task.enlarges and scores[task.id] > 0:
                scores[task.id] -= MODEL_WEIGHT
                evidence[task.id].append(f"the question wants no enlargement (-{MODEL_WEIGHT:g})")
    # Ties go to the task of the model listed first (the prompt's first recommendation), then
    # to catalog order.
    listed = [t for f in families if f for t in (f.task, *f.also_tasks)]
    first_listed = {task_id: listed.index(task_id) for task_id in reversed(listed)}
    ranked = sorted(catalog.tasks, key=lambda t: (-scores[t.id], first_listed.get(t.id, len(listed))))
    best, runner_up = ranked[0], ranked[1]
    if scores[best.id] < MIN_SCORE:
        unknown = catalog.task(UNKNOWN_TASK)
        note = (f"no task reached the minimum score {MIN_SCORE:g} (best: {best.id} at {scores[best.id]:g}); "
                + ("the recommended model enlarges, which the question refuses" if request.keeps_size and any(families)
                   else "no recommended model matches a catalog family"))
        outside = _outside_task(prompt.question, catalog)
        meant = [f"the question means {outside[0].name} (similarity {outside[1]:.2f}), a task outside "
                 "the catalog"] if outside else []
        return Classification(task_id=unknown.id, task_name=unknown.name, confidence=0.5,
                              evidence=[note] + meant + evidence[best.id],
                              area=outside[0].id if outside else None)

    if scores[best.id] >= MODEL_WEIGHT and text_scores[best.id] < CORE_WEIGHT and not request.scales \
            and (outside := _outside_task(prompt.question, catalog)):
        area, similarity = outside
        unknown = catalog.task(UNKNOWN_TASK)
        return Classification(task_id=unknown.id, task_name=unknown.name, confidence=0.6, evidence=[
            f"the question means {area.name} (similarity {similarity:.2f}), a task outside the catalog; "
            f"the listed model of {best.id} has no phrase or factor of the question behind it"], area=area.id)

    total_text = sum(text_scores.values())
    if scores[best.id] >= MODEL_WEIGHT:
        # A known model decides; the question's agreement moves confidence within [0.7, 1.0].
        agreement = text_scores[best.id] / total_text if total_text else 0.5
        confidence = 0.7 + 0.3 * agreement
    else:
        confidence = min(0.9, scores[best.id] / (sum(max(v, 0.0) for v in scores.values()) + MIN_SCORE))
    found = list(evidence[best.id])
    if scores[runner_up.id] > 0:
        found.append(f"runner-up: {runner_up.id} (score {scores[runner_up.id]:g} against {scores[best.id]:g})")
    return Classification(task_id=best.id, task_name=best.name, confidence=round(min(confidence, 0.99), 3),
                          evidence=found)
