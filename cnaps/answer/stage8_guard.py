"""Stage 8, the citation guard: an answer may cite only the sources its prompt gave.

Grounded answering the PaperQA way: the prompt's links are the only valid sources; after the
answer is rendered, every URL in it is checked against them (both sides normalised by
`cnaps.answer.links.normalize_url`), and any other URL is removed and reported, even one that a
prompt's summary told us to cite. `escape_markdown` makes prompt text inert in Markdown: it is
shown as text, never as a link, an image, raw HTML or a heading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from cnaps.answer.links import normalize_url
from cnaps.answer.records import GuardReport

# A URL with a scheme, or a bare "www." host. Backslashes are allowed inside because escaped
# prompt text may carry them (`a\_b`); they are stripped before comparing.
_URL = re.compile(r"(?:\b[a-zA-Z][a-zA-Z0-9+.-]*://|\bwww\.)[^\s<>\"'`\]\[()]+", re.ASCII)
# A Markdown link or image whose target is a URL: [text](url) / ![alt](url).
_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*<?([^)\s>]+)>?\s*\)")
# Characters a URL rarely ends with: sentence punctuation after it.
_TRAILING = ".,;:!?*_~\\"
REMOVED = "[link removed: not among the provided sources]"


def _unescape(url: str) -> str:
    return re.sub(r"\\(.)", r"\1", url)


def _trim(url: str) -> str:
    while url and url[-1] in _TRAILING:
        url = url[:-1]
    return url


def find_urls(markdown: str) -> list[str]:
    """Every URL in `markdown` as written (unescaped), in order of appearance."""
    found = [_unescape(m.group(3)) for m in _LINK.finditer(markdown)
             if _URL.match(_unescape(m.group(3)))]
    found += [_unescape(_trim(m.group(0))) for m in _URL.finditer(_LINK.sub(r"\2", markdown))]
    return found


def guard_citations(markdown: str, allowed: Iterable[str],
                    normalize: Callable[[str], str] | None = None) -> tuple[str, GuardReport]:
    """The answer with every URL outside `allowed` removed, and a report of what was removed.

    A Markdown link to a removed URL keeps its text; a bare URL is replaced by a short notice."""
    norm = normalize or normalize_url

    def safe_norm(url: str) -> str:
        try:
            return norm(url)
        except Exception:  # an unparsable URL is never an allowed one
            return "\0" + url

    allowed_set = {safe_norm(u) for u in allowed}
    report = GuardReport()

    def ok(url: str) -> bool:
        key = safe_norm(url)
        if key in allowed_set:
            if key not in report.kept:
                report.kept.append(key)
            return True
        report.removed.append(url)
        return False

    def link(m: re.Match) -> str:
        text = _URL.sub(bare, m.group(2))
        target = _unescape(m.group(3))
        if not _URL.match(target) or ok(target):
            return f"{m.group(1)}[{text}]({m.group(3)})"
        return f"{text} {REMOVED}" if not m.group(1) else REMOVED

    def bare(m: re.Match) -> str:
        raw = m.group(0)
        url = _trim(raw)
        rest = raw[len(url):]
        return m.group(0) if ok(_unescape(url)) else REMOVED + rest

    out_parts, pos = [], 0
    for m in _LINK.finditer(markdown):
        out_parts.append(_URL.sub(bare, markdown[pos:m.start()]))
        out_parts.append(link(m))
        pos = m.end()
    out_parts.append(_URL.sub(bare, markdown[pos:]))
    return "".join(out_parts), report
