"""The answer's records, and writing them to a folder atomically.

`cnaps.answer.pipeline.make_report` runs the stages and returns a `Report` (the files in memory);
`write_report` puts them in a folder through a temporary sibling that is renamed into place, so
a failure never leaves a half-written answer. Output: answer.md, answer.html (self-contained:
images inlined), answer.json (`AnswerRecord`) and images/.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from cnaps.answer.stage4_classify import Classification, Request
from cnaps.answer.stage6_demo import DemoResult
from cnaps.answer.stage3_topics import Topics

ANSWER_FILES = ("answer.md", "answer.html", "answer.json")
# The collection run's skip-if-done stamp (cnaps.collection), written beside an answer.
DONE_FILE = ".cnaps-done.json"
OWNED = ANSWER_FILES + ("images", DONE_FILE)  # what cnaps may replace in an answer folder


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AnswerOptions(_Record):
    """How the answer was made (the command-line options); `cnaps check` replays them."""

    demo: bool = Field(True, description="run the demo when a recommended model is runnable")
    image: str | None = Field(None, description="photo for the demo; None = the default photo")
    scale: float | None = Field(None, description="demo scale; None = chosen from the question")
    seed: int = Field(0, description="seed of the demo's degradations")


class ModelRecord(_Record):
    name: str
    family: str | None = Field(description="catalog family id, None when not recognised")
    paper: str | None
    github: str | None
    runnable: bool
    weights: str | None = Field(description="the family's weights name when runnable")


class RelatedRecord(BaseModel):
    """A relevance judgement as the judge gave it (fields it adds are kept)."""

    model_config = ConfigDict(extra="allow")
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
    classification: Classification = Field(
        description="the task, the classifier's confidence and the evidence it scored")
    request: Request = Field(description="scales and input degradations read from the "
                                         "question, with the words they came from")
    topics: Topics = Field(description="what the question asks about, answered first")
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


def make_report(prompt_path: str | Path, options: AnswerOptions) -> Report:
    """`cnaps.answer.pipeline.make_report` (kept here for callers of the old home)."""
    from cnaps.answer.pipeline import make_report as run_pipeline

    return run_pipeline(prompt_path, options)


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


def check_answer_folder(out_dir: str | Path) -> None:
    """OutputError now, before any work, if write_report could not write out_dir."""
    from cnaps.output import check_folder_target

    check_folder_target(out_dir, owned=OWNED, marker="answer.json")


def write_report(report: Report, out_dir: str | Path) -> Path:
    """Write the report into out_dir, replacing a previous answer there, all or nothing
    (cnaps.output.write_folder: never deletes files cnaps did not write)."""
    from cnaps.output import write_folder

    files = {"answer.md": report.markdown.encode("utf-8"),
             "answer.html": report.html.encode("utf-8"),
             "answer.json": report.json_text().encode("utf-8"), **report.images}
    write_folder(out_dir, files, owned=OWNED, marker="answer.json")
    return Path(out_dir)
