"""The catalog: what cnaps knows about tasks, model families and papers (stage 2 of the pipeline).

The data lives in TOML files under `catalog/` (tasks.toml, models.toml, papers.toml) so it can be
read and reviewed without reading code; this module validates it into pydantic models and
cross-checks it (every family's task exists, runnable families name weights, patterns compile).
Metadata fetched from arXiv and GitHub by `cnaps catalog refresh` (see `cnaps.answer.catalog_refresh`)
is cached as JSON under `catalog/cache/` and merged in when present; nothing needs it.

Like timm's pretrained configs, each model family carries its task, weights name, papers and code
URL; `match_model` maps a prompt's model name (e.g. `SISR-Any-LIIF-RDN`) to a family.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import functools
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cnaps.errors import ConfigError, validation_line

CATALOG_DIR = Path(__file__).resolve().parents[2] / "catalog"
UNKNOWN_TASK = "unknown"


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    description: str
    core: list[str] = Field(description="phrases that name the task itself (strong evidence)")
    keywords: list[str] = Field(description="vocabulary that often comes with the task (weak evidence)")
    related_tasks: list[str] = Field(default_factory=list,
                                     description="tasks whose vocabulary also makes a paper relevant")
    examples: list[str] = Field(description="ways people ask for the task without naming it")
    removes: list[Literal["noise", "jpeg", "blur"]] = Field(
        default_factory=list, description="input degradations the task exists to remove")
    input: str = Field("the user's image", description="what goes into a model of the task")
    output: str = Field("the processed image", description="what comes out of it")
    enlarges: bool = Field(False, description="the task enlarges images: the scale factor matters")
    any_factor: bool = Field(False, description="it enlarges by any factor, fractional ones "
                             "included (a fixed-scale model is trained for whole factors)")


class ModelFamily(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    task: str
    also_tasks: list[str] = Field(default_factory=list, description="other tasks its models are trained "
                                  "for (a restoration network for denoising or deblurring)")
    description: str
    patterns: list[str] = Field(description="regular expressions matched against the whole model name, any case")
    runnable: bool = Field(description="whether cnaps can run this family itself")
    weights: str | None = Field(default=None, description="cnaps weights name (cnaps.sr.weights) when runnable")
    trained_scales: list[float] | None = Field(
        default=None, description="the lowest and highest scale it was trained on, when its paper says")
    papers: list[str] = Field(default_factory=list, description="arXiv ids of the family's papers")
    github: str | None = None

    def matches(self, name: str) -> bool:
        return any(re.fullmatch(p, name, re.IGNORECASE) for p in self.patterns)


def name_readings(name: str) -> list[list[str]]:
    """Ways to read a model name, most literal first. "LIIF (RDN)" is written like "LIIF RDN":
    brackets are punctuation. "LIIF-RDN (Local Implicit Image Function)" gives the name and then
    spells it out: the part outside the brackets is the name, else a bracketed part may be."""
    plain = " ".join(re.sub(r"[()\[\]]", " ", name).split())
    outside = " ".join(re.sub(r"\([^()]*\)|\[[^\[\]]*\]", " ", name).split())
    inside = [" ".join(part.split()) for pair in re.findall(r"\(([^()]*)\)|\[([^\[\]]*)\]", name)
              for part in pair if part.strip()]
    return [[name.strip(), plain], [outside], inside]


class Fact(BaseModel):
    """One statement an answer may make, with where it comes from."""

    model_config = ConfigDict(extra="forbid")
    id: str
    text: str
    source: str


class Paper(BaseModel):
    model_config = ConfigDict(extra="forbid")
    arxiv_id: str
    title: str
    short_name: str
    authors: list[str]
    venue: str
    url: str
    github: str | None = None
    code_license: str | None = None
    facts: list[Fact]


class PaperMeta(BaseModel):
    """arXiv metadata cached by `cnaps catalog refresh`."""

    model_config = ConfigDict(extra="forbid")
    arxiv_id: str
    title: str
    authors: list[str]
    published: str  # ISO date
    primary_category: str
    fetched_at: str


class RepoMeta(BaseModel):
    """GitHub repository metadata cached by `cnaps catalog refresh`."""

    model_config = ConfigDict(extra="forbid")
    repo: str  # owner/name, lowercase
    description: str | None
    stars: int
    license: str | None  # SPDX id
    default_branch: str
    etag: str | None = None
    fetched_at: str


class Area(BaseModel):
    """A research area the relevance judge places related papers in (catalog/areas.toml)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    name: str = Field(description="plain words for reasons; never a model or paper name")
    concepts: list[str] = Field(min_length=1, description="what the area's methods do, in general terms")
    tasks: list[str] = Field(default_factory=list, description="tasks this area's papers are methods for")
    treats: list[Literal["noise", "jpeg", "blur"]] = Field(
        default_factory=list, description="input degradations this area removes")
    ingredient_of: list[str] = Field(default_factory=list, description="model families built from it")
    neighbour_of: list[str] = Field(default_factory=list, description="tasks it informs without solving")
    cannot_recover: str = Field(default="", description="what a trained model of the area must "
                                "predict because the input does not hold it; names no model")
    outside_task: bool = Field(default=False, description="a task users perform that the catalog "
                               "has no task for (colorization, depth): a question that plainly means it "
                               "is that task, whatever model is listed")


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tasks: list[Task]
    models: list[ModelFamily]
    papers: list[Paper]
    areas: list[Area] = Field(default_factory=list)
    paper_meta: dict[str, PaperMeta] = Field(default_factory=dict)
    repo_meta: dict[str, RepoMeta] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Catalog:
        task_ids = [t.id for t in self.tasks]
        problems = []
        if UNKNOWN_TASK not in task_ids:
            problems.append(f"no {UNKNOWN_TASK!r} task")
        for kind, ids in (("task", task_ids), ("model", [m.id for m in self.models]),
                          ("paper", [p.arxiv_id for p in self.papers]), ("area", [a.id for a in self.areas])):
            problems += [f"duplicate {kind} id {i!r}" for i in sorted(set(ids)) if ids.count(i) > 1]
        paper_ids = {p.arxiv_id for p in self.papers}
        for task in self.tasks:
            problems += [f"task {task.id!r}: unknown related task {r!r}" for r in task.related_tasks
                         if r not in task_ids]
            if task.any_factor and not task.enlarges:
                problems.append(f"task {task.id!r}: any_factor needs enlarges = true")
        model_ids = {m.id for m in self.models}
        for area in self.areas:
            problems += [f"area {area.id!r}: unknown task {t!r}" for t in area.tasks + area.neighbour_of
                         if t not in task_ids]
            problems += [f"area {area.id!r}: unknown model family {m!r}" for m in area.ingredient_of
                         if m not in model_ids]
        for m in self.models:
            if m.task not in task_ids:
                problems.append(f"model {m.id!r}: unknown task {m.task!r} (known: {', '.join(task_ids)})")
            problems += [f"model {m.id!r}: unknown task {t!r}" for t in m.also_tasks if t not in task_ids]
            if m.runnable != (m.weights is not None):
                problems.append(f"model {m.id!r}: runnable families need weights, others none")
            problems += [f"model {m.id!r}: unknown paper {p!r}" for p in m.papers if p not in paper_ids]
            for pattern in m.patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append(f"model {m.id!r}: bad pattern {pattern!r} ({exc})")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def area(self, area_id: str) -> Area | None:
        return next((a for a in self.areas if a.id == area_id), None)

    def cannot_recover(self, task_id: str, area_id: str | None = None) -> str:
        """What a model of the task (or of the user's own area, for a task outside the catalog)
        cannot take from the input; "" when the catalog does not say."""
        area = self.area(area_id) if area_id else None
        if area is None:
            area = next((a for a in self.areas if task_id in a.tasks and a.cannot_recover), None)
        return area.cannot_recover if area else ""

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise ConfigError(f"unknown task {task_id!r}; expected one of: {', '.join(t.id for t in self.tasks)}")

    def nearest_area(self, text: str) -> tuple[Area, float] | None:
        """The area with the concept sentence nearest in meaning to `text`, and that cosine
        similarity (cnaps/answer/semantic.py's MiniLM); None when the catalog has no areas."""
        if not self.areas:
            return None
        from cnaps.answer.semantic import embed  # the model loads only when an area is asked for

        concept_area = [a for a in self.areas for _ in a.concepts]
        row = embed([c for a in self.areas for c in a.concepts]) @ embed([text])[0]
        best = int(row.argmax())
        return concept_area[best], float(row[best])

    def match_model(self, name: str) -> ModelFamily | None:
        """The first family (in file order) whose patterns match the whole name, else None; a
        part of the name is tried when the whole matches none (`name_readings`)."""
        for reading in name_readings(name):
            found = next((m for m in self.models if any(m.matches(c) for c in reading if c)), None)
            if found:
                return found
        return None

    def paper(self, arxiv_id: str) -> Paper | None:
        return next((p for p in self.papers if p.arxiv_id == arxiv_id), None)

    def arxiv_ids(self) -> list[str]:
        return [p.arxiv_id for p in self.papers]

    def github_repos(self) -> list[str]:
        """owner/name of every GitHub repository the catalog links to, in order, unique."""
        repos: list[str] = []
        for url in [m.github for m in self.models] + [p.github for p in self.papers]:
            repo = github_repo(url) if url else None
            if repo and repo not in repos:
                repos.append(repo)
        return repos


def github_repo(url: str) -> str | None:
    """`owner/name` (lowercase) of a GitHub URL, else None."""
    match = re.match(r"^https?://(?:www\.)?github\.com/([^/\s]+)/([^/\s#?]+)", url.strip(), re.IGNORECASE)
    if not match:
        return None
    return f"{match.group(1)}/{match.group(2).removesuffix('.git')}".lower()


def catalog_dir() -> Path:
    """`$CNAPS_CATALOG_DIR` if set, else the `catalog/` folder of the source tree."""
    return Path(os.environ.get("CNAPS_CATALOG_DIR") or CATALOG_DIR)


def cache_dir(directory: Path | None = None) -> Path:
    """`$CNAPS_CATALOG_CACHE` if set, else `<catalog>/cache`."""
    env = os.environ.get("CNAPS_CATALOG_CACHE")
    return Path(env) if env else (directory or catalog_dir()) / "cache"


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"catalog file {path} is missing; expected tasks.toml, models.toml and "
                          "papers.toml in the catalog folder (set CNAPS_CATALOG_DIR to use another)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"catalog file {path} is not valid TOML: {exc}; fix that line") from None


def _read_cache(path: Path, model: type[BaseModel]) -> dict:
    """Cached metadata keyed by id; an unreadable cache is reported, never silently dropped."""
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {key: model.model_validate(value) for key, value in raw.items()}
    except (json.JSONDecodeError, ValidationError, AttributeError) as exc:
        raise ConfigError(f"catalog cache {path} is corrupt ({str(exc).splitlines()[0]}); "
                          "delete it and run `cnaps catalog refresh`") from None


class DegradationWords(BaseModel):
    """How one input degradation is read from a question and named in an answer."""

    model_config = ConfigDict(extra="forbid")
    id: Literal["noise", "jpeg", "blur"]
    noun: str = Field(description="names it in a relevance reason: 'the user's input has ...'")
    adjective: str = Field(description="describes an image that has it: 'a noisy image'")
    phrases: list[str] = Field(description="whole lowercase words that say the input has it")
    stems: list[str] = Field(default_factory=list, description="word beginnings (or CJK characters) "
                             "that say it in the other languages of languages.toml")
    concepts: list[str] = Field(default_factory=list, description="English sentences that describe an "
                                "input with it, matched by meaning")

    @property
    def words(self) -> list[tuple[str, ...]]:
        return [tuple(p.split()) for p in self.phrases]


class DegradationMeaning(BaseModel):
    """How close a statement must come to a degradation's concept sentences to count."""

    model_config = ConfigDict(extra="forbid")
    threshold: float
    margin: float
    neutral: list[str]


@functools.cache
def load_grammar() -> dict:
    """catalog/grammar.toml: the request grammar's cue words, by list name (always the built-in file:
    the grammar's code and its words change together)."""
    return _read_toml(CATALOG_DIR / "grammar.toml")


@functools.cache
def load_degradation_meaning() -> DegradationMeaning:
    path = catalog_dir() / "degradations.toml"
    if not path.is_file():
        path = CATALOG_DIR / "degradations.toml"
    try:
        return DegradationMeaning.model_validate(_read_toml(path).get("meaning", {}))
    except ValidationError as exc:
        raise ConfigError(f"invalid {path} [meaning]: {validation_line(exc)}; fix the TOML file") from None


@functools.cache
def load_degradations() -> dict[str, DegradationWords]:
    """degradations.toml, by id, in the file's order (read once per process); from the built-in
    catalog when a catalog folder of one's own has none."""
    path = catalog_dir() / "degradations.toml"
    if not path.is_file():
        path = CATALOG_DIR / "degradations.toml"
    try:
        entries = [DegradationWords.model_validate(d)
                   for d in _read_toml(path).get("degradation", [])]
    except ValidationError as exc:
        raise ConfigError(f"invalid {path}: {validation_line(exc)}; fix the TOML file") from None
    return {d.id: d for d in entries}


def load_catalog(directory: Path | str | None = None, cache: Path | str | None = None) -> Catalog:
    """Load and validate the catalog, merging cached metadata when the cache exists."""
    directory = Path(directory) if directory else catalog_dir()
    cache = Path(cache) if cache else cache_dir(directory)
    data = {
        "tasks": _read_toml(directory / "tasks.toml").get("task", []),
        "models": _read_toml(directory / "models.toml").get("model", []),
        "papers": _read_toml(directory / "papers.toml").get("paper", []),
        # Optional: without areas.toml every related paper is judged tangential.
        "areas": _read_toml(areas).get("area", []) if (areas := directory / "areas.toml").is_file() else [],
        "paper_meta": _read_cache(cache / "arxiv.json", PaperMeta),
        "repo_meta": _read_cache(cache / "github.json", RepoMeta),
    }
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid catalog in {directory}: {validation_line(exc)}; "
                          "fix the TOML files") from None
