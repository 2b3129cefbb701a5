"""The whole answer for one prompt file, and writing it to a folder atomically.

`make_report` runs the pipeline: prompt (parse) -> classify -> relevance -> demo -> answer
(render) -> guard (citations), and returns the files in memory; `write_report` puts them in a
folder through a temporary sibling that is renamed into place, so a failure never leaves a
half-written answer. Output: answer.md, answer.html (self-contained: images inlined),
answer.json (`AnswerRecord`) and images/.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cnaps.answer import (HtmlContext, build_context, markdown_to_html, render_html,
                          render_markdown)
from cnaps.demo import DemoResult
from cnaps.errors import CnapsError, WeightsNotInstalledError
from cnaps.guard import find_urls, guard_citations

ANSWER_FILES = ("answer.md", "answer.html", "answer.json")


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnswerOptions(_Record):
    """How the answer was made (the command-line options); `cnaps check` replays them."""

    demo: bool = Field(True, description="run the demo when a recommended model is runnable")
    image: str | None = Field(None, description="photo for the demo; None = the default photo")
    scale: float | None = Field(None, description="demo scale; None = chosen from the question")
    seed: int = Field(0, description="seed of the demo's degradations")


class TaskRecord(_Record):
    id: str
    name: str
    confidence: float


class RequestRecord(_Record):
    scales: list[float]
    degradations: list[str]


class ModelRecord(_Record):
    name: str
    family: str | None = Field(description="catalog family id, None when not recognised")
    paper: str | None
    github: str | None
    runnable: bool
    weights: str | None = Field(description="the family's weights name when runnable")


class RelatedRecord(_Record):
    title: str
    url: str
    relevance: str
    score: float
    reason: str


class GuardRecord(_Record):
    removed: list[str] = Field(description="URLs removed from answer.md: not given by the prompt")


class AnswerRecord(_Record):
    """answer.json: the machine-readable answer."""

    prompt: str = Field(description="prompt file name")
    question: str
    options: AnswerOptions
    task: TaskRecord
    request: RequestRecord
    models: list[ModelRecord]
    related: list[RelatedRecord]
    demo: DemoResult | None
    no_demo_reason: str | None
    citations: list[str] = Field(description="every URL in answer.md, in order, unique")
    guard: GuardRecord


class Report(BaseModel):
    """Everything `write_report` writes, in memory."""

    model_config = ConfigDict(extra="forbid")
    markdown: str
    html: str
    record: AnswerRecord
    images: dict[str, bytes] = Field(description="relative path -> PNG bytes")

    def json_text(self) -> str:
        return self.record.model_dump_json(indent=2) + "\n"


def png_bytes(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _demo(prompt, catalog, request, options: AnswerOptions):
    """(DemoRun or None, reason when None)."""
    from cnaps.demo import plan_demo
    from cnaps.demo_cache import cached_run_demo

    families = [(m, catalog.match_model(m.name)) for m in prompt.models]
    runnable = [(m, f) for m, f in families if f and f.runnable]
    if not runnable:
        names = ", ".join(f"{m.name} ({f.name if f else 'not in the catalog'})"
                          for m, f in families)
        return None, (f"No demo was run: cnaps runs only LIIF super-resolution, and the "
                      f"recommended model is not one it can run: {names}.")
    if not options.demo:
        return None, "No demo was run (--no-demo was given)."
    model, family = runnable[0]
    try:
        plan = plan_demo(family.weights, family.name, request.scales, request.degradations,
                         image=options.image, seed=options.seed, scale=options.scale)
    except WeightsNotInstalledError as exc:
        return None, f"No demo was run: {exc}."
    return cached_run_demo(plan), None


def make_report(prompt_path: str | Path, options: AnswerOptions) -> Report:
    """Answer one prompt file. Raises CnapsError subclasses for user errors."""
    from cnaps.catalog import load_catalog
    from cnaps.classify import classify, extract_request
    from cnaps.prompt import load_prompt
    from cnaps.relevance import judge_related

    prompt = load_prompt(prompt_path)
    catalog = load_catalog()
    classification = classify(prompt, catalog)
    request = extract_request(prompt.question)
    judgements = judge_related(prompt, classification, catalog)
    run, no_demo_reason = _demo(prompt, catalog, request, options)
    demo = run.result if run else None
    context = build_context(prompt, catalog, classification, request, judgements, demo,
                            no_demo_reason)
    markdown, guard = guard_citations(render_markdown(context), prompt.allowed_urls)
    images = ({getattr(demo.images, k): png_bytes(v) for k, v in run.pictures.items()}
              if run else {})
    html = render_html(HtmlContext(title=f"cnaps answer: {prompt.source}",
                                   body=markdown_to_html(markdown, images)))
    citations = list(dict.fromkeys(find_urls(markdown)))
    families = [catalog.match_model(m.name) for m in prompt.models]
    record = AnswerRecord(
        prompt=prompt.source, question=prompt.question, options=options,
        task=TaskRecord(id=classification.task_id, name=classification.task_name,
                        confidence=classification.confidence),
        request=RequestRecord(scales=list(request.scales),
                              degradations=list(request.degradations)),
        models=[ModelRecord(name=m.name, family=f.id if f else None, paper=m.paper_url,
                            github=m.github_url, runnable=bool(f and f.runnable),
                            weights=f.weights if f else None)
                for m, f in zip(prompt.models, families)],
        related=[RelatedRecord(title=j.title, url=j.url, relevance=j.relevance,
                               score=j.score, reason=j.reason) for j in judgements],
        demo=demo, no_demo_reason=no_demo_reason, citations=citations,
        guard=GuardRecord(removed=guard.removed))
    return Report(markdown=markdown, html=html, record=record, images=images)


def normalised_record(record: AnswerRecord | dict) -> dict:
    """answer.json without what varies between machines and runs: timings, and metrics beyond
    3 decimals (the golden files compare this)."""
    data = record.model_dump(mode="json") if isinstance(record, BaseModel) else json.loads(
        json.dumps(record))
    demo = data.get("demo")
    if demo:
        demo.pop("seconds", None)
        for metric in ("psnr", "ssim"):
            demo[metric] = {k: round(v, 3) for k, v in demo[metric].items()}
    return data


def default_out_dir(prompt_path: str | Path) -> Path:
    return Path("runs") / Path(prompt_path).stem


def _is_answer_dir(path: Path) -> bool:
    return path.is_dir() and (not any(path.iterdir()) or (path / "answer.json").is_file())


def write_report(report: Report, out_dir: str | Path) -> Path:
    """Write the report into out_dir, replacing a previous answer there, all or nothing."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not _is_answer_dir(out_dir):
        raise CnapsError(
            f"--out {out_dir} exists and is not a cnaps answer folder (no answer.json); "
            "expected a new or empty folder, or one a previous `cnaps answer` wrote: "
            "choose another --out")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.tmp-"))
    old = None
    try:
        (tmp / "answer.md").write_text(report.markdown, encoding="utf-8")
        (tmp / "answer.html").write_text(report.html, encoding="utf-8")
        (tmp / "answer.json").write_text(report.json_text(), encoding="utf-8")
        for rel, data in report.images.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}.old-{tmp.name.rsplit('-', 1)[-1]}"
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    except BaseException:
        if old is not None and old.exists() and not out_dir.exists():
            os.replace(old, out_dir)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out_dir
