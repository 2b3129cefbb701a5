"""Stage 3, the topics: what the question is about, so the answer can answer *that* first.

A small, general detector: each topic has a few phrases (matched on word stems, like the
classifier, so "invented", "inventing" and "invent" are one word). When the question has a
sentence that asks (ends with "?"), only the topics raised there count, in the order of
mention: "The scans are clean, no grain. What would a sixfold enlargement involve?" is not
about noise. Without a question mark, all sentences count. Two come from the request rather
than the words: several scales asked point to "one network for any scale", a scale above x8
to "extreme zoom", a noisy input to "noise".
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from cnaps.answer.lexicon import CJK_CHARS, is_english, phrase_stems, sentence_spans, tokens
from cnaps.answer.records import Topics

TOPICS_FILE = Path(__file__).resolve().parents[2] / "catalog" / "topics.toml"
@dataclass(frozen=True)
class Topic:
    id: str
    name: str
    phrases: tuple[str, ...]
    concepts: tuple[str, ...]
    unmeasured: str = ""  # what holds for any model when cnaps measured nothing (catalog/topics.toml)
    stems: tuple[str, ...] = ()  # words of other languages that raise it (catalog/topics.toml)


@dataclass(frozen=True)
class Meaning:
    threshold: float
    margin: float
    neutral: tuple[str, ...]


@functools.cache
def load_topics() -> tuple[tuple[Topic, ...], Meaning]:
    """catalog/topics.toml: the topics in the order answers take them, and how close by meaning."""
    data = tomllib.loads(TOPICS_FILE.read_text(encoding="utf-8"))
    topics = tuple(Topic(t["id"], t["name"], tuple(t["phrases"]), tuple(t["concepts"]), t.get("unmeasured", ""),
                         tuple(t.get("stems", ()))) for t in data["topic"])
    m = data["meaning"]
    return topics, Meaning(float(m["threshold"]), float(m["margin"]), tuple(m["neutral"]))


def topic_names() -> dict[str, str]:
    return {t.id: t.name for t in load_topics()[0]}


def unmeasured_texts() -> dict[str, str]:
    """Topic id -> what the answer says of it when no demo measured it (empty for most topics)."""
    return {t.id: t.unmeasured for t in load_topics()[0]}


EXTREME_SCALE = 8.0  # above this the input holds too little for detail: the answer says so
MAX_TOPICS = 3  # the answer leads with at most this many; the rest of the answer covers more


SHORT_QUESTION = 4  # words: "Why?" or "Is that real?" asks about the sentence before it


def asking_regions(question: str) -> list[tuple[int, int]]:
    """Character spans of the sentences that ask (end with "?"); a short one takes the
    sentence before it along."""
    sentences = sentence_spans(question)
    regions = []
    for i, (start, end) in enumerate(sentences):
        if question[start:end].rstrip().endswith("?"):
            if len(question[start:end].split()) < SHORT_QUESTION and i > 0:
                start = sentences[i - 1][0]
            regions.append((start, end))
    return regions


def _spans(phrase: str, text_tokens: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """Every (start, end) character span where the phrase's stems occur in a row."""
    want = phrase_stems(phrase)
    n = len(want)
    return [(text_tokens[i][1], text_tokens[i + n - 1][2])
            for i in range(len(text_tokens) - n + 1) if n
            and all(text_tokens[i + k][0] == want[k] for k in range(n))]


def _inside(span: tuple[int, int], regions: list[tuple[int, int]]) -> bool:
    return any(a <= span[0] < b for a, b in regions)


def _foreign_sentences(question: str) -> list[tuple[int, int]]:
    """Spans of the sentences written in another language (no common English word in them)."""
    spans = []
    for start, end in sentence_spans(question):
        if re.search(r"[^\W\d_]", question[start:end]) and not is_english(question[start:end]):
            spans.append((start, end))
    return spans


def _foreign_stem_spans(question: str, foreign: list[tuple[int, int]], stems: tuple[str, ...]) -> list[tuple[int, int]]:
    """Spans of the words of the `foreign` sentences that start with a stem, or contain a CJK one."""
    spans = []
    for start, end in foreign:
        sentence = question[start:end].lower()
        for stem in stems:
            cjk = re.match(f"[{CJK_CHARS}]", stem)
            pattern = re.escape(stem) if cjk else rf"(?<![^\W\d_]){re.escape(stem)}"
            spans += [(start + m.start(), start + m.end()) for m in re.finditer(pattern, sentence)]
    return spans


def _topics_by_meaning(question: str, spans: list[tuple[int, int]], asking: list[tuple[int, int]],
                       topics: tuple[Topic, ...], meaning: Meaning, already: set[str]) -> list[tuple[bool, int, str, str]]:
    """Topics of the sentences in other languages (`spans`), each the nearest concept above the
    threshold (one topic a sentence: the multilingual model separates the best match, not the runners-up)."""
    if not spans:
        return []
    from cnaps.answer.semantic import embed_multilingual

    found = []
    concept_topic = [t for t in topics for _ in t.concepts]
    concepts = embed_multilingual([c for t in topics for c in t.concepts])
    neutral = embed_multilingual(list(meaning.neutral))
    for start, end in spans:
        vector = embed_multilingual([question[start:end].strip()])[0]
        scores = concepts @ vector
        best = int(scores.argmax())
        topic = concept_topic[best]
        plain = float((neutral @ vector).max())  # a plain request to enlarge raises no topic
        if scores[best] >= meaning.threshold and scores[best] >= plain + meaning.margin \
                and topic.id not in already:
            found.append((not _inside((start, end), asking), start, topic.id,
                          f'{topic.id}: a sentence means "{topic.concepts[best - concept_topic.index(topic)]}" '
                          f"(similarity {scores[best]:.2f})"))
    found.sort()  # a topic counts once, where an asking sentence raises it if one does
    return [f for i, f in enumerate(found) if f[2] not in {g[2] for g in found[:i]}]


def detect_topics(question: str, scales: list[float], degradations: list[str]) -> Topics:
    """Topics of the question, ordered by first mention; request-derived ones come after."""
    asking = asking_regions(question)
    text_tokens = tokens(question)
    topics, meaning = load_topics()
    foreign = _foreign_sentences(question)
    found: list[tuple[bool, int, str, str]] = []
    for topic in topics:
        spans = [span for p in topic.phrases for span in _spans(p, text_tokens)]
        spans += _foreign_stem_spans(question, foreign, topic.stems)
        if spans:
            start, end = min(spans, key=lambda sp: (not _inside(sp, asking), sp))
            found.append((not _inside((start, end), asking), start, topic.id,
                          f'{topic.id}: question says "{question[start:end]}"'))
    found += _topics_by_meaning(question, foreign, asking, topics, meaning, {f[2] for f in found})
    if asking:
        # The asking sentences say what is wanted; the others set the scene ("the scans are
        # clean, with no grain") and count only when nothing is asked in so many words.
        found = [f for f in found if not f[0]]
    found.sort()
    ids = [topic for _, _, topic, _ in found]
    evidence = [line for _, _, _, line in found]
    if len({s for s in scales if s > 1}) > 1 and "any-scale" not in ids:
        ids.append("any-scale")
        evidence.append("any-scale: several scales are asked")
    if scales and max(scales) > EXTREME_SCALE and "extreme-zoom" not in ids:
        ids.append("extreme-zoom")
        evidence.append(f"extreme-zoom: x{max(scales):g} is asked")
    for kind, said in (("noise", "noisy"), ("blur", "blurred"), ("jpeg", "JPEG-compressed")):
        if kind in degradations and kind not in ids:
            ids.append(kind)
            evidence.append(f"{kind}: the input is {said}")
    return Topics(ids=ids[:MAX_TOPICS], evidence=evidence[:MAX_TOPICS])
