"""The paper store: each paper's abstract and bibliographic data, kept on disk for the answers.

`cnaps catalog refresh` (cnaps.answer.catalog_refresh) fills it from the arXiv API for the
catalog's papers and for the recommended models' and related papers' links of the prompts it is
given; the answer path (cnaps.answer.evidence) reads it when present and works without it. The
file is `<catalog cache>/papers.json` (see `cnaps.answer.catalog.cache_dir`), one entry per arXiv
id without version.

Abstracts are untrusted text, like the prompt's summaries: nothing here filters them; the
evidence stage applies the same injection and outside-name filters (cnaps.answer.summary) to
every sentence before an answer may repeat it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from cnaps.answer.catalog import cache_dir
from cnaps.errors import ConfigError
from cnaps.output import write_text_atomic

STORE_FILE = "papers.json"


class StoredPaper(BaseModel):
    """One arXiv paper as the API gave it."""

    model_config = ConfigDict(extra="forbid")
    arxiv_id: str  # without version, e.g. "1608.03981"
    title: str
    authors: list[str]
    year: int
    published: str  # ISO date of the first version
    primary_category: str
    abstract: str
    fetched_at: str


def store_path(cache: Path | None = None) -> Path:
    return (Path(cache) if cache else cache_dir()) / STORE_FILE


def read_store(path: Path) -> dict[str, StoredPaper]:
    """The stored papers by arXiv id; {} when there is no store; a corrupt store is an error."""
    if not path.is_file():
        return {}
    return _read(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _read(path: Path, mtime_ns: int) -> dict[str, StoredPaper]:
    # keyed by modification time too: a refresh in the same process is seen at once
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {key: StoredPaper.model_validate(value) for key, value in raw.items()}
    except (json.JSONDecodeError, ValidationError, AttributeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"paper store {path} is corrupt ({str(exc).splitlines()[0]}); "
                          "delete it and run `cnaps catalog refresh`") from None


def write_store(path: Path, papers: dict[str, StoredPaper]) -> None:
    """Write the whole store atomically (sorted, so the file is deterministic)."""
    payload = json.dumps({k: v.model_dump() for k, v in sorted(papers.items())}, indent=2,
                         ensure_ascii=False)
    write_text_atomic(path, payload + "\n")
