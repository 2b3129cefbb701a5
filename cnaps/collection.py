"""Answer a whole collection of prompts in one run.

`expand_prompts` turns files, folders (their *.txt) and globs into a list of prompt files;
`answer_one` answers one prompt into `OUT/<stem>/` and returns its summary row, never raising
for a bad prompt; `answer_collection` runs it over all of them (here, in local workers or as
Ray tasks, see `cnaps.parallel`) and writes `OUT/index.md`, `OUT/index.html` and
`OUT/summary.jsonl`.

Skip-if-done: beside each answer, `.cnaps-done.json` records a fingerprint of what made it
(the prompt's bytes, the answer options, every installed weights sha256 and the code version,
see `cnaps.fingerprint.code_version`); a rerun skips a prompt whose fingerprint matches unless
`force`. Whether the demo cache is used does not enter it: answers are the same either way.
"""

from __future__ import annotations

import functools
import glob
import json
import time
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cnaps.answer.folder import DONE_FILE
from cnaps.answer.records import AnswerOptions
from cnaps.errors import CnapsError
from cnaps.fingerprint import bytes_sha256, code_version, digest, installed_weights
from cnaps.output import write_text_atomic

GLOB_CHARS = "*?["


class CollectionError(CnapsError):
    """A collection that cannot be run as given (no prompts found, clashing names)."""


class CollectionOptions(BaseModel):
    """How every prompt of the collection is answered."""

    model_config = ConfigDict(extra="forbid")
    answer: AnswerOptions = Field(default_factory=AnswerOptions)
    force: bool = Field(False, description="answer again even when up to date")
    cache_dir: str | None = Field(None, description="demo cache folder; None = no cache")
    threads: int | None = Field(None, description="torch threads per worker; None = torch's")


class SummaryRow(BaseModel):
    """One prompt's line of summary.jsonl and row of the index."""

    model_config = ConfigDict(extra="forbid")
    prompt: str = Field(description="the prompt file as found")
    stem: str = Field(description="its answer folder, relative to the output folder")
    status: Literal["answered", "up to date", "failed"]
    reason: str | None = Field(None, description="one line, when failed")
    question: str | None = None
    task: str | None = None
    scales_asked: list[float] = Field(default_factory=list)
    scale_run: float | None = None
    gain_db: float | None = Field(None, description="demo PSNR of the model minus bicubic's")
    relevance: dict[str, int] = Field(default_factory=dict,
                                      description="related papers per relevance label")
    demo_seconds: float | None = Field(None, description="time the demo took when it ran")
    seconds: float = Field(0.0, description="wall time of this prompt in this run")


def is_collection(args: list[str]) -> bool:
    """More than one argument, a folder or a glob: anything but one plain file."""
    if len(args) != 1:
        return True
    arg = args[0]
    return Path(arg).is_dir() or (not Path(arg).exists() and any(c in arg for c in GLOB_CHARS))


def expand_prompts(args: list[str]) -> list[Path]:
    """Prompt files named by files, folders (the *.txt inside, sorted) and globs, in the order
    given, each once. A missing path, an empty folder or glob, or two prompts with the same
    stem (they would share an answer folder) is a usage error."""
    found: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            matches = sorted(p for p in path.glob("*.txt") if p.is_file())
            if not matches:
                raise CollectionError(f"{arg}: folder has no *.txt prompt files")
        elif path.is_file():
            matches = [path]
        elif any(c in arg for c in GLOB_CHARS):
            matches = sorted(Path(p) for p in glob.glob(arg, recursive=True) if Path(p).is_file())
            if not matches:
                raise CollectionError(f"{arg}: no file matches this pattern")
        else:
            raise CollectionError(f"{arg}: no such file or folder; give prompt files, "
                                  "folders of *.txt prompts or globs")
        found.extend(matches)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    stems = Counter(p.stem for p in unique)
    clashes = sorted(s for s, n in stems.items() if n > 1)
    if clashes:
        names = ", ".join(str(p) for p in unique if p.stem in clashes)
        raise CollectionError(f"prompts with the same name would share an answer folder: "
                              f"{names}; rename them or answer them in separate runs")
    return unique


def fingerprint(prompt_bytes: bytes, options: AnswerOptions) -> str:
    """What an answer depends on (see the module docstring)."""
    return digest({"prompt": bytes_sha256(prompt_bytes), "options": options.model_dump(mode="json"),
                   "weights": installed_weights(), "code": code_version()})


@functools.cache
def _prepare_process(cache_dir: str | None, threads: int | None) -> None:
    """Once per process (worker): the demo cache and the torch thread count."""
    from cnaps.answer import demo_cache

    demo_cache.configure(cache_dir)
    if threads:
        import torch

        torch.set_num_threads(threads)


def _up_to_date(folder: Path, stamp: str) -> SummaryRow | None:
    try:
        done = json.loads((folder / DONE_FILE).read_text(encoding="utf-8"))
        if done["fingerprint"] != stamp or not (folder / "answer.json").is_file():
            return None
        return SummaryRow.model_validate(done["row"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _row_from_record(prompt: Path, stem: str, record) -> SummaryRow:
    demo = record.demo
    return SummaryRow(
        prompt=str(prompt), stem=stem, status="answered", question=record.question,
        task=record.classification.task_id, scales_asked=list(record.request.scales),
        scale_run=demo.scale if demo else None,
        gain_db=round(demo.psnr.model - demo.psnr.bicubic, 2) if demo else None,
        relevance=dict(Counter(r.relevance for r in record.related)),
        demo_seconds=demo.seconds if demo else None)


def answer_one(prompt_path: str | Path, out_dir: str | Path,
               options: CollectionOptions) -> SummaryRow:
    """Answer one prompt into `out_dir/<stem>/` and say how it went; a failure of this prompt
    (bad file, bad photo, any error) becomes a failed row, never an exception."""
    from cnaps.answer.folder import write_report
    from cnaps.answer.pipeline import make_report  # the one call into the pipeline

    started = time.perf_counter()
    prompt = Path(prompt_path)
    folder = Path(out_dir) / prompt.stem
    _prepare_process(options.cache_dir, options.threads)
    try:
        stamp = fingerprint(prompt.read_bytes(), options.answer)
        previous = None if options.force else _up_to_date(folder, stamp)
        if previous is not None:
            return previous.model_copy(update={"status": "up to date", "seconds": round(
                time.perf_counter() - started, 3)})
        report = make_report(prompt, options.answer)
        write_report(report, folder)
        row = _row_from_record(prompt, prompt.stem, report.record)
        write_text_atomic(folder / DONE_FILE, json.dumps(
            {"fingerprint": stamp, "row": row.model_dump(mode="json")}, indent=2) + "\n")
    except Exception as exc:  # isolate every failure to its prompt
        reason = str(exc).splitlines()[0] if str(exc) else ""
        if not isinstance(exc, CnapsError):
            reason = f"internal error {type(exc).__name__}: {reason}"
        row = SummaryRow(prompt=str(prompt), stem=prompt.stem, status="failed", reason=reason)
    return row.model_copy(update={"seconds": round(time.perf_counter() - started, 3)})


def _crashed_row(prompt: str, reason: str) -> SummaryRow:
    return SummaryRow(prompt=prompt, stem=Path(prompt).stem, status="failed", reason=reason)



def _cell(text: str, limit: int = 90) -> str:
    """Text safe in a markdown table cell: one line, punctuation escaped, shortened."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return "".join(f"\\{c}" if c in "\\`*_[]<>|#!&" else c for c in text)


def _scales(values: list[float]) -> str:
    return ", ".join(f"x{v:g}" for v in values) or "—"


def index_markdown(rows: list[SummaryRow], link_suffix: str = "md") -> str:
    """The index: one row per prompt, linking to answer.<link_suffix>."""
    from cnaps.answer.links import safe_url

    counts = Counter(r.status for r in rows)
    lines = ["# cnaps answers", "",
             f"{len(rows)} prompts: {counts['answered']} answered, "
             f"{counts['up to date']} up to date, {counts['failed']} failed.", "",
             "| file | question | task | scale asked | scale run | demo gain over bicubic "
             "(dB) | related papers | status | answer |",
             "|---|---|---|---|---|---:|---|---|---|"]
    for r in rows:
        related = ", ".join(f"{n} {label}" for label, n in sorted(r.relevance.items())) or "—"
        gain = f"{r.gain_db:+.2f}" if r.gain_db is not None else "—"
        status = r.status if r.status != "failed" else f"failed: {r.reason}"
        link = ("—" if r.status == "failed" else
                f"[answer]({safe_url(f'{r.stem}/answer.{link_suffix}')})")
        lines.append("| " + " | ".join([
            _cell(Path(r.prompt).name), _cell(r.question or "—"), _cell(r.task or "—"),
            _scales(r.scales_asked), _scales([r.scale_run] if r.scale_run else []), gain,
            _cell(related), _cell(status, 200), link]) + " |")
    return "\n".join(lines) + "\n"


def write_index(rows: list[SummaryRow], out_dir: Path) -> None:
    """index.md, index.html and summary.jsonl in out_dir, each written atomically."""
    from cnaps.answer.stage7_write import HtmlContext, markdown_to_html, render_html

    write_text_atomic(out_dir / "index.md", index_markdown(rows, "md"))
    write_text_atomic(out_dir / "index.html", render_html(HtmlContext(
        title="cnaps answers", body=markdown_to_html(index_markdown(rows, "html")))))
    write_text_atomic(out_dir / "summary.jsonl",
                  "".join(r.model_dump_json() + "\n" for r in rows))


def answer_collection(prompts: list[Path], out_dir: str | Path, options: CollectionOptions, *,
                      jobs: int = 1, ray: str | None = None,
                      quiet: bool = False) -> list[SummaryRow]:
    """Answer every prompt into out_dir and write the index; rows in the prompts' order."""
    from cnaps.parallel import run_all, threads_per_worker

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    if options.threads is None and ray:
        options = options.model_copy(update={"threads": 1})  # one CPU per Ray task
    elif options.threads is None and jobs > 1:
        options = options.model_copy(update={"threads": threads_per_worker(
            min(jobs, len(prompts)))})
    task = functools.partial(answer_one, out_dir=out_dir, options=options)
    rows = run_all(task, [str(p) for p in prompts], jobs=jobs, ray=ray, desc="answering",
                   unit="prompt", quiet=quiet, on_crash=_crashed_row)
    write_index(rows, out_dir)
    return rows
