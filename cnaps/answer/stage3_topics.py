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

import re

from cnaps.answer.lexicon import phrase_stems, tokens
from cnaps.answer.records import Topics

# Topic id -> phrases that raise it. Kept short and general: words people use, not prompt text.
TOPIC_PHRASES: dict[str, tuple[str, ...]] = {
    "natural": ("natural", "realistic", "clean result", "clean results", "convincing",
                "impressive", "believable", "lifelike", "look real", "looks real", "so good",
                "so well", "plausible", "clean"),
    "noise": ("noise", "noisy", "grain", "grainy", "speckle", "iso", "low light", "denoise"),
    # not "text" alone: "text-to-image" is not about text in a picture
    "edges": ("edge", "the text", "label text", "small text", "text crisp", "text sharp",
              "readable", "legible", "sharp", "letter", "lettering", "font", "line", "jagged",
              "crisp", "stroke", "writing", "outline", "aliasing", "pixelated", "staircase", "soft",
              "blurry result", "look blurry"),
    "extreme-zoom": ("extreme", "huge", "enormous", "massive", "smooth", "mush", "mushy",
                     "waxy", "smudge", "smear", "watercolor", "watercolour", "plastic",
                     "how far", "that far", "far beyond", "very large"),
    "any-scale": ("one network", "one model", "single network", "single model",
                  "same network", "same model", "any scale", "any factor", "any size",
                  "any resolution", "arbitrary", "continuous", "non integer", "fractional",
                  "in between", "different scales", "every scale", "retrain", "retraining",
                  "odd factor", "odd factors"),
    "invented": ("invent", "hallucinate", "hallucination", "make up", "made up", "fake",
                 "missing", "guess", "fabricate", "real detail", "trust", "come from",
                 "comes from", "accurate", "faithful", "recover", "add detail",
                 "create detail", "generate detail", "honest", "really there", "actually there"),
    "bicubic": ("bicubic", "interpolation", "overkill", "worth it", "plain resize",
                "photoshop"),
    "speed": ("fast", "speed", "slow", "how long", "real time", "realtime", "gpu", "cpu",
              "memory", "seconds", "minutes", "latency", "throughput", "on a laptop",
              "on my laptop",
              "large image", "large images", "big image", "4k", "8k", "batch"),
    "limits": ("limitation", "the limit", "the limits", "its limits", "a limit", "fail",
               "failure", "break", "breaks", "maximum", "risk",
               "drawback", "downside", "weakness", "caveat", "catch", "go wrong", "pitfall"),
}
TOPIC_NAMES = {
    "natural": "why the result looks natural",
    "noise": "noise",
    "edges": "sharp edges and text",
    "extreme-zoom": "extreme zoom and smoothness",
    "any-scale": "one network for any scale",
    "invented": "whether missing detail is invented",
    "bicubic": "the gain over plain interpolation",
    "speed": "speed and image size",
    "limits": "limits",
}
EXTREME_SCALE = 8.0  # above this the input holds too little for detail: the answer says so
MAX_TOPICS = 3  # the answer leads with at most this many; the rest of the answer covers more


# A sentence: up to its end mark (a dot inside a number, "2.5x", does not end one).
SENTENCE = re.compile(r"(?:[^.!?]|\.(?!\s|$))+[.!?]*")
SHORT_QUESTION = 4  # words: "Why?" or "Is that real?" asks about the sentence before it


def asking_regions(question: str) -> list[tuple[int, int]]:
    """Character spans of the sentences that ask (end with "?"); a short one takes the
    sentence before it along."""
    sentences = [m.span() for m in SENTENCE.finditer(question)]
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


def detect_topics(question: str, scales: list[float], degradations: list[str]) -> Topics:
    """Topics of the question, ordered by first mention; request-derived ones come after."""
    asking = asking_regions(question)
    text_tokens = tokens(question)
    found: list[tuple[bool, int, str, str]] = []
    for topic, phrases in TOPIC_PHRASES.items():
        spans = [span for p in phrases for span in _spans(p, text_tokens)]
        if spans:
            start, end = min(spans, key=lambda sp: (not _inside(sp, asking), sp))
            found.append((not _inside((start, end), asking), start, topic,
                          f'{topic}: question says "{question[start:end]}"'))
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
    if "noise" in degradations and "noise" not in ids:
        ids.append("noise")
        evidence.append("noise: the input is noisy")
    return Topics(ids=ids[:MAX_TOPICS], evidence=evidence[:MAX_TOPICS])
