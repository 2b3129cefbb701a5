"""The topic detector: what a question is about, the asked part first."""

from __future__ import annotations

import pytest

from cnaps.answer.stage3_topics import MAX_TOPICS, detect_topics


@pytest.mark.parametrize("question, first", [
    ("Why does the enlarged photo look so natural?", "natural"),
    ("My scan is grainy. Will the grain get worse when I enlarge it?", "noise"),
    ("Will the small print on the label stay readable, with crisp letters?", "edges"),
    ("How can a single model handle 2.5x and 7x without retraining?", "any-scale"),
    ("Is the detail it adds real, or does it hallucinate it?", "invented"),
    ("How long does a 4K frame take on a laptop CPU?", "speed"),
    ("What are the limitations, and where does it fail?", "limits"),
    ("I zoomed 30x and it looks waxy and smooth. Why?", "extreme-zoom"),
])
def test_first_topic(question, first):
    assert detect_topics(question, [], []).ids[0] == first


def test_the_asking_sentence_comes_first():
    q = ("I enlarged a small and noisy image by 8x, and it looked natural. "
         "How does it manage such clean results from very limited input?")
    topics = detect_topics(q, [8.0], ["noise"])
    assert topics.ids == ["natural", "noise"]  # "limited" is not a question about limits
    assert topics.evidence[0] == 'natural: question says "clean"'


def test_request_raises_topics_the_words_do_not():
    topics = detect_topics("Please enlarge these.", [2.0, 12.0], ["noise"])
    assert topics.ids == ["any-scale", "extreme-zoom", "noise"]
    assert detect_topics("Please enlarge this.", [3.0], []).ids == []


def test_at_most_a_few_topics_lead():
    q = "Is it fast, natural, sharp on text, honest about invented detail, and what are its limits?"
    assert len(detect_topics(q, [], []).ids) == MAX_TOPICS


def test_scene_setting_sentences_do_not_raise_topics_when_something_is_asked():
    q = "The scans are clean, with no dust or grain. What would a sixfold enlargement involve?"
    assert detect_topics(q, [6.0], []).ids == []


def test_a_short_question_asks_about_the_sentence_before_it():
    q = "The result looks waxy. Why? My camera is noisy, by the way."
    assert detect_topics(q, [], []).ids == ["extreme-zoom"]


def test_words_inside_other_terms_do_not_raise_topics():
    # "text-to-image" is not text in a picture; "restorer" is not a question about recovery
    assert detect_topics("Can a text-to-image model draw a fox from my sentence?", [], []).ids == []
    assert detect_topics("How does a transformer restorer compare with CNN upscalers?",
                         [4.0], []).ids == []


@pytest.mark.parametrize("question, topic", [
    ("4000x3000 사진을 2배로 키우고 싶은데 그래픽카드 메모리가 8GB밖에 없어요. 메모리가 부족해서 멈추지 않을까요?", "memory"),
    ("这些细节是照片里本来就有的，还是AI自己编出来的？", "invented"),
    ("Le bruit va-t-il empirer?", "noise"),
    ("ノイズはひどくなりますか？", "noise"),
])
def test_questions_in_other_languages_are_read_by_meaning(question, topic):
    topics = detect_topics(question, [], [])
    assert topics.ids[:1] == [topic]
    # by meaning, or by a word of the topic in that language (catalog/topics.toml `stems`)
    assert "a sentence means" in topics.evidence[0] or "question says" in topics.evidence[0]


def test_a_plain_request_to_enlarge_raises_no_topic():
    assert detect_topics("Kann ich das Foto auf das Doppelte vergrößern?", [2.0], []).ids == []


def test_english_questions_keep_their_phrases():
    topics = detect_topics("Can it do 4x on a big panorama without running out of memory?", [4.0], [])
    assert topics.ids[0] == "memory" and 'question says "out of memory"' in topics.evidence[0]


@pytest.mark.parametrize("question, topic", [
    ("Bleiben die Kanten der Dachziegel sauber, oder gibt es Treppchen?", "edges"),
    ("線画の輪郭がギザギザになったりしないか心配です。", "edges"),
    ("Сколько времени это займёт, и не будет ли быстрее обрабатывать кадры как видео?", "speed"),
    ("我的显卡只有4GB内存，够用吗？", "memory"),
    ("Come funziona l'addestramento del modello?", "training"),
])
def test_a_foreign_word_of_the_topic_raises_it(question, topic):
    assert topic in detect_topics(question, [], []).ids


def test_foreign_stems_read_only_foreign_sentences():
    # "bordering" starts like French "bord", but an English sentence is read by the phrases
    assert detect_topics("I want it four times bigger, bordering on too much.", [], []).ids == []
