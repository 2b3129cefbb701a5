"""Stem-based phrase matching used by classification and relevance."""

from __future__ import annotations

import pytest

from cnaps.answer.lexicon import find_phrase, is_english, stem, tokens


@pytest.mark.parametrize("a, b", [
    ("enlarged", "enlarge"), ("enlarging", "enlarge"), ("bigger", "big"), ("blurry", "blur"),
    ("noisy", "noise"), ("grainy", "grain"), ("upscaling", "upscale"), ("images", "image"), ("photos", "photo"),
])
def test_inflections_share_a_stem(a, b):
    assert stem(a) == stem(b)


@pytest.mark.parametrize("a, b", [("denoise", "noise"), ("sharpen", "sharp"), ("scale", "scan")])
def test_different_words_keep_different_stems(a, b):
    assert stem(a) != stem(b)


def test_double_s_is_not_a_plural():
    assert stem("process") == "process" and stem("processes") == "process"


def test_find_phrase_returns_the_original_span():
    text = "We apply Super-Resolution to 8× enlargements."
    span = find_phrase("super resolution", tokens(text))
    assert span is not None and text[span[0]:span[1]] == "Super-Resolution"
    span = find_phrase("enlargement", tokens(text))
    assert text[span[0]:span[1]] == "enlargements"
    assert find_phrase("resolution super", tokens(text)) is None
    assert find_phrase("", tokens(text)) is None


def test_one_sentence_splitter_for_questions_summaries_and_cjk():
    from cnaps.answer.lexicon import sentence_spans

    text = "Enlarge it 2.5x. Why? 放大三倍。可以吗？ e.g. the end"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Enlarge it 2.5x.", "Why?", "放大三倍。", "可以吗？", "e.g.", "the end"]
    # summaries: a sentence ends only before a capital, so "e.g. the" stays whole
    summary = "Uses priors, e.g. the dark channel. It runs fast."
    assert [summary[a:b] for a, b in sentence_spans(summary, capital_next=True)] == [
        "Uses priors, e.g. the dark channel.", "It runs fast."]


@pytest.mark.parametrize("sentence, english", [
    ("¿Se van a ver dientes de sierra en las curvas?", False),  # "a" is Spanish too
    ("Il a une photo floue.", False),
    ("Make a picture bigger.", True),  # short: one shared word is enough
    ("Is it good?", True),
    ("I was in a hurry.", True),  # only shared words, but most of the sentence
    ("Vorrei triplicarne le dimensioni per riuscire a leggere le formule in un modello.", False),
    # most words with letters English does not write: Vietnamese "to" is "big"
    ("Tôi cần phóng to gấp đôi để làm hình nền.", False),
    ("I want my café photo of Zürich 4x bigger.", True),
])
def test_a_word_english_shares_with_other_languages_does_not_make_a_sentence_english(sentence, english):
    assert is_english(sentence) is english
