"""The answer pipeline: one prompt file in, one `Report` out, each stage run once.

parse (`cnaps.answer.stage1_prompt`) -> match the recommended models against the catalog -> classify the task
(`cnaps.answer.stage4_classify`) -> read the request: scales and input degradations (`extract_request`) and
the question's topics (`cnaps.answer.stage3_topics`) -> judge the related papers (`cnaps.answer.stage5_related`) -> run
the demo when a recommended model is runnable (`cnaps.answer.stage6_demo`) -> render (`cnaps.answer.stage7_write`) ->
guard the citations (`cnaps.answer.stage8_guard`). Each stage's typed result is passed on, never recomputed;
`cnaps.answer.records` holds the records and writes the files.
"""

from __future__ import annotations

from pathlib import Path

from cnaps.answer.figure import png_bytes
from cnaps.answer.records import (
    AnswerOptions,
    AnswerRecord,
    GuardRecord,
    ModelRecord,
    RelatedRecord,
    Report,
)
from cnaps.errors import WeightsNotInstalledError


def no_demo_reason(prompt, families) -> str:
    """Why no demo can run, naming only the prompt's own models."""
    names = [m.name for m in prompt.models]
    plural = len(names) > 1
    return (f"No demo was run: cnaps cannot run {' or '.join(names)}, the recommended "
            f"model{'s' if plural else ''}; the answer rests on the sources below.")


def not_shown_reason(prompt, families, task) -> str:
    """Why the demo (an enlargement) does not fit the user's task, and which listed model does."""
    fitting = [m.name for m, f in zip(prompt.models, families) if f and task.id in (f.task, *f.also_tasks)]
    fits = (f"; the recommended model for it is {' or '.join(fitting)}, which cnaps cannot run" if fitting
            else "")
    from cnaps.answer.catalog import UNKNOWN_TASK

    asked = "a task outside cnaps' catalog" if task.id == UNKNOWN_TASK else task.name.lower()
    return (f"No demo was run: the question asks for {asked}, not an enlargement, and the "
            f"only demo cnaps can run enlarges images{fits}. The answer rests on the sources below.")


def run_demo_stage(prompt, families, request, task, options: AnswerOptions):
    """(DemoRun or None, the reason when None, the DemoPlan that ran or None) for the first
    runnable recommended model, when the user's `task` is one the demo shows (it enlarges)."""
    from cnaps.answer.demo_cache import cached_run_demo
    from cnaps.answer.stage6_demo import plan_demo

    runnable = [(m, f) for m, f in zip(prompt.models, families) if f and f.runnable]
    if not runnable:
        return None, no_demo_reason(prompt, families), None
    if not task.enlarges:
        return None, not_shown_reason(prompt, families, task), None
    if not options.demo:
        return None, "No demo was run (--no-demo was given).", None
    _, family = runnable[0]
    try:
        plan = plan_demo(family.weights, family.name, request.scales, request.degradations,
                         image=options.image, seed=options.seed, scale=options.scale)
    except WeightsNotInstalledError as exc:
        return None, f"No demo was run: {exc}.", None
    return cached_run_demo(plan), None, plan


def evidence_section(prompt, catalog, families, classification, judgements,
                     writer=None) -> tuple[str, bool]:
    """(Markdown of 'What the sources say', whether it cites a sentence) for an answer without a
    runnable model (cnaps.answer.evidence); ('', False) when a model runs (its catalog facts and
    demo answer) or nothing is known of the task. With `writer` (cnaps.answer.llm_writer's
    LLMSettings) a language model writes it; a reply the guard rejects gives the evidence
    writer's section and one line saying why."""
    from cnaps.answer.catalog import UNKNOWN_TASK
    from cnaps.answer.evidence import evidence_context, gather_evidence, render_evidence
    from cnaps.answer.paper_store import read_store, store_path
    from cnaps.answer.stage5_related import user_task_area

    area_id = user_task_area(classification, judgements)  # an unknown task placed in a research area
    if any(f and f.runnable for f in families) or (classification.task_id == UNKNOWN_TASK
                                                   and not any(families) and not area_id):
        return "", False
    store = read_store(store_path())
    area = catalog.area(area_id) if area_id else None
    task_description = " ".join(area.concepts) if area else catalog.task(classification.task_id).description
    items = gather_evidence(prompt, catalog, families, judgements, store, task_description)
    section = render_evidence(evidence_context(prompt, items, store)).strip()
    if writer is not None:
        from cnaps.answer.llm_writer import Rejected, llm_section

        try:
            return llm_section(writer, prompt, items), True
        except Rejected as why:
            section += f"\n\nThe language-model writer's answer was not used: {why}."  # why: no reply text
    return section, bool(items)


def html_details(classification, request, topics, judgements) -> list[str]:
    """Plain-text lines for the HTML page's collapsed details: how the prompt was read."""
    lines = [f"task: {classification.task_id} (confidence {classification.confidence:.2f})"]
    lines += [f"classifier: {e}" for e in classification.evidence]
    for key, value in request.model_dump(mode="json").items():
        lines.append(f"request {key}: {value}")
    lines += [f"topic {e}" for e in topics.evidence]
    lines += [f"relevance of {j.title!r}: {j.relevance}, score {j.score:.3f}" for j in judgements]
    return lines


def make_report(prompt_path: str | Path, options: AnswerOptions, writer=None) -> Report:
    """Answer one prompt file. Raises CnapsError subclasses for user errors. `writer`: the
    optional language-model writer's settings (cnaps.answer.llm_writer.LLMSettings)."""
    from cnaps.answer.catalog import load_catalog
    from cnaps.answer.stage1_prompt import load_prompt
    from cnaps.answer.stage2_request import extract_request, without_dated_scales
    from cnaps.answer.stage3_topics import detect_topics
    from cnaps.answer.stage4_classify import classify
    from cnaps.answer.stage5_related import judge_related
    from cnaps.answer.stage7_write import (
        HtmlContext,
        build_context,
        markdown_to_html,
        render_html,
        render_markdown,
    )
    from cnaps.answer.stage8_guard import find_urls, guard_citations

    prompt = load_prompt(prompt_path)
    catalog = load_catalog()
    families = [catalog.match_model(m.name) for m in prompt.models]
    request = extract_request(prompt.question)
    classification = classify(prompt, catalog, request, families)
    request = without_dated_scales(request, catalog.task(classification.task_id).enlarges)
    topics = detect_topics(prompt.question, list(request.scales), list(request.degradations))
    judgements = judge_related(prompt, classification, catalog, request, families)
    task = catalog.task(classification.task_id)
    run, reason, plan = run_demo_stage(prompt, families, request, task, options)
    demo = run.result if run else None

    evidence, cited = evidence_section(prompt, catalog, families, classification, judgements, writer)
    context = build_context(prompt, catalog, families, classification, request, topics.ids,
                            judgements, demo, reason, evidence, cited)
    markdown, guard = guard_citations(render_markdown(context), prompt.allowed_urls)
    images = ({getattr(demo.images, k): png_bytes(v) for k, v in run.pictures.items()}
              if run else {})
    if plan is not None:  # the demo as a workflow anyone can rerun: `cnaps run images/workflow.json`
        from cnaps.workflow import workflow_for_demo

        images[demo.images.workflow] = (workflow_for_demo(plan).model_dump_json(indent=2)
                                        + "\n").encode("utf-8")
    html = render_html(HtmlContext(
        title=f"cnaps answer: {prompt.source}", body=markdown_to_html(markdown, images),
        details=html_details(classification, request, topics, judgements)))
    record = AnswerRecord(
        prompt=prompt.source, question=prompt.question, options=options,
        classification=classification, request=request, topics=topics,
        models=[ModelRecord(name=m.name, family=f.id if f else None, paper=m.paper_url,
                            github=m.github_url, runnable=bool(f and f.runnable),
                            weights=f.weights if f else None)
                for m, f in zip(prompt.models, families)],
        related=[RelatedRecord.model_validate(j.model_dump()) for j in judgements],
        demo=demo, no_demo_reason=reason,
        citations=list(dict.fromkeys(find_urls(markdown))),
        guard=GuardRecord(removed=guard.removed))
    return Report(markdown=markdown, html=html, record=record, images=images)
