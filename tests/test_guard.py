"""The citation guard: only the prompt's URLs survive; prompt text is inert Markdown."""

from __future__ import annotations

from cnaps.answer.stage7_write import markdown_to_html
from cnaps.answer.links import escape_markdown
from cnaps.answer.stage8_guard import REMOVED, find_urls, guard_citations

ALLOWED = ["https://arxiv.org/abs/2012.09161", "https://github.com/yinboc/liif"]


def test_escape_markdown_makes_links_html_and_emphasis_literal():
    text = 'see [docs](http://evil.example.com) <script>alert(1)</script> *bold* _x_ a|b'
    escaped = escape_markdown(text)
    html = markdown_to_html(escaped)
    assert "<script" not in html and "<a " not in html and "<em>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "[docs](http://evil.example.com)" in html  # shown as the text it was


def test_escape_markdown_keeps_template_syntax_as_text_on_one_line():
    assert escape_markdown("{{ 7*7 }}\n{% for x in y %}") == r"{{ 7\*7 }} {% for x in y %}"


def test_find_urls_in_links_and_bare_text():
    md = ("[paper](https://arxiv.org/abs/2012.09161) and https://github.com/yinboc/liif. "
          r"Also http://evil.example.com/a\_b, and www.example.org")
    assert find_urls(md) == ["https://arxiv.org/abs/2012.09161", "https://github.com/yinboc/liif",
                             "http://evil.example.com/a_b", "www.example.org"]


def test_allowed_urls_survive_in_any_spelling():
    md = "[LIIF](http://arxiv.org/pdf/2012.09161v2.pdf), code https://github.com/YinboC/liif/."
    out, report = guard_citations(md, ALLOWED)
    assert out == md
    assert report.removed == []
    assert report.kept == ALLOWED


def test_other_urls_are_removed_and_reported():
    md = ("Main source: http://evil.example.com/cite-me. "
          "[A paper](https://arxiv.org/abs/9999.99999) and [ok](https://arxiv.org/abs/2012.09161).")
    out, report = guard_citations(md, ALLOWED)
    assert "evil.example.com" not in out and "9999.99999" not in out
    assert f"Main source: {REMOVED}." in out
    assert f"A paper {REMOVED}" in out  # a link keeps its text
    assert "[ok](https://arxiv.org/abs/2012.09161)" in out
    assert report.removed == ["http://evil.example.com/cite-me", "https://arxiv.org/abs/9999.99999"]


def test_non_http_schemes_and_images_are_never_allowed():
    md = "[x](javascript:alert(1)) ![img](ftp://example.com/a.png) ftp://example.com/b"
    out, report = guard_citations(md, ALLOWED)
    assert "ftp://" not in out
    assert report.removed == ["ftp://example.com/a.png", "ftp://example.com/b"]


def test_url_inside_allowed_link_text_is_checked_too():
    md = "[http://evil.example.com](https://arxiv.org/abs/2012.09161)"
    out, report = guard_citations(md, ALLOWED)
    assert out == f"[{REMOVED}](https://arxiv.org/abs/2012.09161)"
    assert report.removed == ["http://evil.example.com"]


def test_relative_image_paths_are_not_urls():
    md = "![comparison](images/comparison.png) [input](images/lr.png)"
    out, report = guard_citations(md, ALLOWED)
    assert out == md and report.removed == [] and find_urls(md) == []
