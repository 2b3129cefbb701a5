"""`cnaps catalog refresh`: fetch paper and repository metadata into the catalog cache.

arXiv metadata comes through the `arxiv` package (4.x: `arxiv.Client` + `arxiv.Search(id_list=...)`,
one request for all ids, at least 3 s between requests as arXiv asks); GitHub metadata through
`GET /repos/{owner}/{repo}` with httpx, sending the cached ETag as If-None-Match so an unchanged
repository costs a 304 (which GitHub does not count against the 60 requests/hour).

Each paper's abstract, title, authors, year and primary category also go to the paper store
(`cnaps.answer.paper_store`, `papers.json` beside `arxiv.json`), which the answers' evidence reads.
arXiv asks for at least 3 s between requests: the `arxiv` client waits `delay_seconds` between the
pages of one query, and `refresh` makes one query per run.

Everything is fetched before anything is written: a network failure raises `NetworkError` and
leaves the cache exactly as it was. Base URLs are parameters (env CNAPS_ARXIV_API /
CNAPS_GITHUB_API in the CLI) so tests exercise this path against a loopback server.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import arxiv
import httpx
import requests
from pydantic import BaseModel, ConfigDict

from cnaps.answer.catalog import PaperMeta, RepoMeta, cache_dir, load_catalog
from cnaps.answer.paper_store import StoredPaper, read_store, store_path, write_store
from cnaps.errors import NetworkError
from cnaps.output import write_text_atomic

ARXIV_API = "https://export.arxiv.org/api/query"
GITHUB_API = "https://api.github.com"
ARXIV_DELAY_S = 3.0  # arXiv API terms: no more than one request every three seconds
ARXIV_PAGE = 50  # ids per request: a long id list is fetched in pages, ARXIV_DELAY_S apart
TIMEOUT_S = 20.0


class RefreshReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    papers: list[str]
    abstracts: int  # papers in the store after this refresh
    repos: list[str]
    unchanged_repos: list[str]  # answered 304 Not Modified
    cache: str


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def fetch_papers(ids: list[str], api_url: str = ARXIV_API, delay_seconds: float = ARXIV_DELAY_S,
                 num_retries: int = 2, page_size: int = ARXIV_PAGE) -> dict[str, StoredPaper]:
    """arXiv metadata and abstracts for `ids` (without versions), in one query (paged)."""
    if not ids:
        return {}
    client = arxiv.Client(page_size=min(len(ids), page_size), delay_seconds=delay_seconds,
                          num_retries=num_retries)
    client.query_url_format = api_url + "?{}"
    try:
        results = list(client.results(arxiv.Search(id_list=ids, max_results=len(ids))))
    except (arxiv.ArxivError, requests.RequestException) as exc:
        raise NetworkError(f"arXiv API at {api_url} failed ({type(exc).__name__}: {exc}); "
                           "check the connection or try later; the catalog cache was not changed") from None
    except (ValueError, TypeError, AttributeError) as exc:  # an answer that is not an arXiv feed
        raise NetworkError(f"arXiv API at {api_url} sent an unexpected answer ({type(exc).__name__}: "
                           f"{exc}); the catalog cache was not changed") from None
    found: dict[str, StoredPaper] = {}
    for result in results:
        short = re.sub(r"v\d+$", "", result.get_short_id())
        found[short] = StoredPaper(
            arxiv_id=short, title=" ".join(result.title.split()), authors=[a.name for a in result.authors],
            year=result.published.year, published=result.published.date().isoformat(),
            primary_category=result.primary_category,
            abstract=" ".join(result.summary.split()), fetched_at=_now())
    missing = [i for i in ids if i not in found]
    if missing:
        raise NetworkError(f"arXiv API at {api_url} returned no entry for {', '.join(missing)}; expected "
                           f"{len(ids)} paper(s), got {len(found)}; check the ids; the cache was not changed")
    return found


def paper_meta(paper: StoredPaper) -> PaperMeta:
    """The catalog's metadata record of a fetched paper."""
    return PaperMeta(arxiv_id=paper.arxiv_id, title=paper.title, authors=paper.authors,
                     published=paper.published, primary_category=paper.primary_category,
                     fetched_at=paper.fetched_at)


def fetch_repos(repos: list[str], cached: dict[str, RepoMeta], api_url: str = GITHUB_API
                ) -> tuple[dict[str, RepoMeta], list[str]]:
    """GitHub metadata for `owner/name` repos, and which of them were unchanged (304)."""
    found: dict[str, RepoMeta] = {}
    unchanged: list[str] = []
    headers = {"Accept": "application/vnd.github+json", "User-Agent": "cnaps-catalog-refresh"}
    try:
        with httpx.Client(base_url=api_url, headers=headers, timeout=TIMEOUT_S) as client:
            for repo in repos:
                old = cached.get(repo)
                extra = {"If-None-Match": old.etag} if old and old.etag else {}
                response = client.get(f"/repos/{repo}", headers=extra)
                if response.status_code == 304 and old:
                    found[repo] = old.model_copy(update={"fetched_at": _now()})
                    unchanged.append(repo)
                    continue
                if response.status_code != 200:
                    raise NetworkError(
                        f"GitHub API at {api_url} answered {response.status_code} for {repo}; expected 200 "
                        "(403/429 mean the hourly limit is spent: try later); the cache was not changed")
                data = response.json()
                found[repo] = RepoMeta(
                    repo=repo, description=data.get("description"), stars=int(data.get("stargazers_count", 0)),
                    license=(data.get("license") or {}).get("spdx_id"),
                    default_branch=data.get("default_branch", "main"),
                    etag=response.headers.get("ETag"), fetched_at=_now())
    except httpx.HTTPError as exc:
        raise NetworkError(f"GitHub API at {api_url} failed ({type(exc).__name__}: {exc}); "
                           "check the connection or try later; the catalog cache was not changed") from None
    except (ValueError, TypeError) as exc:
        raise NetworkError(f"GitHub API at {api_url} sent an unexpected answer ({exc}); "
                           "the cache was not changed") from None
    return found, unchanged


def _write_json(path: Path, data: dict[str, BaseModel]) -> None:
    """Write atomically: a crash mid-write never leaves half a cache file."""
    payload = json.dumps({k: v.model_dump() for k, v in sorted(data.items())}, indent=2, ensure_ascii=False)
    write_text_atomic(path, payload + "\n")


def refresh(extra_ids: list[str] = (), extra_repos: list[str] = (), *, catalog_directory: Path | None = None,
            cache: Path | None = None, arxiv_api: str = ARXIV_API, github_api: str = GITHUB_API,
            delay_seconds: float = ARXIV_DELAY_S) -> RefreshReport:
    """Fetch metadata for every catalog paper and repository (plus the extra ones), then update the cache."""
    cache = Path(cache) if cache else cache_dir(catalog_directory)
    catalog = load_catalog(catalog_directory, cache)
    ids = list(dict.fromkeys(catalog.arxiv_ids() + list(extra_ids)))
    repos = list(dict.fromkeys(catalog.github_repos() + list(extra_repos)))

    repo_meta, unchanged = fetch_repos(repos, catalog.repo_meta, github_api)
    stored = read_store(store_path(cache))  # read before fetching: a corrupt store fails early
    papers = fetch_papers(ids, arxiv_api, delay_seconds)

    _write_json(cache / "arxiv.json", {**catalog.paper_meta, **{k: paper_meta(p) for k, p in papers.items()}})
    _write_json(cache / "github.json", {**catalog.repo_meta, **repo_meta})
    write_store(store_path(cache), {**stored, **papers})
    return RefreshReport(papers=ids, abstracts=len({**stored, **papers}), repos=repos,
                         unchanged_repos=unchanged, cache=str(cache))
