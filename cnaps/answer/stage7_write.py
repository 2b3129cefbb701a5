"""Stage 7: the answer, rendered from templates in `prompts/` with one context object each.

`build_context` turns the pipeline's results (parsed prompt, classification, request, relevance
judgements, catalog facts, demo) into an `AnswerContext` whose strings are final Markdown: prompt
text is escaped here (`cnaps.answer.links.escape_markdown`), numbers are formatted here with fixed
decimals, so the template only arranges them and the same inputs give byte-identical output.
Prompt text is only ever a *value* given to a template, never template source, so `{{ 7*7 }}` in
a prompt stays literal text.

Templates: `answer.md.j2` (the answer; `render_markdown`) and `answer.html.j2` (the page around
the Markdown rendered by markdown-it-py with raw HTML disabled; `render_html`).
"""

from __future__ import annotations

import base64
import math
import re
from functools import lru_cache
from pathlib import Path

import jinja2
from markdown_it import MarkdownIt
from pydantic import BaseModel, Field

from cnaps.answer.catalog import load_degradations
from cnaps.answer.links import (
    escape_markdown,
    link_label,
    normalize_url,
    safe_url,
    same_repository,
)
from cnaps.answer.records import (
    BLUR_RADIUS,
    JPEG_QUALITY,
    NOISE_SIGMA,
    DemoResult,
    Record,
    fmt_scale,
)
from cnaps.answer.stage3_topics import topic_names, unmeasured_texts
from cnaps.answer.stage5_related import user_task_area

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
CANNOT_ANSWER = "Cannot answer from the provided sources."
SCALE_FACTS = ("training-data", "out-of-distribution-scales")  # the Limits section's items
NOISE_FACTS = ("clean-degradation-only",)
# Topics whose paragraph can quote the demo's scores against bicubic: the first one does.
SCORE_TOPICS = ("natural", "noise", "extreme-zoom", "bicubic")
# The catalog facts each topic paragraph states (the template words the rest from the run).
TOPIC_FACTS = {
    "noise": ("clean-degradation-only",),
    "extreme-zoom": ("training-data", "out-of-distribution-scales"),  # the latter beyond x4
    "any-scale": ("continuous-query", "cell-decoding"),
    "invented": ("training-data",),
    "bicubic": ("x8-set5",),
    "speed": ("decoder", "parameters"),
    "limits": ("training-data", "out-of-distribution-scales", "clean-degradation-only"),
    "blur": ("clean-degradation-only",),
    "jpeg": ("clean-degradation-only",),
    "training": ("training-data", "training-cost"),
}
DEGRADATION_DETAILS = {
    "noise": f"Gaussian noise of sigma {NOISE_SIGMA:g} (8-bit units)",
    "jpeg": f"JPEG compression at quality {JPEG_QUALITY}",
    "blur": f"Gaussian blur of radius {BLUR_RADIUS:g} px",
}


class TaskView(Record):
    id: str
    name: str = Field(description="Markdown-safe task name")
    description: str = Field(description="Markdown-safe catalog description of the task")
    enlarges: bool = Field(description="a super-resolution task: the scale factor matters")


class RequestView(Record):
    scales: str = Field(description="e.g. 'x8', or '' when the question gives no scale")
    several: bool = Field(description="more than one scale was asked")
    degradations: str = Field(description="e.g. 'noisy', 'noisy and JPEG-compressed', or ''")


class FactView(Record):
    """A catalog fact the answer may state, with the prompt URL that backs it."""

    id: str
    text: str = Field(description="Markdown-safe")
    url: str = Field(description="a URL the prompt gave (the fact's paper)")
    label: str = Field(description="Markdown-safe link text, e.g. 'LIIF, arXiv 2012.09161'")


class TopicView(Record):
    """One thing the question asks about, answered first, with the facts its paragraph states."""

    id: str
    name: str
    facts: list[str] = Field(description="ids of the facts this paragraph states (each fact is "
                                         "stated once in the whole answer)")
    numbers: bool = Field(description="this paragraph quotes the demo's scores against "
                                      "bicubic (the first one that can; the others refer to it)")
    unmeasured: str = Field(default="", description="Markdown-safe: what holds of this topic for "
                            "any model, said when no demo measured it (catalog/topics.toml)")


class ModelView(Record):
    name: str = Field(description="Markdown-safe name as the prompt gave it")
    kind: str = Field(description="Markdown-safe: the task of its catalog family, lowercase "
                                  "first letter (e.g. 'image denoising'), or '' when unknown")
    description: str = Field(description="Markdown-safe catalog description of a runnable "
                                         "family, or '' (other families' descriptions name "
                                         "models the prompt may not give)")
    runnable: bool
    paper_label: str = Field(description="Markdown-safe link text: catalog title, else arXiv id")
    paper_url: str | None
    arxiv_id: str | None
    github_url: str | None
    github_label: str | None = Field(None, description="the link's path, e.g. 'owner/repo'")


class RawView(Record):
    """The plan's weights on the noisy input as it is (when noise handling changed the run)."""

    model: str
    psnr: str
    ssim: str
    psnr_gain: str = Field(description="against bicubic, signed")
    ssim_gain: str


class DemoView(Record):
    """The demo's measurements, formatted once (fixed decimals) for the answer."""

    model: str
    substitute_for: str | None
    weights: str
    photo: str
    scale: str
    scale_note: str
    input_size: str
    output_size: str
    queries: str = Field(description="number of output pixels queried, thousands separated")
    degradations: str = Field(description="what the demo added, e.g. 'noisy', or ''")
    degradation_details: str = Field(description="e.g. 'Gaussian noise, sigma 10 (8-bit)'")
    noisy: bool = Field(description="the demo added noise")
    seed: int
    shave: int
    denoise: str
    psnr_model: str
    psnr_bicubic: str
    psnr_gain: str = Field(description="signed, e.g. '+0.51'")
    ssim_model: str
    ssim_bicubic: str
    ssim_gain: str
    model_better: bool = Field(description="the model's PSNR is above bicubic's")
    ssim_better: bool = Field(description="the model's SSIM is above bicubic's")
    raw: RawView | None
    comparison: str
    images: dict[str, str]


class SourceView(Record):
    title: str = Field(description="Markdown-safe")
    url: str
    relevance: str = Field(description="the judge's verdict, e.g. 'relevant' or 'tangential'")
    reason: str = Field(description="Markdown-safe")


class AnswerContext(Record):
    """Everything `answer.md.j2` shows; every string is final Markdown."""

    question: str
    cannot_answer: str | None = Field(None, description="CANNOT_ANSWER when nothing fits")
    task: TaskView
    request: RequestView
    topics: list[TopicView] = Field(description="what the question asks about, in its order")
    topic_names: str = Field(description="the topics in words, joined, e.g. 'noise and speed "
                                         "and image size'")
    io: list[str] = Field(description="[input, output] of the task's workflow, in words")
    cannot_recover: str = Field("", description="what a model of the user's task cannot take from "
                                "the input (catalog/areas.toml), for models cnaps cannot run")
    limit_in_brief: bool = Field(False, description="the opening paragraph states cannot_recover, "
                                 "there being no evidence and no facts on what the question asks")
    models: list[ModelView]
    model_names: str = Field(description="the recommended models' names, joined")
    runnable: bool = Field(description="a recommended model is one cnaps can run")
    facts: list[FactView] = Field(description="catalog facts about the runnable model's paper, "
                                          "each backed by a prompt URL")
    stated: list[str] = Field(description="ids of the facts the topic paragraphs state")
    demo: DemoView | None
    no_demo_reason: str | None = Field(None, description="why no demo ran, when none did")
    asked_scale: str = Field(description="the largest asked scale (else the demo's), or ''")
    beyond_training: bool = Field(description="that scale is above the runnable model's training scales")
    pixels_per_input: str = Field(description="output pixels each input pixel becomes at that "
                                              "scale, e.g. '144' at x12, or ''")
    degraded: str = Field(description="the user's input, e.g. 'noisy', or '' when clean")
    scale_limit: list[str] = Field(description="fact ids of the Limits section's scale item "
                                               "(those not stated above); [] = no item")
    noise_limit: list[str] = Field(description="same, for the clean-inputs-only item")
    related: list[SourceView]
    # issue 20's evidence writer (cnaps.answer.evidence): filled for answers without a runnable model
    evidence: str = Field("", description="Markdown of 'What the sources say' "
                                          "(prompts/evidence.md.j2), or '' when not written")
    evidence_cited: bool = Field(False, description="that section quotes at least one source sentence")


class HtmlContext(Record):
    """Everything `answer.html.j2` shows. `body` is HTML from markdown-it (raw HTML disabled)."""

    title: str = Field(description="plain text; the template escapes it")
    body: str
    details: list[str] = Field(default_factory=list,
                               description="plain-text lines on how cnaps read the prompt "
                                           "(classifier scores, matched words): shown collapsed")


def lower_first(text: str) -> str:
    """'Image denoising' -> 'image denoising' (a name that starts a sentence, mid-sentence)."""
    return text[:1].lower() + text[1:]


def fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def fmt_signed(value: float, decimals: int) -> str:
    return f"{value:+.{decimals}f}"


def join_words(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def demo_view(result: DemoResult) -> DemoView:
    w_in, h_in = result.input_size.width, result.input_size.height
    w_out, h_out = result.output_size.width, result.output_size.height
    return DemoView(
        model=escape_markdown(result.model),
        substitute_for=escape_markdown(result.substitute_for) if result.substitute_for else None,
        weights=escape_markdown(result.weights),
        photo=escape_markdown(result.photo),
        scale=fmt_scale(result.scale),
        scale_note=escape_markdown(result.scale_note),
        input_size=f"{w_in}×{h_in}", output_size=f"{w_out}×{h_out}",
        queries=f"{w_out * h_out:,}",
        degradations=join_words([load_degradations()[d].adjective for d in result.degradations]),
        degradation_details=join_words([DEGRADATION_DETAILS[d] for d in result.degradations]),
        noisy="noise" in result.degradations,
        seed=result.seed, shave=math.ceil(result.scale),
        denoise=escape_markdown(result.denoise),
        psnr_model=fmt(result.psnr.model, 2), psnr_bicubic=fmt(result.psnr.bicubic, 2),
        psnr_gain=fmt_signed(result.psnr.model - result.psnr.bicubic, 2),
        ssim_model=fmt(result.ssim.model, 3), ssim_bicubic=fmt(result.ssim.bicubic, 3),
        ssim_gain=fmt_signed(result.ssim.model - result.ssim.bicubic, 3),
        model_better=result.psnr.model > result.psnr.bicubic,
        ssim_better=result.ssim.model > result.ssim.bicubic,
        raw=RawView(
            model=escape_markdown(result.raw.model), psnr=fmt(result.raw.psnr.model, 2),
            ssim=fmt(result.raw.ssim.model, 3),
            psnr_gain=fmt_signed(result.raw.psnr.model - result.psnr.bicubic, 2),
            ssim_gain=fmt_signed(result.raw.ssim.model - result.ssim.bicubic, 3),
        ) if result.raw else None,
        comparison=result.images.comparison,
        images=result.images.model_dump())


def request_view(scales: list[float], degradations: list[str]) -> RequestView:
    asked = sorted({float(s) for s in scales})
    return RequestView(
        scales=join_words([f"x{fmt_scale(s)}" for s in asked]), several=len(asked) > 1,
        degradations=join_words([load_degradations()[d].adjective for d in ("noise", "jpeg", "blur")
                                 if d in degradations]))


def _facts(catalog, family, allowed: list[str]) -> list[FactView]:
    """Facts of the family's papers, each backed by a URL the prompt gave (the paper, else the
    family's code, in any folder of its repository); facts with no such URL are left out (only
    provided sources are cited)."""
    facts: list[FactView] = []
    for arxiv_id in family.papers:
        paper = catalog.paper(arxiv_id)
        if paper is None:
            continue
        candidates = [normalize_url(u) for u in (paper.url, paper.github, family.github) if u]
        url = next((a for c in candidates for a in allowed
                    if a == c or same_repository(a, c)), None)
        if url is None:
            continue
        label = escape_markdown(f"{paper.short_name}, arXiv {paper.arxiv_id}"
                                if "arxiv.org" in url else f"{paper.short_name} code")
        facts += [FactView(id=f.id, text=escape_markdown(f.text), url=safe_url(url), label=label)
                  for f in paper.facts]
    return facts


def topic_views(topic_ids: list[str], available: set[str]) -> list[TopicView]:
    """The question's topics with the facts each states: a fact already stated by an earlier
    topic is not repeated."""
    stated: set[str] = set()
    views = []
    for topic in topic_ids:
        ids = [f for f in TOPIC_FACTS.get(topic, ()) if f in available and f not in stated]
        stated.update(ids)
        numbers = topic in SCORE_TOPICS and not any(v.numbers for v in views)
        views.append(TopicView(id=topic, name=topic_names()[topic], facts=ids, numbers=numbers,
                               unmeasured=escape_markdown(unmeasured_texts()[topic])))
    return views


def model_view(ref, family, catalog) -> ModelView:
    paper = catalog.paper(ref.arxiv_id) if ref.arxiv_id else None
    runnable = bool(family and family.runnable)
    return ModelView(
        name=escape_markdown(ref.name),
        kind=escape_markdown(lower_first(catalog.task(family.task).name)) if family else "",
        description=escape_markdown(family.description.rstrip(".")) if runnable else "",
        runnable=runnable,
        paper_label=escape_markdown(paper.title) if paper else (
            f"arXiv {ref.arxiv_id}" if ref.arxiv_id else "paper"),
        paper_url=safe_url(ref.paper_url) if ref.paper_url else None,
        arxiv_id=ref.arxiv_id,
        github_url=safe_url(ref.github_url) if ref.github_url else None,
        github_label=escape_markdown(link_label(ref.github_url)) if ref.github_url else None)


def build_context(prompt, catalog, families, classification, request, topics: list[str],
                  judgements, demo: DemoResult | None,
                  no_demo_reason: str | None, evidence: str = "",
                  evidence_cited: bool = False) -> AnswerContext:
    """The answer's context from the pipeline's results: the parsed prompt, the catalog, the
    catalog family of each recommended model (None when unknown, same order), the
    classification, the request, the question's topic ids, the relevance judgements and the
    demo (duck-typed, so each stage's own types can grow)."""
    from cnaps.answer.catalog import UNKNOWN_TASK

    runnable_families = [f for f in families if f and f.runnable]
    facts: list[FactView] = []
    for family in runnable_families:
        facts += [f for f in _facts(catalog, family, prompt.allowed_urls)
                  if f.id not in {g.id for g in facts}]
    topic_list = topic_views(topics, {f.id for f in facts})
    stated = [f for t in topic_list for f in t.facts]

    def fresh(ids: tuple[str, ...]) -> list[str]:
        return [f.id for f in facts if f.id in ids and f.id not in stated]

    # Limits concern what the user asked; the demo's scale only when they asked none.
    scale = max(request.scales) if request.scales else (demo.scale if demo else None)
    trained = [max(f.trained_scales) for f in runnable_families if f.trained_scales]
    beyond = scale is not None and bool(trained) and scale > trained[0]
    task = catalog.task(classification.task_id)
    task_name, task_description = classification.task_name, task.description
    # A task outside the catalog that the relevance judge placed in a research area (its papers
    # are relevant to it): the answer names that area instead of giving up.
    own_area = user_task_area(classification, judgements)
    if own_area:
        area = catalog.area(own_area)
        task_name = area.name[0].upper() + area.name[1:]
        confirmed = any(j.relevance == "relevant" and j.area == own_area for j in judgements)
        task_description = (f"Not one of the tasks in cnaps' catalog; the question, read with the "
                            f"related papers marked relevant to it, reads as {area.name}." if confirmed else
                            f"Not one of the tasks in cnaps' catalog; the question, read by meaning, is "
                            f"about {area.name}.")
    nothing_fits = classification.task_id == UNKNOWN_TASK and not any(families) and not own_area
    cannot_recover = catalog.cannot_recover(classification.task_id, own_area)
    related = [SourceView(title=escape_markdown(j.title), url=safe_url(j.url),
                          relevance=j.relevance, reason=escape_markdown(j.reason))
               for j in judgements]
    return AnswerContext(
        question=escape_markdown(prompt.question),
        cannot_answer=CANNOT_ANSWER if nothing_fits else None,
        task=TaskView(id=classification.task_id, name=escape_markdown(task_name),
                      description=escape_markdown(task_description),
                      enlarges=task.enlarges),
        request=request_view(request.scales, request.degradations),
        topics=topic_list, topic_names="; ".join(t.name for t in topic_list),
        io=[task.input, task.output],
        cannot_recover=escape_markdown(cannot_recover),
        limit_in_brief=bool(cannot_recover and topic_list and not evidence_cited
                            and not (runnable_families and facts) and not nothing_fits),
        models=[model_view(ref, family, catalog) for ref, family in zip(prompt.models, families)],
        model_names=join_words([escape_markdown(m.name) for m in prompt.models]),
        runnable=bool(runnable_families), facts=facts,
        stated=stated,
        demo=demo_view(demo) if demo else None,
        no_demo_reason=escape_markdown(no_demo_reason) if no_demo_reason else None,
        asked_scale=fmt_scale(scale) if scale else "",
        beyond_training=beyond,
        pixels_per_input=f"{scale * scale:,.0f}" if scale else "",
        degraded=request_view([], request.degradations).degradations,
        scale_limit=fresh(SCALE_FACTS if beyond else SCALE_FACTS[:1]),
        noise_limit=fresh(NOISE_FACTS),
        related=related, evidence=evidence, evidence_cited=evidence_cited)


def _env(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(PROMPTS_DIR), undefined=jinja2.StrictUndefined,
        autoescape=autoescape, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


@lru_cache(maxsize=None)
def template(name: str) -> jinja2.Template:
    """A template from prompts/ (HTML ones autoescaped)."""
    return _env(autoescape=name.endswith(".html.j2")).get_template(name)


def _render(name: str, context: BaseModel) -> str:
    # Top-level names are the context's fields; nested models stay objects (attribute access).
    return template(name).render({k: getattr(context, k) for k in type(context).model_fields})


_LIST_ITEM = re.compile(r"^(- |\d+\. |\|)")


def tidy_markdown(text: str) -> str:
    """Blank lines where Markdown needs them (around headings, before a list or table that
    follows a paragraph), no runs of blank lines, no trailing spaces: templates stay readable
    without whitespace control on every tag."""
    out: list[str] = []
    for line in (raw.rstrip() for raw in text.strip().splitlines()):
        prev = out[-1] if out else ""
        if line and prev and (line.startswith("#") or prev.startswith("#")
                              or (_LIST_ITEM.match(line) and not _LIST_ITEM.match(prev))):
            out.append("")
        if line or (prev and out):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def render_markdown(context: AnswerContext) -> str:
    """answer.md from `prompts/answer.md.j2`."""
    return tidy_markdown(_render("answer.md.j2", context))


def markdown_to_html(markdown: str, images: dict[str, bytes] | None = None) -> str:
    """HTML body for `markdown`: CommonMark plus tables, raw HTML disabled (shown as text).

    Images whose path is a key of `images` are inlined as data URIs so the page stands alone."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    images = images or {}
    default_image = md.renderer.rules["image"]

    def image(self, tokens, idx, options, env):
        token = tokens[idx]
        src = token.attrGet("src")
        if src in images:
            data = base64.b64encode(images[src]).decode("ascii")
            token.attrSet("src", f"data:image/png;base64,{data}")
        return default_image(tokens, idx, options, env)

    md.add_render_rule("image", image)
    return md.render(markdown)


def render_html(context: HtmlContext) -> str:
    """answer.html from `prompts/answer.html.j2`."""
    return _render("answer.html.j2", context)
