"""URL helpers: a link is normalised in form, never retargeted, and labelled as given."""

from __future__ import annotations

from cnaps.answer.links import link_label, normalize_url, same_repository

MUSIQ = "https://github.com/google-research/google-research/tree/master/musiq"


def test_a_github_folder_link_keeps_its_folder():
    assert normalize_url("http://www.GitHub.com/Google-Research/google-research/tree/master/musiq/") \
        == MUSIQ
    assert link_label(MUSIQ) == "google-research/google-research/tree/master/musiq"


def test_labels():
    assert link_label("https://arxiv.org/abs/2012.09161") == "arXiv 2012.09161"
    assert link_label("https://github.com/yinboc/liif") == "yinboc/liif"
    assert link_label("https://example.com/a/b") == "example.com/a/b"


def test_same_repository():
    assert same_repository("https://github.com/yinboc/liif/tree/main/models",
                           "https://github.com/YinboC/liif.git")
    assert not same_repository(MUSIQ, "https://github.com/google-research/big_vision")
    assert not same_repository("https://example.com/yinboc/liif", "https://github.com/yinboc/liif")
