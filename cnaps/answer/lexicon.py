"""Word-stem phrase matching shared by the classifier and the relevance judge, and the one
sentence splitter of the answer side.

Both stages compare free text (a question, a paper summary) with the catalog's phrases. Matching
on crude word stems makes "enlarged", "enlarging" and "enlarge" one word and "super-resolution"
the same as "super resolution", without a language model, so results are deterministic.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
# Kana, CJK ideographs and Hangul: scripts written without spaces between words (Korean aside)
CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
SUFFIXES = ("ing", "ly", "ed", "est", "er", "es", "s", "y", "e")


def stem(word: str) -> str:
    """A crude stem: strip one common suffix, then a doubled final consonant (bigger -> big)."""
    word = word.lower()
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)]
            if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeiouls":
                word = word[:-1]
            break
    return word


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(stem, start, end) of every word of `text`, positions in the original string."""
    lowered = text.lower().replace("×", "x")
    return [(stem(m.group()), m.start(), m.end()) for m in WORD.finditer(lowered)]


def phrase_stems(phrase: str) -> tuple[str, ...]:
    return tuple(s for s, _, _ in tokens(phrase))


def find_phrase(phrase: str, text_tokens: list[tuple[str, int, int]]) -> tuple[int, int] | None:
    """(start, end) character span of the first occurrence of `phrase` in the tokenised text."""
    want = phrase_stems(phrase)
    if not want:
        return None
    n = len(want)
    for i in range(len(text_tokens) - n + 1):
        if all(text_tokens[i + k][0] == want[k] for k in range(n)):
            return text_tokens[i][1], text_tokens[i + n - 1][2]
    return None


# A sentence ends at . ! ? (not at the dot of "2.5x") or a CJK end mark, with any end marks after it.
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|[。！？]+")
SENTENCE_START = re.compile(r"\s*[A-Z0-9\"'(]")


def sentence_spans(text: str, capital_next: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, end marks included, spaces between left out.
    With `capital_next`, a sentence ends only where the next one starts with a capital, a digit
    or a quote: paper summaries have abbreviations ("e.g. the"), questions often have no capitals."""
    spans, start = [], 0
    for m in SENTENCE_END.finditer(text):
        if capital_next and m.end() < len(text) and not SENTENCE_START.match(text, m.end()):
            continue
        spans.append((start, m.end()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    out = []
    for a, b in spans:  # trim the spaces around each sentence
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out


# Common English words: a sentence with none of them is in another language.
ENGLISH_WORDS = frozenset("""the a an i my me it is are was be can could will would should do does how
what why which to of in on for with and or but not this that these our you your from at as""".split())


# ... of which these are also words of other languages ("a" in Spanish, "was" in German, "in" in
# Italian): a sentence with only these is English when they are a good part of it ("I was in a
# hurry", "Make a picture bigger"), not when a few stand in a long sentence ("Vorrei triplicarne ... a leggere ... in un").
SHARED_WORDS = frozenset("a an as do i in is me on was will".split())
SHARED_SHARE = 0.3


# English words are written in ASCII ("café" aside): a sentence where this share of the words has
# other letters is in another language, whatever English-looking words it has (Vietnamese "to"
# is "big": "Tôi cần phóng to gấp đôi").
ACCENTED_SHARE = 0.4


def is_english(sentence: str) -> bool:
    words = re.findall(r"[^\W\d_]+", sentence.lower())
    if words and sum(not w.isascii() for w in words) >= ACCENTED_SHARE * len(words):
        return False
    if ENGLISH_WORDS.intersection(words) - SHARED_WORDS:
        return True
    shared = sum(w in SHARED_WORDS for w in words)
    return bool(shared) and (shared >= SHARED_SHARE * len(words) or len(words) <= 4)
