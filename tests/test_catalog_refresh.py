"""`cnaps catalog refresh` over the network path, against a loopback HTTP server (never the internet)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from cnaps.answer.catalog import load_catalog
from cnaps.answer.catalog_refresh import fetch_papers, fetch_repos
from cnaps.cli import main
from cnaps.errors import NetworkError

FIXTURES = Path(__file__).parent / "fixtures"
ETAG = '"liif-etag-1"'
ENTRY = """<entry>
  <id>http://arxiv.org/abs/{id}v2</id>
  <updated>2021-04-01T17:59:59Z</updated>
  <published>2020-12-16T18:56:50Z</published>
  <title>Learning Continuous Image Representation with
  Local Implicit Image Function</title>
  <summary>How to represent an image?</summary>
  <author><name>Yinbo Chen</name></author>
  <author><name>Sifei Liu</name></author>
  <author><name>Xiaolong Wang</name></author>
  <link href="http://arxiv.org/abs/{id}v2" rel="alternate" type="text/html"/>
  <arxiv:primary_category term="cs.CV"/>
  <category term="cs.CV"/>
</entry>"""
FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"
      xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title>arXiv Query</title>
  <opensearch:totalResults>{n}</opensearch:totalResults>
  <opensearch:startIndex>0</opensearch:startIndex>
  <opensearch:itemsPerPage>{n}</opensearch:itemsPerPage>
  {entries}
</feed>"""
REPO = {"full_name": "yinboc/liif", "description": "Learning Continuous Image Representation with LIIF",
        "stargazers_count": 1234, "license": {"spdx_id": "BSD-3-Clause"}, "default_branch": "main"}
KNOWN_PAPERS = {"2012.09161"}


class Handler(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict]] = []

    def log_message(self, *args):
        pass

    def send(self, status: int, body: bytes = b"", headers: dict | None = None):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        Handler.requests.append((self.path, dict(self.headers)))
        url = urlsplit(self.path)
        if url.path == "/api/query":
            query = parse_qs(url.query)
            ids = query["id_list"][0].split(",")
            known = [i for i in ids if i in KNOWN_PAPERS]
            start = int(query.get("start", ["0"])[0])  # paged like arXiv: start, max_results
            page = known[start:start + int(query.get("max_results", [str(len(ids))])[0])]
            entries = "".join(ENTRY.format(id=i) for i in page)
            self.send(200, FEED.format(n=len(known) if known else 0, entries=entries).encode(),
                      {"Content-Type": "application/atom+xml"})
        elif url.path == "/api/broken":
            self.send(500, b"oops")
        elif url.path == "/repos/yinboc/liif":
            if self.headers.get("If-None-Match") == ETAG:
                self.send(304, headers={"ETag": ETAG})
            else:
                self.send(200, json.dumps(REPO).encode(), {"ETag": ETAG, "Content-Type": "application/json"})
        else:
            self.send(404, b'{"message": "Not Found"}')


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    Handler.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def run_cli(args, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def refresh_args(server: str, cache: Path, *extra: str) -> list[str]:
    return ["catalog", "refresh", "--arxiv-api", f"{server}/api/query", "--github-api", server,
            "--cache-dir", str(cache), *extra]


def test_refresh_fills_cache_then_uses_etag(server, tmp_path, capsys):
    cache = tmp_path / "cache"
    code, out, err = run_cli(refresh_args(server, cache), capsys)
    assert (code, err) == (0, "")
    assert "arXiv: 1 paper(s) refreshed" in out and "0 unchanged" in out
    papers = json.loads((cache / "arxiv.json").read_text())
    assert papers["2012.09161"]["authors"] == ["Yinbo Chen", "Sifei Liu", "Xiaolong Wang"]
    assert papers["2012.09161"]["published"] == "2020-12-16"
    assert papers["2012.09161"]["primary_category"] == "cs.CV"
    assert papers["2012.09161"]["title"].startswith("Learning Continuous Image Representation with Local")
    repos = json.loads((cache / "github.json").read_text())
    assert repos["yinboc/liif"]["stars"] == 1234 and repos["yinboc/liif"]["license"] == "BSD-3-Clause"
    assert repos["yinboc/liif"]["etag"] == ETAG

    catalog = load_catalog(cache=cache)
    assert catalog.paper_meta["2012.09161"].primary_category == "cs.CV"
    assert catalog.repo_meta["yinboc/liif"].default_branch == "main"

    code, out, _ = run_cli(refresh_args(server, cache), capsys)
    assert code == 0 and "1 unchanged (304)" in out
    github_calls = [headers for path, headers in Handler.requests if path.startswith("/repos/")]
    assert "If-None-Match" not in github_calls[0] and github_calls[1]["If-None-Match"] == ETAG
    assert json.loads((cache / "github.json").read_text())["yinboc/liif"]["stars"] == 1234
    arxiv_calls = [path for path, _ in Handler.requests if path.startswith("/api/query")]
    assert len(arxiv_calls) == 2 and "id_list=2012.09161" in arxiv_calls[0]


def test_network_failure_is_one_line_and_leaves_cache_untouched(server, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert run_cli(refresh_args(server, cache), capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in cache.iterdir()}
    # The prompt links a repository the server does not know: GitHub answers 404.
    code, out, err = run_cli(refresh_args(server, cache, str(FIXTURES / "prompts" / "deblur_unknown_model.txt")),
                             capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: GitHub API at")
    assert "answered 404 for example-lab/motionfix" in err and "cache was not changed" in err
    assert {p.name: p.read_bytes() for p in cache.iterdir()} == before


def test_unreachable_github(tmp_path, capsys):
    code, _, err = run_cli(["catalog", "refresh", "--github-api", "http://127.0.0.1:9",
                            "--cache-dir", str(tmp_path / "cache")], capsys)
    assert code == 2 and "failed (ConnectError" in err
    assert not (tmp_path / "cache").exists()


def test_arxiv_failures(server):
    with pytest.raises(NetworkError, match="arXiv API at .* failed"):
        fetch_papers(["2012.09161"], f"{server}/api/broken", delay_seconds=0, num_retries=0)
    with pytest.raises(NetworkError, match="returned no entry for 9999.99999"):
        fetch_papers(["2012.09161", "9999.99999"], f"{server}/api/query", delay_seconds=0)
    with pytest.raises(NetworkError, match="failed"):
        fetch_papers(["2012.09161"], "http://127.0.0.1:9/api/query", delay_seconds=0, num_retries=0)


def test_fetch_repos_reports_unchanged(server):
    first, unchanged = fetch_repos(["yinboc/liif"], {}, server)
    assert unchanged == [] and first["yinboc/liif"].etag == ETAG
    second, unchanged = fetch_repos(["yinboc/liif"], first, server)
    assert unchanged == ["yinboc/liif"] and second["yinboc/liif"].stars == 1234


def test_refresh_keeps_abstracts_in_the_paper_store(server, tmp_path, capsys):
    from cnaps.answer.paper_store import read_store, store_path

    cache = tmp_path / "cache"
    code, out, err = run_cli(refresh_args(server, cache), capsys)
    assert (code, err) == (0, "") and "1 abstract(s) in the paper store" in out
    paper = read_store(store_path(cache))["2012.09161"]
    assert paper.abstract == "How to represent an image?"  # the feed's <summary>, whitespace joined
    assert (paper.year, paper.published, paper.primary_category) == (2020, "2020-12-16", "cs.CV")
    assert paper.authors[0] == "Yinbo Chen" and paper.title.startswith("Learning Continuous Image")


def test_a_failed_refresh_leaves_the_paper_store_as_it_was(server, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert run_cli(refresh_args(server, cache), capsys)[0] == 0
    before = (cache / "papers.json").read_bytes()
    code, out, err = run_cli(["catalog", "refresh", "--arxiv-api", f"{server}/api/broken",
                              "--github-api", server, "--cache-dir", str(cache)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "cache was not changed" in err
    assert (cache / "papers.json").read_bytes() == before


def test_pages_of_a_long_id_list_are_spaced_by_the_delay(server):
    """arXiv asks for >= 3 s between requests; the client's delay applies between pages (scaled
    down here to keep the test fast)."""
    global KNOWN_PAPERS
    ids = ["2012.09161", "1608.03981", "1710.04026"]
    KNOWN_PAPERS, saved = set(ids), KNOWN_PAPERS
    times: list[float] = []
    original = Handler.do_GET

    def timed(self):
        times.append(time.monotonic())
        original(self)

    Handler.do_GET = timed
    try:
        found = fetch_papers(ids, f"{server}/api/query", delay_seconds=0.4, num_retries=0, page_size=1)
    finally:
        Handler.do_GET = original
        KNOWN_PAPERS = saved
    assert sorted(found) == sorted(ids)
    assert len(times) >= 3 and all(b - a >= 0.39 for a, b in zip(times, times[1:]))
