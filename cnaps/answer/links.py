"""URLs and Markdown escaping, in one place: every stage that compares, cites or shows a link or
a piece of prompt text goes through here.

- `normalize_url`: the canonical form of a link, so a citation can be compared with the prompt's
  sources. It normalises the *form* (scheme, host case, arXiv abs/pdf/version, `.git`, trailing
  slash) but never the *target*: a GitHub link to a folder stays a link to that folder.
- `safe_url`: a URL that cannot break out of Markdown link syntax.
- `escape_markdown`: prompt text made inert in Markdown.
- `link_label`: short link text for a URL as the prompt gave it.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

from cnaps.errors import PromptError

# arXiv identifiers: new style 2012.09161 (optionally vN) and old style hep-th/9901001.
ARXIV_ID = r"(?P<id>\d{4}\.\d{4,5}|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?"
ARXIV_PATH = re.compile(rf"^/(?:abs|pdf|html)/{ARXIV_ID}(?:\.pdf)?/?$", re.IGNORECASE)
ARXIV_HOSTS = {"arxiv.org", "www.arxiv.org", "export.arxiv.org"}
GITHUB_HOSTS = {"github.com", "www.github.com"}
# The ASCII punctuation Markdown acts on in the middle of a line (emphasis, code, links, raw
# HTML, entities, table cells) plus `#`. Block markers (-, +, 1.) act only at a line start, and
# escaped text is one line placed after other text, so they stay as they are (readable).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")


def normalize_url(url: str) -> str:
    """Canonical form of a URL, so that citations can be compared with the prompt's sources.

    arXiv abs/pdf/html links (any scheme, version or `.pdf`) -> `https://arxiv.org/abs/<id>`;
    GitHub links -> `https://github.com/<owner>/<repo>[/<rest of the path>]` with owner and
    repository lowercase (GitHub names are case-insensitive) and the rest of the path kept, so
    `.../google-research/tree/master/musiq` still points at musiq; other URLs keep their path and
    query, with a lowercase scheme and host, no fragment and no trailing slash.
    """
    raw = url.strip().strip("<>").rstrip(".,;")
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise PromptError(
            f"expected an http(s) URL, got {url!r}; give a full link such as "
            "https://arxiv.org/abs/2012.09161")
    host = parts.hostname.lower()
    ident = arxiv_id(raw)
    if ident:
        return f"https://arxiv.org/abs/{ident}"
    if host in GITHUB_HOSTS:
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) >= 2:
            repo = segments[1].removesuffix(".git")
            rest = "".join(f"/{s}" for s in segments[2:])
            return f"https://github.com/{segments[0].lower()}/{repo.lower()}{rest}"
    netloc = host if parts.port in (None, 80, 443) else f"{host}:{parts.port}"
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def arxiv_id(url: str) -> str | None:
    """The arXiv identifier (without version) of an arXiv abs/pdf/html link, else None."""
    parts = urlsplit(url.strip().strip("<>").rstrip(".,;"))
    if parts.scheme.lower() not in ("http", "https") or \
            (parts.hostname or "").lower() not in ARXIV_HOSTS:
        return None
    match = ARXIV_PATH.match(parts.path)
    return match.group("id") if match else None


def same_repository(url: str, other: str) -> bool:
    """Both URLs are on GitHub and in the same repository (any folder of it)."""
    def repo(u: str) -> tuple[str, str] | None:
        parts = urlsplit(u)
        segments = [s for s in parts.path.split("/") if s]
        if (parts.hostname or "").lower() not in GITHUB_HOSTS or len(segments) < 2:
            return None
        return segments[0].lower(), segments[1].removesuffix(".git").lower()

    return repo(url) is not None and repo(url) == repo(other)


def link_label(url: str) -> str:
    """Short plain-text label for a normalised URL: 'arXiv 2012.09161', the GitHub path after
    the host ('google-research/google-research/tree/master/musiq'), else host and path."""
    ident = arxiv_id(url)
    if ident:
        return f"arXiv {ident}"
    parts = urlsplit(url)
    path = parts.path.strip("/")
    if (parts.hostname or "").lower() in GITHUB_HOSTS and path:
        return path
    return f"{parts.hostname}{parts.path}".rstrip("/")


def safe_url(url: str) -> str:
    """A URL that cannot break out of Markdown link syntax: spaces, <>()[] percent-encoded."""
    return quote(url, safe=":/?#@!$&'*+,;=%~-._")


def escape_markdown(text: str) -> str:
    """Prompt text made inert: one line, every Markdown-active character backslash-escaped."""
    one_line = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", one_line)
