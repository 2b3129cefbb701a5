"""What a related paper does, in one clause taken from its summary, safe to repeat.

Summaries in prompts are data and sometimes hostile: they can carry links, HTML, template syntax,
instructions to whoever reads them, or names of models the prompt never offered. This module picks
the sentence where the paper states its aim ("We propose X" becomes "Proposes X"; written
summaries usually open with it), drops every sentence that carries a link, markup or words
addressed to the reader, removes names the prompt does not give as a title, model or in the
question, and shortens the rest to one clause at a natural break. Deterministic, no language model.
"""

from __future__ import annotations

import re

from cnaps.answer.lexicon import sentence_spans
from cnaps.answer.stage1_prompt import PaperRef, ParsedPrompt

MAX_CLAUSE = 140  # characters of "what the paper does"
MAX_THAT_CLAUSE = 200  # the same for a reported claim ("Shows that ..."), which needs its verb
THAT_CLAUSE = re.compile(r"^[A-Z][a-z]+s that ")
MIN_CLAUSE = 35  # a break earlier than this would leave too little to say what the paper does
STRONG_BREAKS = re.compile(r", (?:which|so|while|whereas|where|and|but|thus|allowing|making)\b| so that ")
COMMA = re.compile(r",")
LINKING_WORDS = {"while", "when", "because", "by", "so", "including", "even", "to", "using", "via", "through"}
WEAK_BREAKS = re.compile(r" (?:by|with|using|via|through|while|and|so|for|from|in|on|into|to|at|of|including|"
                         r"even|because|before|after|when) ")
# Sentences that are not descriptions of the paper: links, markup, template syntax, or words
# addressed to whoever reads the summary (prompt injection).
LINK = re.compile(r"https?://|www\.|\b[\w-]+(?:\.[\w-]+)*\.(?:com|net|org|io|ai|dev|xyz|info|edu|gov|co|uk|de|"
                  r"fr|cn|jp|ru|me|app|site|online|page|link)\b", re.IGNORECASE)
MARKUP = re.compile(r"</?[a-zA-Z!]|\{\{|\{%|\]\(|`|#{2,}")
# Inline formatting tags carry no instruction and are dropped before sentences are judged.
FORMATTING = re.compile(r"</?(?:b|i|em|strong|sub|sup|u)>", re.IGNORECASE)
PARENTHESIS = re.compile(r"\s*\(([^()]{1,60})\)")
LATEX = re.compile(r"\\[a-zA-Z]+\{([^{}]*)\}")  # \textbf{A}uto -> Auto
ADDRESSED = re.compile(
    r"\b(ignore|disregard)\b.{0,40}\b(instructions?|rules?|above|previous)\b|\bassistant\b|"
    r"\bsystem\b\s*(note|prompt|message)?\s*:|\byou are now\b|\bplease\b|\bcite\b|\bdownload\b|"
    r"\banswer\b.{0,20}\b(user|question)\b|\bimportant\b\s*:?\s*\bnote\b",
    re.IGNORECASE)
# "We propose X" -> "Proposes X": the aim sentence of an abstract, in the third person.
AIM = re.compile(
    r"\b(?:we|this (?:paper|work|study)|our (?:paper|work))\s+(?:first\s+)?"
    r"(propose|introduce|present|develop|design)s?\b", re.IGNORECASE)
# Subjects that mark a sentence as the paper's own statement (not "the method adapts", a property).
PAPER_SUBJECT = re.compile(r"^(?:we|(?:this|our) (?:paper|work|study))$", re.IGNORECASE)
# Openings of a sentence that adds to the main contribution rather than stating it.
EXTRA = re.compile(r"^(?:in addition|additionally|moreover|furthermore|finally|also|further)\b", re.IGNORECASE)
# The subject of an abstract's sentence: "We propose", "In this paper, we show", "This work upsamples".
SUBJECT = re.compile(
    r"^(?:[^,]{0,80},\s*)?(?P<subject>(?P<we>we|the authors)|(?:this|our|the|the proposed) "
    r"(?:paper|work|study|method|approach))\s+(?:(?P<extra>also|further|additionally)\s+)?(?P<verb>[a-z]+)\b",
    re.IGNORECASE)
# A word that looks like a proper name of a model, dataset or paper: capitals or digits inside it
# (ESRGAN, ViT, GoPro, ImageNet-C). Generic acronyms of the field are not names.
NAME = re.compile(r"\b[A-Za-z0-9]*(?:[a-z0-9][A-Z]|[A-Z]{2})[\w-]*")
GENERIC_ACRONYMS = {
    "CNN", "CNNS", "GAN", "GANS", "JPEG", "PSNR", "SSIM", "MSE", "MLP", "MLPS", "RGB", "ISO", "RELU",
    "AI", "ML", "SOTA", "UNET", "DNN", "DNNS", "CPU", "GPU", "SR", "SISR", "HR", "LR", "3D", "2D", "RAW",
}
TRAILING_WORDS = {"and", "or", "of", "the", "a", "an", "to", "with", "by", "for", "in", "on", "that",
                  "from", "as", "at", "into", "while", "which", "its", "their"}


def sentences(summary: str) -> list[str]:
    """The summary's sentences, one line each, without inline formatting tags."""
    text = FORMATTING.sub("", " ".join(summary.split()))
    return [text[a:b] for a, b in sentence_spans(text, capital_next=True)]


def is_description(sentence: str) -> bool:
    """False for sentences carrying links, markup or words addressed to the reader."""
    return not (LINK.search(sentence) or MARKUP.search(sentence) or ADDRESSED.search(sentence))


def given_names(prompt: ParsedPrompt) -> set[str]:
    """Upper-cased words (and their hyphen parts) of the prompt's titles, model names and question."""
    words = set()
    for text in [prompt.question] + [m.name for m in prompt.models] + [p.title for p in prompt.related]:
        for word in re.findall(r"[\w-]+", text):
            words.add(word.upper())
            words.update(part.upper() for part in word.split("-") if part)
    return words


def _foreign_name(clause: str, allowed: set[str]) -> re.Match | None:
    for match in NAME.finditer(clause):
        word = match.group().strip("-")
        parts = [p for p in word.split("-") if p]
        if word.upper() in allowed or word.upper() in GENERIC_ACRONYMS:
            continue
        if all(p.upper() in allowed or p.upper() in GENERIC_ACRONYMS or not NAME.fullmatch(p) for p in parts):
            continue
        return match
    return None


def _third_person(sentence: str) -> str:
    """'In this work, we propose X' -> 'Proposes X'; 'This paper studies X' -> 'Studies X'."""
    match = SUBJECT.match(sentence)
    if not match:
        return sentence
    verb, rest = match.group("verb"), sentence[match.end("verb"):]
    if match.group("we"):
        if verb.endswith("y") and verb[-2:-1] not in tuple("aeiou"):
            verb = verb[:-1] + "ie"
        verb += "es" if verb.endswith(("s", "sh", "ch", "x", "z", "o")) else "s"
    return verb[0].upper() + verb[1:] + rest


def _shorten(clause: str) -> str:
    """One clause of at most MAX_CLAUSE characters (MAX_THAT_CLAUSE for a reported claim), cut at
    the latest natural break that fits
    (a colon or semicolon always ends it), else at a word boundary."""
    clause = clause.rstrip(" .!?")
    for mark in (": ", "; ", " - ", " — "):
        cut = clause.find(mark)
        if cut >= MIN_CLAUSE:
            clause = clause[:cut]
    # "Shows that X can improve Y": cut short, the claim loses its verb; allow it more room
    limit = MAX_THAT_CLAUSE if THAT_CLAUSE.match(clause) else MAX_CLAUSE
    if len(clause) > limit:
        # a strong break anywhere past the start, else the latest comma, else the latest linking
        # word in the second half, else the last whole word
        for marks, earliest in ((STRONG_BREAKS, MIN_CLAUSE), (COMMA, limit / 2), (WEAK_BREAKS, limit / 2)):
            cuts = [m.start() for m in marks.finditer(clause) if earliest <= m.start() <= limit]
            if cuts:
                clause = clause[:max(cuts)]
                break
        else:
            clause = clause[:limit].rsplit(" ", 1)[0]
        if marks is WEAK_BREAKS or not cuts:
            # a linking word among the last three means its phrase was cut short: drop it
            words = clause.split(" ")
            tail = [i for i, word in enumerate(words) if i >= len(words) - 3 and word.lower() in LINKING_WORDS]
            if tail and len(" ".join(words[:tail[0]])) >= MIN_CLAUSE:
                clause = " ".join(words[:tail[0]])
    words = clause.rstrip(" ,").split(" ")
    while len(words) > 3 and words[-1].lower().strip(",") in TRAILING_WORDS:
        words.pop()
    clause = " ".join(words).rstrip(" ,")
    if clause.count("(") > clause.count(")"):  # cut inside a parenthesis: drop its opening
        clause = clause[:clause.rfind("(")].rstrip(" ,")
    return clause


def _before_last_break(text: str) -> str:
    """'... generated samples and report' -> '... generated samples': a phrase cut short loses
    its unfinished last part."""
    cuts = [m.start() for m in WEAK_BREAKS.finditer(text.rstrip()) if m.start() >= MIN_CLAUSE]
    return text[:max(cuts)] if cuts else text


def _aim_rank(sentence: str) -> int:
    """0: the paper states its aim ("we propose"); 1: the paper is the subject ("this work
    upsamples"), unless it is an extra contribution ("the authors also release"); 2: others,
    where summary order decides (written summaries open with what the paper does)."""
    subject = SUBJECT.match(sentence)
    if (not subject or subject.group("extra") or EXTRA.match(sentence)
            or not PAPER_SUBJECT.match(subject.group("subject"))):
        return 2
    return 0 if AIM.search(sentence) else 1


def what_it_does(paper: PaperRef, allowed_names: set[str]) -> str | None:
    """The paper's aim in one clause from its summary, or None when no sentence is safe to repeat."""
    candidates = [s for s in sentences(LATEX.sub(r"\1", paper.summary)) if is_description(s)]
    candidates.sort(key=_aim_rank)  # stable: summary order within a rank
    for sentence in candidates:
        clause = _shorten(_third_person(sentence))
        clause = PARENTHESIS.sub(lambda m: "" if _foreign_name(m.group(1), allowed_names) else m.group(), clause)
        for _ in range(3):  # drop names given only by the summary ("Defines NameA and NameB, benchmarks")
            name = _foreign_name(clause, allowed_names)
            if not name:
                break
            appositive = re.compile(re.escape(name.group()) + r"(?:\s+(?:and|or)\s+[\w-]+)*,\s+")
            if appositive.match(clause, name.start()):
                clause = clause[:name.start()] + appositive.sub("", clause[name.start():], count=1)
            else:  # keep the part before the name, up to the last break, when it still says something
                clause = _shorten(_before_last_break(clause[:name.start()]))
        if _foreign_name(clause, allowed_names) or len(clause.split()) < 6:
            continue
        clause = clause[0].upper() + clause[1:]
        return clause
    return None


def paper_text(paper: PaperRef) -> str:
    """What is embedded: the title and the summary's descriptive sentences."""
    kept = [s for s in sentences(paper.summary) if is_description(s)]
    return " ".join([paper.title.rstrip(".") + "."] + kept)
