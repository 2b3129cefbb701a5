"""Stage 1 of the answer pipeline: parse a prompt file into a validated `ParsedPrompt`.

A prompt (see the seed files) holds a quoted user question, a `### Recommended AI Models:` section
of `Model:` / `Paper:` / `GitHub:` entries and an optional `### Related Papers:` section whose
entries carry their title on a `Model:` line plus `Paper:` and `Summary:`. Everything after the
question is data: summaries are kept verbatim and never interpreted.

`allowed_urls` is what the citation guard may let through: the URLs given in `Paper:` and `GitHub:`
fields, normalised. URLs that merely appear inside a summary are *not* allowed, so a summary that
says "cite http://evil.example.com" cannot widen the set of citable sources.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from cnaps.answer.links import arxiv_id, normalize_url
from cnaps.errors import PromptError

__all__ = ["ModelRef", "PaperRef", "ParsedPrompt", "arxiv_id", "load_prompt", "normalize_url",
           "parse_prompt"]  # the URL helpers live in cnaps.answer.links; imported here for callers

# The seed prompts are a few KB; a megabyte is far beyond any real prompt, and parsing costs
# grow with size (a 10 MB file took over a minute), so larger files are refused before reading.
MAX_PROMPT_BYTES = 1_000_000

QUESTION_MARKER = re.compile(r"asked the following question\s*:", re.IGNORECASE)
# A section header: "### Recommended AI Models:" (any heading level, colon optional).
HEADER = re.compile(r"^\s*#{1,6}\s*(?P<title>.+?)\s*:?\s*$")
# The template's instruction line that follows the question; when the question is missing it is
# the next non-blank line, and must not be taken for the question.
INSTRUCTIONS = re.compile(r"^\s*Based on the following recommended models", re.IGNORECASE)
# A field line inside a section: "Model: ...", "Paper: ...".
FIELD = re.compile(r"^\s*(?P<key>model|title|paper|github|summary)\s*:\s*(?P<value>.*)$", re.IGNORECASE)
ANSWER_LINE = re.compile(r"^\s*answer\s*:\s*$", re.IGNORECASE)
QUOTES = "\"'“”‘’«»"

class ModelRef(BaseModel):
    """A recommended model: the thing the answer explains (and, when runnable, runs)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    paper_url: str | None = None
    arxiv_id: str | None = None
    github_url: str | None = None


class PaperRef(BaseModel):
    """A related paper offered by the prompt; its summary is data, kept verbatim."""

    model_config = ConfigDict(extra="forbid")
    title: str
    url: str
    arxiv_id: str | None = None
    summary: str = ""


class ParsedPrompt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str
    models: list[ModelRef]
    related: list[PaperRef]
    source: str
    allowed_urls: list[str]  # normalised URLs of every Paper:/GitHub: field, in order, unique


def _open_nonblocking(path, flags):
    # O_NONBLOCK makes opening a FIFO with no writer return at once instead of hanging.
    return os.open(path, flags | os.O_NONBLOCK)


def load_prompt(path) -> ParsedPrompt:
    """Read a prompt file (UTF-8, BOM allowed) and parse it."""
    path = Path(path)
    try:
        # A FIFO or a device (/dev/zero) would block or never end: only regular files are read,
        # and never more than the cap (one byte over is enough to know it is too big).
        with open(path, "rb", opener=_open_nonblocking) as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise PromptError(f"prompt {str(path)!r} is not a regular file (a pipe, device "
                                  "or folder); expected a text file in the seed format")
            data = fh.read(MAX_PROMPT_BYTES + 1)
    except OSError as exc:
        raise PromptError(
            f"cannot read prompt file {str(path)!r}: {exc.strerror or exc}; "
            "expected a readable text file in the seed format") from None
    if len(data) > MAX_PROMPT_BYTES:
        raise PromptError(f"prompt file {path.name!r} is over {MAX_PROMPT_BYTES // 1_000_000} MB; "
                          "expected a question and a few sources (a few KB)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PromptError(
            f"prompt file {path.name!r} is not UTF-8 text (bad byte at offset {exc.start}); "
            "save it as UTF-8") from None
    if "\x00" in text:
        raise PromptError(f"prompt file {path.name!r} contains NUL bytes: expected a text file, got binary data")
    prompt = parse_prompt(text, source=path.name)
    # A prompt file in the seed format gives each model its sources; with none at all, the answer
    # could cite nothing it was given for the models it explains.
    if not any(m.paper_url or m.github_url for m in prompt.models):
        raise PromptError(f"{path.name}: no recommended model has a 'Paper:' or 'GitHub:' link: add the "
                          "links under each 'Model:' line (the answer cites only the prompt's sources)")
    return prompt


def parse_prompt(text: str, source: str = "<prompt>") -> ParsedPrompt:
    """Parse prompt text in the seed format; raises PromptError naming what is missing."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    question = _question(lines, source)
    sections = _sections(lines)

    model_entries = sections.get("recommended ai models") or sections.get("recommended models")
    if not model_entries:
        raise PromptError(
            f"{source}: no recommended model found: expected a '### Recommended AI Models:' "
            "section with 'Model:' lines")
    models = [_model_ref(entry, source) for entry in model_entries]
    related = [_paper_ref(entry, source) for entry in sections.get("related papers", [])]

    allowed: list[str] = []
    for url in [u for m in models for u in (m.paper_url, m.github_url)] + [p.url for p in related]:
        if url and url not in allowed:
            allowed.append(url)
    return ParsedPrompt(question=question, models=models, related=related, source=source,
                        allowed_urls=allowed)


def _question(lines: list[str], source: str) -> str:
    """The quoted text after 'A user has asked the following question:', up to the next blank line."""
    for i, line in enumerate(lines):
        match = QUESTION_MARKER.search(line)
        if not match:
            continue
        body: list[str] = []
        rest = line[match.end():].strip()
        if rest:
            body.append(rest)
        for follow in lines[i + 1:]:
            if not follow.strip():
                if body:
                    break
                continue
            if HEADER.match(follow) or INSTRUCTIONS.match(follow):
                break
            body.append(follow.strip())
        question = " ".join(body).strip()
        if len(question) >= 2 and question[0] in QUOTES and question[-1] in QUOTES:
            question = question[1:-1].strip()
        if not question:
            raise PromptError(
                f"{source}: empty question: expected the user's question in quotes on the line after "
                "'A user has asked the following question:'")
        return question
    raise PromptError(
        f"{source}: no question found: expected a line 'A user has asked the following question:' "
        "followed by the quoted question")


def _sections(lines: list[str]) -> dict[str, list[dict[str, str]]]:
    """Entries of every '###' section, keyed by lowercase section title; unknown sections are kept
    here but ignored by the caller. An entry starts at each 'Model:' (or 'Title:') line."""
    sections: dict[str, list[dict[str, str]]] = {}
    entries: list[dict[str, str]] | None = None
    key: str | None = None  # the field that continuation lines extend (only summaries span lines)
    for line in lines:
        header = HEADER.match(line)
        if header:
            entries = sections.setdefault(header.group("title").lower().rstrip(":").strip(), [])
            key = None
            continue
        if ANSWER_LINE.match(line):
            entries, key = None, None
            continue
        if entries is None:
            continue
        field = FIELD.match(line)
        if field:
            name = field.group("key").lower()
            name = "model" if name == "title" else name
            if name == "model" or not entries or name in entries[-1]:
                entries.append({})
            entries[-1][name] = field.group("value").strip()
            key = name
        elif key == "summary" and entries:
            # Continuation of a multi-line summary; blank lines keep paragraphs apart.
            entries[-1]["summary"] += "\n" + line.rstrip()
    for entries in sections.values():
        for entry in entries:
            if "summary" in entry:
                entry["summary"] = entry["summary"].strip()
    return sections


def _url(value: str | None, what: str, source: str) -> str | None:
    if not value:
        return None
    try:
        return normalize_url(value)
    except PromptError:
        raise PromptError(
            f"{source}: {what} is not an http(s) URL: got {value!r}; expected a link such as "
            "https://arxiv.org/abs/2012.09161 or https://github.com/owner/repo") from None


def _entry_name(entry: dict[str, str], what: str, expected: str, source: str) -> str:
    """The entry's 'Model:' line, or one clear error saying which entry lacks it."""
    name = entry.get("model", "").strip()
    if not name:
        raise PromptError(f"{source}: {what}: expected {expected}, got fields {sorted(entry)}")
    return name


def _model_ref(entry: dict[str, str], source: str) -> ModelRef:
    name = _entry_name(entry, "a recommended model has no name",
                       "'Model: <name>' before its Paper:/GitHub: lines", source)
    paper = _url(entry.get("paper"), f"the Paper: link of model {name!r}", source)
    github = _url(entry.get("github"), f"the GitHub: link of model {name!r}", source)
    return ModelRef(name=name, paper_url=paper, arxiv_id=arxiv_id(paper) if paper else None,
                    github_url=github)


def _paper_ref(entry: dict[str, str], source: str) -> PaperRef:
    title = _entry_name(entry, "a related paper has no title",
                        "'Model: <paper title>' before its Paper:/Summary: lines", source)
    url = _url(entry.get("paper"), f"the Paper: link of related paper {title!r}", source)
    if not url:
        raise PromptError(
            f"{source}: related paper {title!r} has no link: expected a 'Paper: <http(s) URL>' line")
    return PaperRef(title=title, url=url, arxiv_id=arxiv_id(url), summary=entry.get("summary", ""))
