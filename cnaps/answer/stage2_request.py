"""Stage 2, the request: the magnification factors and the input's degradations asked for.

A small grammar rather than a list of per-phrase patterns, in four steps:

1. **Tokenise** the question into words, numbers (digits or number words, "one and a half"),
   number forms glued to a sign (`8x`, `x4`, `48x48`, `450%`, `96px`, `10-fold`) and punctuation,
   each with its character span; split it into **clauses** at sentence ends, commas and
   subordinating conjunctions ("but", "when", "because"), so cue words act only nearby.
2. **Recognise number expressions.** A factor has a form of its own: a multiplication sign
   (8x, x4, 7×), "N times" with a comparative or a size noun ("four times sharper", "three times
   that resolution") or after a scaling verb ("enlarged nine times"), "N-fold", "by a factor of N",
   "enlarge it by 3", a percentage of the size ("to 450%"), a multiplier word ("double", "tripled",
   "twice the size"), or two pixel sizes ("from 64 to 512 px"). Anything else is not a factor and
   says what it is: an image size (48x48, a 4x6 print), a year, a count, ISO, megapixels, dpi, a
   model name (Pixel 7, Set5, 4K).
3. **Attach a role** from cue words in the factor's clause: a factor that is negated ("not 2x but
   7x", "instead of 4x") or belongs to someone else's habit, tool or instrument ("older upscalers
   only did 2x", "the usual 4x preset", "I stop at 200%", "40x optical magnification") is a
   contrast, not a request; a factor from the past ("years ago ... at 2x") is one only when another
   factor is asked now. Once contrasted, the same factor is a contrast wherever it is repeated.
4. **Degradations** (noise, JPEG, blur) come from a small lexicon and count only when the clause
   says the *input* has them: not negated ("no grain", "noise-free", "smooth rather than blocky"),
   not describing the output ("afterwards", "the result", "will it look blurry?"). Low light and
   high ISO imply sensor noise unless the input is said to be clean.

Every reading keeps the words it came from (`Evidence`) and every number that is not a factor says
why (`Ignored`), so a wrong reading can be traced to the one rule that made it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from cnaps.answer.catalog import load_degradation_meaning, load_degradations, load_grammar
from cnaps.answer.lexicon import CJK_CHARS
from cnaps.answer.numbers import find_factors, fold_accents, gloss, size_stems
from cnaps.answer.records import (
    DEGRADATION_ORDER,
    Degradation,
    Evidence,
    Ignored,
    Request,
)

# ---------------------------------------------------------------- lexicon: catalog/grammar.toml

GRAMMAR = load_grammar()
UNITS = dict(GRAMMAR["units"])
TENS = dict(GRAMMAR["tens"])
NUMBER_WORDS = {**{w: float(v) for w, v in {**UNITS, **TENS}.items()}, "hundred": 100.0}
FRACTIONS = dict(GRAMMAR["fractions"])
MULTIPLIERS = dict(GRAMMAR["multipliers"])

SCALING_VERBS = tuple(GRAMMAR["scaling_verbs"])
INCREASE_VERBS = tuple(GRAMMAR["increase_verbs"])
COMPARATIVES = frozenset(GRAMMAR["comparatives"])
SIZE_ADJECTIVES = frozenset(GRAMMAR["size_adjectives"])
FACTOR_NOUNS = frozenset(GRAMMAR["factor_nouns"])
ADJECTIVES = frozenset(GRAMMAR["adjectives"])
REDUCTIONS = frozenset(GRAMMAR["reductions"])
SIZE_NOUNS = frozenset(GRAMMAR["size_nouns"])
DETERMINERS = frozenset(GRAMMAR["determiners"])
TARGET_CUES = frozenset(GRAMMAR["target_cues"])
PIXEL_UNITS = frozenset(GRAMMAR["pixel_units"])
PHYSICAL_UNITS = frozenset(GRAMMAR["physical_units"])
QUANTITY_UNITS = frozenset(GRAMMAR["quantity_units"])
CLAUSE_WORDS = frozenset(GRAMMAR["clause_words"])
SUBJECTS = frozenset(GRAMMAR["subjects"])

HABIT_WORDS = frozenset(GRAMMAR["habit_words"])
LIMIT_PHRASES = [tuple(p) for p in GRAMMAR["limit_phrases"]]
ALTERNATIVE_PHRASES = [tuple(p) for p in GRAMMAR["alternative_phrases"]]
ONLY_VERBS = tuple(GRAMMAR["only_verbs"])
OTHER_TOOL_WORDS = frozenset(GRAMMAR["other_tool_words"])
QUESTION_OPENERS = frozenset(GRAMMAR["question_openers"])
TOOL_NOUNS = tuple(GRAMMAR["tool_nouns"])
INSTRUMENTS = tuple(GRAMMAR["instruments"])
IMAGE_NOUNS = tuple(GRAMMAR["image_nouns"])
DISPLAY_NOUNS = tuple(GRAMMAR["display_nouns"])
AFTER_CUES = frozenset(GRAMMAR["after_cues"])
NEGATORS = frozenset(GRAMMAR["negators"])
WANT_VERBS = frozenset(GRAMMAR["want_verbs"])


@functools.cache
def degradation_lexicon() -> dict[Degradation, list[tuple[str, ...]]]:
    """Degradation phrases (catalog/degradations.toml) as sequences of whole lowercase words."""
    return {d.id: d.words for d in load_degradations().values()}


FILE_FORMAT_WORDS = frozenset(GRAMMAR["file_format_words"])
QUALITY_WORDS = frozenset(GRAMMAR["quality_words"])
QUALITY_PAIRS = {(w, "quality") for w in ("full", "high", "max", "maximum", "best", "top")}
DEG_NEGATORS = frozenset(GRAMMAR["deg_negators"])
SCOPE_STOPS = frozenset(GRAMMAR["scope_stops"])
OUTPUT_WORDS = frozenset(GRAMMAR["output_words"])
CREATION_VERBS = tuple(GRAMMAR["creation_verbs"])
CREATION_NOUNS = tuple(GRAMMAR["creation_nouns"])
MODALS = frozenset(GRAMMAR["modals"])
RESULT_VERBS = frozenset(GRAMMAR["result_verbs"])
WORRY_WORDS = tuple(GRAMMAR["worry_words"])
GENERATIVE_WORDS = tuple(GRAMMAR["generative_words"])
LOW_LIGHT_NOUNS = tuple(GRAMMAR["low_light_nouns"])
TASK_VERBS = tuple(GRAMMAR["task_verbs"])
COPULAS = frozenset(GRAMMAR["copulas"])
SHOOTING_VERBS = tuple(GRAMMAR["shooting_verbs"])
CJK_NEGATION_BEFORE = r"[不没無无別别非]"  # 不要糊, 没有噪点
CJK_NEGATION_AFTER = r"ない|なし|なく|ません|없|않|無し"  # ノイズはない, ノイズはなく, ぼけていません, 노이즈가 없어요
# A fear of the output: before the word in Chinese (怕放大后更糊, 担心会变糊), after it in Korean and
# Japanese ("노이즈가 생길까 봐", "ぼやけるか心配"); "노이즈가 많아서 걱정" worries about the input.
CJK_NO_NEED = r"필요(는|가|도)?\s*없|必要(は|も)?(ない|ありません|ないです)|いりません|不需要|不用|没必要|沒必要"
CJK_FEAR_BEFORE = r"怕|担心|擔心"
CJK_FEAR_AFTER = r"까\s?봐|か心配|のが心配|かが心配"
SUFFICIENT_WORDS = frozenset(GRAMMAR["sufficient_words"])
CONTENT_WORDS = frozenset(GRAMMAR["content_words"])
IRREGULAR_PAST = frozenset(GRAMMAR["irregular_past"])
NON_FINITE_BEFORE = frozenset(GRAMMAR["non_finite_before"])
PAST_ADVERBS = frozenset(GRAMMAR["past_adverbs"])
THIRD_PERSONS = frozenset(GRAMMAR["third_persons"])
SCALE_PREPOSITIONS = frozenset(GRAMMAR["scale_prepositions"])
PERSON_NOUNS = tuple(GRAMMAR["person_nouns"])
ASKER_WORDS = frozenset(GRAMMAR["asker_words"])
ABSENCE_WORDS = frozenset(GRAMMAR["absence_words"])
CAPTURE_DEVICES = tuple(GRAMMAR["capture_devices"])
UNITS_PER_INCH = {"in": 1.0, "inch": 1.0, "inches": 1.0, '"': 1.0, "cm": 2.54, "mm": 25.4}
ELISION = re.compile(r"^\w{1,2}'")  # French and Italian "l'agrandir", "d'ingrandire"
# "größer", "agrandir" (the alphabetic ones: CJK stems sit inside words, not at their start)
FOREIGN_SIZE_STEMS = tuple(fold_accents(s) for s in size_stems() if all(ord(c) < 0x2E80 for c in s))
HIGH_ISO = 3200  # ISO at or above this is high enough that sensor noise goes without saying

# ---------------------------------------------------------------- tokens

TRIM = "\"'“”‘’«»()[]{}.,;:!?…¿¡，。！？、；：「」（）"
CLAUSE_MARKS = set(".;:!?()[]{}…–—,，。！？、；：（）")
NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
GLUED = [  # (kind, pattern) for one whitespace-free piece of text
    ("size", re.compile(rf"(?P<a>{NUMBER})\s*[x×]\s*(?P<b>{NUMBER})(?P<unit>px|pixels?|in|cm|mm)?")),
    ("xnum", re.compile(rf"(?P<a>{NUMBER})[x×]")),
    ("xnum", re.compile(rf"[x×](?P<a>{NUMBER})")),
    ("pct", re.compile(rf"(?P<a>{NUMBER})%")),
    ("fold", re.compile(rf"(?P<a>{NUMBER})fold")),
    ("num", re.compile(rf"(?P<a>{NUMBER})(?P<unit>px|p|k|mp|dpi|ppi|s|ms|gb|mb|st|nd|rd|th|'?s|cm|mm|m)?")),
]


@dataclass
class Token:
    text: str
    start: int
    end: int
    kind: str  # word | num | xnum | size | pct | fold | name | x | mark
    low: str = ""
    value: float | None = None
    value2: float | None = None  # a size's second dimension
    unit: str = ""
    hyphen_after: bool = False  # "double-check", "noise-free", "10-fold"
    from_words: bool = False  # a number written in words
    rule: str = ""  # how a factor found by cnaps.answer.numbers was read ("fois" after a number (fr))
    capitalised: bool = False
    clause: int = 0


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _piece(text: str, start: int) -> Token:
    """Classify one whitespace- and hyphen-free piece of the question."""
    low = text.lower().replace("½", ".5")  # 1½ times
    if low in ("x", "×"):
        return Token(text, start, start + len(text), "x", "x")
    if re.search(r"\d", low):
        if low in ("x86", "x64", "x32", "x86_64"):
            return Token(text, start, start + len(text), "name", low)  # processor architectures
        for kind, pattern in GLUED:
            m = pattern.fullmatch(low)
            if m:
                token = Token(text, start, start + len(text), kind, low, _number(m.group("a")))
                if kind == "size":
                    token.value2, token.unit = _number(m.group("b")), m.group("unit") or ""
                elif kind == "num":
                    token.unit = (m.group("unit") or "").lstrip("'")
                return token
        if re.fullmatch(r"\d+:\d+", low):
            return Token(text, start, start + len(text), "ratio", low)
        return Token(text, start, start + len(text), "name", low)  # Set5, x4plus, RTX3090
    if low.endswith("fold") and low[:-4] in NUMBER_WORDS:  # sixfold, tenfold
        return Token(text, start, start + len(text), "fold", low, NUMBER_WORDS[low[:-4]], from_words=True)
    return Token(text, start, start + len(text), "word", low.replace("’", "'"),
                 capitalised=text[:1].isupper())


def tokenize(question: str) -> list[Token]:
    """Tokens of the question with their character spans; see the module docstring.

    Factors written the way other languages write them ("vierfach", "cinq fois", "三倍") are found
    first by `cnaps.answer.numbers` and become single factor tokens; foreign function words the cues
    need ("nur", "sans") are glossed in English in `low`, keeping the user's text."""
    factors = find_factors(question, SCALING_VERBS)
    blanked = list(question)
    for f in factors:
        blanked[f.start:f.end] = " " * (f.end - f.start)
    out = [Token(question[f.start:f.end], f.start, f.end, "xnum", f"{fmt_value(f.value)}x", f.value, rule=f.rule)
           for f in factors]
    out += _tokens("".join(blanked))
    out.sort(key=lambda t: t.start)
    glossary = gloss()
    for t in out:
        if t.kind == "word" and t.low in glossary:
            t.low = glossary[t.low]
    return _sizes_with_by(_merge_number_words(out))


def fmt_value(value: float) -> str:
    return f"{value:g}"


# Kana, CJK ideographs and Hangul: a run of them is split from digits and Latin letters around it.
CJK_RUN = re.compile(f"([{CJK_CHARS}]+)")


def _tokens(question: str) -> list[Token]:
    out: list[Token] = []
    # Full-width punctuation separates like a space does: CJK text has no spaces between words.
    for chunk in re.finditer(r"[^\s，。！？、；：「」（）]+|[，。！？、；：「」（）]", question):
        text, base = chunk.group(), chunk.start()
        lead = len(text) - len(text.lstrip(TRIM))
        core = text.strip(TRIM)
        trail_at = lead + len(core)
        for i, ch in enumerate(text[:lead]):
            out.append(Token(ch, base + i, base + i + 1, "mark", ch))
        # Split the core at hyphens (kept as a flag), dashes and slashes (marks of their own).
        position = base + lead
        for part in re.split(r"([-–—/])", core):
            if not part:
                continue
            if part == "-":
                if out:
                    out[-1].hyphen_after = True
            elif part in "–—/":
                out.append(Token(part, position, position + 1, "mark", part))
            else:
                # CJK text runs into numbers with no space ("295×413像素的"): the size is a token
                at = position
                for run in CJK_RUN.split(part):
                    if run:
                        out.append(_piece(run, at))
                        at += len(run)
            position += len(part)
        for i, ch in enumerate(text[trail_at:]):
            out.append(Token(ch, base + trail_at + i, base + trail_at + i + 1, "mark", ch))
    return out


def _sizes_with_by(tokens: list[Token]) -> list[Token]:
    """ "200 by 200 px", "8 by 10 inches": "by" between two numbers is a size's multiplication sign
    (when a unit follows or both sides are image-sized), not the "by" of "enlarge by 3"."""
    for i in range(1, len(tokens) - 1):
        a, by, b = tokens[i - 1], tokens[i], tokens[i + 1]
        if by.low == "by" and a.kind == b.kind == "num" and not a.from_words and not b.from_words:
            after = tokens[i + 2].low if i + 2 < len(tokens) else ""
            if after in PIXEL_UNITS | PHYSICAL_UNITS or min(a.value, b.value) >= 16:
                by.kind, by.low = "x", "x"
    return tokens


def _merge_number_words(tokens: list[Token]) -> list[Token]:
    """Number words become number tokens: "nine", "twenty-four", "one and a half", "a hundred"."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind == "word" and t.low in NUMBER_WORDS:
            value, j = NUMBER_WORDS[t.low], i + 1
            if t.low in TENS and j < len(tokens) and tokens[j].low in UNITS and t.hyphen_after:
                value, j = value + UNITS[tokens[j].low], j + 1
            if j < len(tokens) and tokens[j].low == "hundred":
                value, j = value * 100, j + 1
            # "one and a half", "two and a quarter"
            if [x.low for x in tokens[j:j + 2]] == ["and", "a"] and j + 2 < len(tokens) \
                    and tokens[j + 2].low in FRACTIONS:
                value, j = value + FRACTIONS[tokens[j + 2].low], j + 3
            elif [x.low for x in tokens[j:j + 2]] == ["and", "three"] and j + 2 < len(tokens) \
                    and tokens[j + 2].low in ("quarter", "quarters"):  # "two and three-quarter times"
                value, j = value + 0.75, j + 3
            last = tokens[j - 1]
            out.append(Token(" ".join(x.text for x in tokens[i:j]), t.start, last.end, "num", t.low, value,
                             hyphen_after=last.hyphen_after, from_words=True))
            i = j
            continue
        out.append(t)
        i += 1
    return out


def _assign_clauses(tokens: list[Token]) -> None:
    """Number the clauses. A comma, "and" or "or" that continues a list of factors
    ("2x, 3.5x and 6x", "2x or 4x") does not start a new clause."""
    clause = 0
    for i, t in enumerate(tokens):
        boundary = False
        if t.kind == "mark" and t.low in CLAUSE_MARKS:
            boundary = t.low != "," or not _list_continues(tokens, i + 1)
        elif t.low in CLAUSE_WORDS:
            boundary = True
        elif t.low in ("and", "or") and i + 1 < len(tokens) and tokens[i + 1].low in SUBJECTS:
            boundary = True
        if boundary:
            clause += 1
        t.clause = clause


def _list_continues(tokens: list[Token], i: int) -> bool:
    while i < len(tokens) and tokens[i].low in ("and", "or", "then"):
        i += 1
    return i < len(tokens) and (tokens[i].kind in ("num", "xnum", "pct", "fold", "x")
                                or tokens[i].low.rstrip("ds") in MULTIPLIERS)


# ---------------------------------------------------------------- factor readings

@dataclass
class Reading:
    value: float
    first: int  # token indices of the expression, inclusive
    last: int
    rule: str
    anchor: int = -1  # the token whose clause decides the role (default: first)


class _Parser:
    def __init__(self, question: str):
        self.question = question
        self.dated: set[float] = set()  # factors of a past event, kept because nothing else is asked
        self.tokens = tokenize(question)
        _assign_clauses(self.tokens)
        self.readings: list[Reading] = []
        self.ignored: list[Ignored] = []
        self.explained: set[int] = set()  # number tokens already read or ignored

    # -- helpers
    def low(self, i: int) -> str:
        return self.tokens[i].low if 0 <= i < len(self.tokens) else ""

    def same_clause(self, i: int, j: int) -> bool:
        return 0 <= j < len(self.tokens) and self.tokens[i].clause == self.tokens[j].clause

    def words_before(self, i: int, n: int) -> list[int]:
        """Indices of up to `n` tokens before `i` in its clause, nearest first."""
        return [j for j in range(i - 1, max(i - n, 0) - 1, -1) if self.same_clause(i, j)]

    def scaling_verb_before(self, i: int, n: int = 7) -> str | None:
        for j in self.words_before(i, n):
            if self.tokens[j].kind == "word" and self.tokens[j].low.startswith(SCALING_VERBS) \
                    and not self.tokens[j].low.endswith(("er", "ers")):
                return self.tokens[j].text
        return None

    def size_word_in_sentence(self, i: int, n: int = 10) -> str | None:
        """A scaling verb or size adjective up to `n` tokens before `i` in its sentence:
        "enlarged my portrait 5 times", "How big can I make it, maybe 8 times?" """
        for j in range(i - 1, max(i - n, 0) - 1, -1):
            t = self.tokens[j]
            if t.kind == "mark" and t.low in ".!?;":
                break
            if t.kind == "word" and (t.low in SIZE_ADJECTIVES or t.low.startswith(SCALING_VERBS)
                                     and not t.low.endswith(("er", "ers"))):
                return t.text
        return None

    def is_glossed(self, i: int) -> bool:
        """The word at `i` is another language's, read as its English gloss ("nicht" as "not")."""
        return self.tokens[i].text.lower() != self.low(i)

    def foreign_size_word(self, i: int) -> bool:
        """ "agrandir", "l'ingrandimento", "größer": a scaling verb or size word of another language."""
        return self.tokens[i].kind == "word" and \
            fold_accents(ELISION.sub("", self.low(i))).startswith(FOREIGN_SIZE_STEMS)

    def pixels_per(self, i: int) -> bool:
        """ "150 pixels per inch" at number `i`: a print density."""
        return self.low(i + 1) in PIXEL_UNITS and self.low(i + 2) == "per"

    def increase_verb_before(self, i: int) -> bool:
        """ "enlarge/increase/grow by 50%" adds 50%; "resize/scale/zoom by 50%" gives 50%."""
        return any(self.low(j).startswith(INCREASE_VERBS) for j in self.words_before(i, 7))

    def span(self, first: int, last: int) -> tuple[str, int, int]:
        start, end = self.tokens[first].start, self.tokens[last].end
        return self.question[start:end], start, end

    def ignore(self, first: int, last: int, why: str) -> None:
        text, start, end = self.span(first, last)
        self.ignored.append(Ignored(text=text, start=start, end=end, why=why))
        self.explained.update(range(first, last + 1))

    def read(self, value: float, first: int, last: int, rule: str, anchor: int = -1) -> None:
        self.readings.append(Reading(value, first, last, rule, anchor if anchor >= 0 else first))
        self.explained.update(range(first, last + 1))

    # -- step 2: number expressions
    def factors(self) -> None:
        tokens = self.tokens
        for i, t in enumerate(tokens):
            if i in self.explained:
                continue
            nxt = self.low(i + 1)
            if t.kind == "size" or t.kind == "num" and self.low(i + 1) == "x" \
                    and i + 2 < len(tokens) and tokens[i + 2].kind == "num":
                continue  # 48x48, 640 x 480: sizes, read by sizes_and_ratios
            elif t.kind == "xnum" or (t.kind == "num" and tokens[i + 1:i + 2] and tokens[i + 1].kind == "x"):
                last = i if t.kind == "xnum" else i + 1
                self.factor_or_reduction(t.value, i, last, t.rule or "number with a multiplication sign")
            elif t.kind == "x" and i + 1 < len(tokens) and tokens[i + 1].kind == "num" \
                    and tokens[i - 1:i] and tokens[i - 1].kind != "num":
                self.factor_or_reduction(tokens[i + 1].value, i, i + 1, "number with a multiplication sign")
            elif t.kind == "fold":
                self.read(t.value, i, i, "N-fold")
            elif t.kind == "num" and nxt == "fold":
                self.read(t.value, i, i + 1, "N-fold")
            elif t.kind == "num" and nxt == "times":
                self.times(i)
            elif t.kind == "pct" or (t.kind == "num" and nxt in ("percent", "%")):
                self.percent(i, i if t.kind == "pct" else i + 1)
            elif t.kind == "word" and t.low in FACTOR_NOUNS:
                self.factor_of(i)
            elif t.kind == "word" and self.multiplier(t) is not None:
                self.multiplier_word(i)
            elif t.kind == "num" and self.low(i - 1) == "by":
                self.by_number(i)
        self.range_starts()
        self.sizes_and_ratios()
        self.other_numbers()

    def range_starts(self) -> None:
        """The first end of a range whose second end was read as a factor: "2 to 6 times",
        "between 2 and 6 times", "2 or 3 times", "2-6x": the bare number takes the factor's form."""
        for r in list(self.readings):
            j = r.first
            before = self.tokens[j - 2] if j >= 2 else None
            joined = self.low(j - 1) in ("to", "or") or self.low(j - 1) == "and" and self.low(j - 3) == "between"
            start = j - 2
            if not joined and j >= 1 and self.tokens[j - 1].kind == "num" and self.tokens[j - 1].hyphen_after:
                before, start, joined = self.tokens[j - 1], j - 1, True
            if joined and before is not None and before.kind == "num" and not before.unit \
                    and start not in self.explained and 1 < before.value < r.value:
                self.read(before.value, start, start, f'the lower end of a range up to "{self.span(r.first, r.last)[0]}"',
                          anchor=r.anchor)

    def factor_or_reduction(self, value: float, first: int, last: int, rule: str) -> None:
        if self.low(last + 1) in REDUCTIONS:
            self.ignore(first, last + 1, "a reduction, not an enlargement")
        else:
            self.read(value, first, last, rule)

    def times(self, i: int) -> None:
        value, after = self.tokens[i].value, self.low(i + 2)
        if after in COMPARATIVES:
            self.read(value, i, i + 2, f'"N times" + "{after}"')
        elif after == "as" and self.low(i + 3) in ADJECTIVES:
            self.read(value, i, i + 3, f'"N times as {self.low(i + 3)}"')
        elif after in SIZE_NOUNS:
            self.read(value, i, i + 2, f'"N times" + "{after}"')
        elif after in DETERMINERS and (size := next((k for k in (i + 3, i + 4) if self.low(k) in SIZE_NOUNS), None)):
            self.read(value, i, size, f'"N times {after} ... {self.low(size)}"')  # 5 times their scan size
        elif after in REDUCTIONS:
            self.ignore(i, i + 2, "a reduction, not an enlargement")
        elif verb := self.size_word_in_sentence(i):
            self.read(value, i, i + 1, f'"N times" after "{verb}" in the same sentence')
        elif self.tokens[i].from_words:
            self.explained.add(i)  # "three times" a day: a count of events, not worth listing
        else:
            self.ignore(i, i + 1, "'N times' with no size word or scaling verb: a count of events")

    def percent(self, i: int, last: int) -> None:
        value = self.tokens[i].value
        after = self.low(last + 1)
        following = [self.low(j) for j in range(last + 1, last + 5) if self.same_clause(last, j)]
        sized = (self.scaling_verb_before(i) is not None or after in COMPARATIVES
                 or any(w in SIZE_NOUNS for w in following)  # "150 percent of the original size"
                 or not following  # "I want 700%.": nothing else in the clause it could measure
                 or any(self.low(j) in ("to", "at") for j in self.words_before(i, 2))
                 # "ampliarla al 300 %", "auf 250 % vergrößern": a scaling verb of another language
                 or any(self.foreign_size_word(j) for j in self.words_before(i, 4)))
        if not sized:
            self.ignore(i, last, "a percentage that is not about size")
        elif value < 100 and (after in COMPARATIVES or self.low(i - 1) == "by" and self.increase_verb_before(i)):
            self.read(1 + value / 100, i, last, "N% larger (an increase by N%)")
        elif value <= 100:
            self.ignore(i, last, "a percentage of at most 100%: not an enlargement")
        else:
            self.read(value / 100, i, last, "N% of the original size")

    def factor_of(self, i: int) -> None:
        j = i + 1
        while self.low(j) in ("of", "is", "about", "around", "roughly", "approximately", "=", "x"):
            j += 1
        t = self.tokens[j] if j < len(self.tokens) else None
        if t and t.kind in ("num", "xnum") and self.low(j + 1) not in ("to", "%", "percent"):
            self.read(t.value, i, j, f'"{self.tokens[i].low} (of) N"', anchor=j)

    @staticmethod
    def multiplier(t: Token) -> float | None:
        low = t.low
        for base, value in MULTIPLIERS.items():
            if low == base or low in (base + "d", base + "s", base[:-1] + "ing", base + "ing"):
                return float(value)
        return None

    def multiplier_word(self, i: int) -> None:
        t, after = self.tokens[i], self.low(i + 1)
        value = self.multiplier(t)
        if t.hyphen_after and after not in ("size", "sized"):
            return  # double-check, triple-click
        if t.low in ("twice", "thrice"):
            # "twice as big", "twice as many pixels"; "twice as smooth" (a frame rate) is no size
            as_size = after == "as" and (self.low(i + 2) in ADJECTIVES | SIZE_ADJECTIVES | SIZE_NOUNS
                                         or self.low(i + 2) in ("many", "much", "wide", "long"))
            ok = as_size or after in COMPARATIVES or (after in DETERMINERS and self.low(i + 2) in SIZE_NOUNS)
        elif t.low in MULTIPLIERS:  # base form: a verb only when an object or the clause's end follows
            clause_ends = i + 1 >= len(self.tokens) or self.tokens[i + 1].kind == "mark"
            is_noun = self.low(i - 1) in ("a", "an", "the")  # "a double exposure", "it's a double"
            in_size = after == "in" and self.low(i + 2) in SIZE_NOUNS  # "double in size"
            ok = not is_noun and (after in DETERMINERS | SIZE_NOUNS | {"up", "sized"} or clause_ends or in_size)
        else:
            ok = True  # doubled, tripling: only ever verbs
        if ok:
            self.read(value, i, i, f'multiplier word "{t.low}"')

    def by_number(self, i: int) -> None:
        verb = self.scaling_verb_before(i - 1)
        unit = self.low(i + 1)
        if verb and not self.tokens[i].unit and unit not in PIXEL_UNITS | PHYSICAL_UNITS | {"%", "percent"}:
            self.read(self.tokens[i].value, i - 1, i, f'"by N" after the scaling verb "{verb}"', anchor=i)

    # -- pixel sizes: "from 64 to 512 px", "a 300 px image to 1200 px", "640x480 to 1280x960"
    def measures(self) -> list[tuple[int, int, float, float | None, bool]]:
        """(first, last, width, height or None, is pixels) of every size and pixel length."""
        tokens, out = self.tokens, []
        for i, t in enumerate(tokens):
            if out and i <= out[-1][1]:
                continue  # inside the size just read (the 480 of 640 x 480)
            if t.kind == "num" and i not in self.explained:
                if self.pixels_per(i):
                    continue  # "150 pixels per inch": a print density, read by other_numbers
                pixels = t.unit in ("px", "p") or self.low(i + 1) in PIXEL_UNITS
                nxt = tokens[i + 2] if i + 2 < len(tokens) else None
                # "from 64 to 512 pixels", "64-512 px": the first number takes the second's unit
                if (self.low(i + 1) == "to" or t.hyphen_after and self.low(i + 1) != "x") and nxt is not None \
                        and nxt.kind == "num" and (nxt.unit == "px" or self.low(i + 3) in PIXEL_UNITS):
                    pixels = True
                if t.hyphen_after and tokens[i + 1:i + 2] and tokens[i + 1].kind == "num" \
                        and (tokens[i + 1].unit == "px" or self.low(i + 2) in PIXEL_UNITS):
                    pixels = True
                # "upscale from 256 to 1024": bare sizes, when the sentence is about size
                if self.low(i - 1) == "from" and self.low(i + 1) == "to" and nxt is not None \
                        and nxt.kind == "num" and not nxt.unit and min(t.value, nxt.value) >= 16 \
                        and self.size_word_in_sentence(i, 12):
                    out.append((i, i, t.value, None, True))
                    out.append((i + 2, i + 2, nxt.value, None, True))
                    continue
                if pixels:
                    out.append((i, i + 1 if self.low(i + 1) in PIXEL_UNITS else i, t.value, None, True))
                elif self.low(i + 1) == "x" and nxt is not None and nxt.kind == "num":
                    last = i + 3 if self.low(i + 3) in PIXEL_UNITS else i + 2
                    physical = self.low(last + 1) in PHYSICAL_UNITS or min(t.value, nxt.value) < 16
                    out.append((i, last, t.value, nxt.value, not physical))
            elif t.kind == "size":
                last = i + 1 if self.low(i + 1) in PIXEL_UNITS else i
                physical = (t.unit in ("in", "cm", "mm") or self.low(i + 1) in PHYSICAL_UNITS
                            or min(t.value, t.value2) < 16)  # a 4x6 print, 24x36 inches
                out.append((i, last, t.value, t.value2, not physical))
        return out

    def names_a_display(self, first: int, last: int) -> bool:
        """A size that belongs to a monitor or a video ("a 2560x1440 monitor", "4K 3840x2160 video")."""
        return any(self.low(k).startswith(DISPLAY_NOUNS) for k in range(first - 2, last + 3) if k != first)

    def is_target(self, i: int) -> bool:
        return any(self.low(j) in TARGET_CUES for j in range(i - 3, i) if j >= 0)

    def print_density(self) -> float | None:
        """The print density the question states ("at 300 dpi", "300 pixels per inch"), if one."""
        for i, t in enumerate(self.tokens):
            if t.kind == "num" and (t.unit in ("dpi", "ppi") or self.low(i + 1) in ("dpi", "ppi")
                                    or self.pixels_per(i)):
                return t.value
        return None

    def print_size_ratio(self, measures) -> set[int]:
        """ "a 12 x 8 inch print at 300 dpi" from "a 1200 x 800 pixel scan": the print's pixels
        (inches or cm times the density) over the image's, when both sides agree. Returns the
        first tokens of the two sizes read."""
        dpi = self.print_density()
        images = [m for m in measures if m[4] and m[3] is not None]
        if dpi is None or not images:
            return set()
        for i, last, width, height, pixels in measures:
            unit = self.tokens[last].unit or self.low(last + 1)
            per_inch = UNITS_PER_INCH.get(unit)
            if pixels or height is None or per_inch is None:
                continue
            wanted = sorted((width * dpi / per_inch, height * dpi / per_inch))
            for src_i, src_last, src_w, src_h, _ in images:
                have = sorted((src_w, src_h))
                ratio = wanted[0] / have[0]
                if ratio > 1 and abs(wanted[1] / have[1] - ratio) <= 0.02 * ratio:
                    self.explained.update(range(src_i, src_last + 1))
                    # a print size is approximate: the factor to two decimals (30 cm -> 1.9996x is 2x)
                    self.read(round(ratio, 2), i, last, f'print size "{self.span(i, last)[0]}" at {dpi:g} '
                                                        f'dpi from "{self.span(src_i, src_last)[0]}"')
                    return {i, src_i}
        return set()

    def side(self, last: int) -> str | None:
        """ "2400 pixels wide", "10 inches tall": which side a length measures, if it says."""
        for j in (last + 1, last + 2):
            if self.low(j) in ("wide", "width", "across"):
                return "width"
            if self.low(j) in ("tall", "high", "height"):
                return "height"
        return None

    def side_ratio(self, measures) -> set[int]:
        """One side against the same side: "a 120 x 90 avatar ... wants it 2400 pixels wide" (20x),
        "1000 px wide ... needs it 10 inches wide at 300 dpi" (3x), and a print against a print in
        the same unit, "a 9 x 6 cm print ... I'd like a 54 x 36 cm print" (6x). The target comes
        later, after a target cue. Returns the first tokens of the two sizes read."""
        dpi = self.print_density()
        per_inch = UNITS_PER_INCH
        lengths = [(i, i + (t.unit not in per_inch), t.value, None, False) for i, t in enumerate(self.tokens)
                   if t.kind == "num" and (t.unit in per_inch or self.low(i + 1) in per_inch)
                   and self.side(i + (t.unit not in per_inch))]  # "10 inches wide"
        for i, last, width, height, pixels in sorted(measures + lengths):
            if not self.is_target(i) and not any(self.low(j) in WANT_VERBS for j in self.words_before(i, 5)):
                continue
            unit = self.tokens[last].unit or (self.low(last) if self.low(last) in per_inch else self.low(last + 1))
            for src_i, src_last, src_w, src_h, src_pixels in reversed([m for m in measures if m[0] < i]):
                src_unit = self.tokens[src_last].unit or self.low(src_last + 1)
                ratio = None
                if height is not None and src_h is not None and not pixels and not src_pixels \
                        and unit == src_unit and unit in per_inch:
                    ratio = width / src_w if abs(height / src_h - width / src_w) <= 0.02 * width / src_w else None
                elif height is None and (which := self.side(last)):
                    have = src_w if src_h is None or which == "width" else src_h
                    if src_h is None and self.side(src_last) != which or not src_pixels:
                        continue
                    want = width if pixels else width * dpi / per_inch[unit] if dpi and unit in per_inch else None
                    ratio = round(want / have, 2) if want else None
                if ratio and ratio > 1:
                    self.explained.update(range(src_i, src_last + 1))
                    self.read(ratio, i, last, f'size ratio "{self.span(src_i, src_last)[0]}" -> '
                                              f'"{self.span(i, last)[0]}"')
                    return {i, src_i}
        return set()

    def sizes_and_ratios(self) -> None:
        measures = self.measures()
        used: set[int] = self.print_size_ratio(measures) or self.side_ratio(measures)
        for n, (i, last, width, height, pixels) in enumerate(measures):
            target = self.is_target(i)
            same_kind = [m for m in measures if m[4] and (m[3] is None) == (height is None) and m[0] not in used]
            earlier = [m for m in same_kind if m[0] < i]
            # "it needs 3600 px, and my photo is 900 px": the source may also come after the target
            later = [m for m in same_kind if m[0] > i and not self.is_target(m[0])]
            if height is not None and not target and earlier:  # "a 1200x800 scan ... asks for 3000x2000"
                src = earlier[-1]
                target = (width > src[2] and abs(height / src[3] - width / src[2]) <= 0.01 * width / src[2]
                          and not self.names_a_display(i, last) and not self.names_a_display(src[0], src[1]))
            if not (pixels and target and (earlier or later)):
                continue
            src_i, src_last, src_w, src_h, _ = earlier[-1] if earlier else later[0]
            ratio = width / src_w
            if height is not None and abs(height / src_h - ratio) > 0.02 * ratio:
                continue  # a different aspect ratio: not one magnification
            src_text = self.span(src_i, src_last)[0]
            used.update((src_i, i))
            self.explained.update(range(src_i, src_last + 1))
            if ratio > 1:
                self.read(ratio, i, last, f'size ratio "{src_text}" -> "{self.span(i, last)[0]}"')
            else:
                self.ignore(i, last, f'a reduction from "{src_text}"')
        for i, last, _, height, pixels in measures:
            if i not in used:
                why = "pixel length" if height is None else "image size" if pixels else "print or physical size"
                self.ignore(i, last, why)

    # -- every other number says what it is
    def other_numbers(self) -> None:
        for i, t in enumerate(self.tokens):
            if i in self.explained or t.kind not in ("num", "name", "pct", "ratio"):
                continue
            if t.kind == "ratio":
                self.ignore(i, i, "aspect ratio")
                continue
            if t.kind == "name":
                self.ignore(i, i, "model or product name" if not re.fullmatch(r"\d+(st|nd|rd|th)", t.low)
                            else "ordinal")
                continue
            if t.from_words:
                continue  # "one network", "two or three settings": words, nothing to explain
            prev, after, value = self.low(i - 1), self.low(i + 1), t.value
            if prev == "iso":
                self.ignore(i - 1, i, "ISO setting")
            elif t.unit in ("mp",) or after.startswith("megapixel") or after == "mp":
                self.ignore(i, i + (t.unit != "mp"), "megapixels")
            elif t.unit in ("dpi", "ppi") or after in ("dpi", "ppi"):
                self.ignore(i, i + (t.unit == ""), "scanner or print resolution (dpi)")
            elif self.pixels_per(i):
                self.ignore(i, i + 3, "scanner or print resolution (dpi)")
            elif t.unit in ("st", "nd", "rd", "th"):
                self.ignore(i, i, "ordinal")
            elif t.unit == "s" and 1000 <= value <= 2100 or (t.unit == "s" and value in range(0, 100, 10)):
                self.ignore(i, i, "decade")
            elif t.unit == "k":
                self.ignore(i, i, "display resolution name (4K, 8K)")
            elif t.unit in ("cm", "mm", "m") or after in PHYSICAL_UNITS:
                self.ignore(i, i + (t.unit == ""), "physical length")
            elif t.unit in ("s", "ms", "gb", "mb") or after in QUANTITY_UNITS:
                self.ignore(i, i + (t.unit == ""), "a quantity (time, memory)")
            elif 1800 <= value <= 2100 and value == int(value) and "," not in t.text:
                self.ignore(i, i, "year")
            elif self.tokens[i - 1:i] and self.tokens[i - 1].capitalised and i >= 2 \
                    and self.tokens[i - 2].kind != "mark":
                self.ignore(i - 1, i, "model or product name")
            elif after and self.tokens[i + 1].kind == "word":
                self.ignore(i, i, "a count")
            else:
                self.ignore(i, i, "a number with no scale form")

    # -- step 3: roles
    def contrast_cue(self, i: int) -> str | None:
        """Why the factor at token i is a contrast rather than the request, else None."""
        before = self.words_before(i, 40)  # the whole clause before the factor, nearest first
        # Korean and Japanese say "there is no need" after the verb: "두 배로 키울 필요는 없어요",
        # "2倍にする必要はない"
        after = "".join(self.tokens[j].text for j in range(i + 1, i + 5) if self.same_clause(i, j))
        if m := re.search(CJK_NO_NEED, self.tokens[i].text + after):
            return f'negated ("{m.group()}")'
        # "Real-ESRGAN klarar ju bara 4x": a product name as the subject, its "only" glossed
        subject = min((j for j in before if self.tokens[j].kind != "mark"), default=None)
        for j in before[:3]:
            if self.low(j) == "only" and self.is_glossed(j) and subject is not None \
                    and self.is_product_name(subject):
                return f'contrast: a tool\'s limit ("{self.tokens[subject].text} ... {self.tokens[j].text}")'
        for j in before[:4]:
            low = self.low(j)
            if low in NEGATORS and self.low(j + 1) not in ("more", "less", "only", "just", "merely"):
                return f'negated ("{self.tokens[j].text}")'
            if low.endswith("n't") and self.low(j + 1) in WANT_VERBS:
                return f'negated ("{self.tokens[j].text} {self.tokens[j + 1].text}")'
        words = [j for j in reversed(before) if self.tokens[j].kind != "mark"]
        asks = bool(words) and self.low(words[0]) in QUESTION_OPENERS  # "Can other models do 5x?"
        for j in words:
            low, nxt = self.low(j), self.low(j + 1)
            if low in HABIT_WORDS:
                return f'contrast: a habit or preset ("{self.tokens[j].text}")'
            if (low, nxt) in LIMIT_PHRASES + ALTERNATIVE_PHRASES:
                return f'contrast ("{self.tokens[j].text} {self.tokens[j + 1].text}")'
            if low == "only" and nxt.startswith(ONLY_VERBS):
                return f'contrast: a tool\'s limit ("only {self.tokens[j + 1].text}")'
            # German puts the verb last ("das Modell nur genau 2x kann"): the glossed "only" after
            # the tool is the limit; English has the "only does" rule above
            if low == "only" and self.is_glossed(j) \
                    and any(self.low(k).startswith(TOOL_NOUNS) for k in words if k < j):
                return f'contrast: a tool\'s limit ("{self.tokens[j].text}" after naming the tool)'
            tool_follows = any(self.low(k).startswith(TOOL_NOUNS) for k in (j + 1, j + 2))
            if low in OTHER_TOOL_WORDS and tool_follows and not asks:
                return f'contrast: another tool ("{self.tokens[j].text} {self.tokens[j + 1].text}")'
        for j in words:
            # "40x under the microscope" is the optics; "my microscope images at 2x" names the images
            if self.low(j).startswith(INSTRUMENTS) and not self.low(j + 1).startswith(IMAGE_NOUNS):
                return f'contrast: an optical instrument\'s magnification ("{self.tokens[j].text}")'
        for j in range(i + 1, min(i + 4, len(self.tokens))):
            if self.same_clause(i, j) and self.low(j) in ("optical", "lens", "objective"):
                return f'contrast: an optical magnification ("{self.tokens[j].text}")'
            if self.same_clause(i, j) and self.low(j) in AFTER_CUES:
                return f'contrast: a preset or limit ("{self.tokens[j].text}")'
            if self.same_clause(i, j) and self.low(j) == "like" and any(  # "8x like my current plugin"
                    self.low(k).startswith(TOOL_NOUNS) or self.low(k) in AFTER_CUES for k in range(j + 1, j + 5)):
                return f'contrast: what another tool does ("{self.span(j, j + 1)[0]} ...")'
        return None

    def is_product_name(self, i: int) -> bool:
        """ "Real-ESRGAN", "SwinIR", "Topaz4": a capital inside the word or a digit, not a plain word."""
        t = self.tokens[i]
        if t.hyphen_after and t.text[:1].isupper() and i + 1 < len(self.tokens):
            t = self.tokens[i + 1]  # "Real-ESRGAN" is read as "Real", "ESRGAN"
        text = t.text
        return t.kind in ("word", "name") and len(text) > 2 and text.lower() not in FILE_FORMAT_WORDS | {
            "png", "raw", "iso", "tiff"} and (any(c.isupper() for c in text[1:]) or any(c.isdigit() for c in text))

    def past_marker(self, i: int) -> str | None:
        """A time-in-the-past cue in the factor's clause ("ago", "last year", "back then")."""
        clause = [j for j in range(len(self.tokens)) if self.same_clause(i, j)]
        for j in clause:
            low, nxt = self.low(j), self.low(j + 1)
            if self.past_time(j) or low in ("formerly", "already", "tried") or (low, nxt) == ("back", "then"):
                return f'contrast: done in the past ("{self.tokens[j].text}") while another factor is asked now'
        if verb := self.finite_past_verb(i):
            return f'contrast: done in the past ("{self.tokens[verb].text}") while another factor is asked now'
        # "Last week I shrank them to a third, then brought them back up 3x": the time opens the
        # sentence and holds for its later clauses, until a "now" or "this time" moves it
        for j in range(i - 1, self.sentence(i)[0] - 1, -1):
            low, nxt = self.low(j), self.low(j + 1)
            if low in ("now", "today", "currently") or (low, nxt) == ("this", "time"):
                break
            if low in WANT_VERBS | MODALS or low == "please":
                break  # "The photos from last week, I need them 4x": asked now
            if self.past_time(j) or low == "earlier":
                # the asker's own past, or another language's time word ("以前、別のツールで2倍に…")
                if self.is_glossed(j) or any(self.low(k) in ASKER_WORDS for k in range(j, i)):
                    return f'contrast: done in the past ("{self.tokens[j].text}") while another factor is asked now'
        return None

    def past_time(self, j: int) -> bool:
        """The word at `j` names a time in the past: "ago", "yesterday", "previously", "last week"."""
        low = self.low(j)
        return low in ("ago", "yesterday", "previously") \
            or low == "last" and self.low(j + 1) in ("year", "month", "week", "time", "summer", "winter")

    def finite_past_verb(self, i: int) -> int | None:
        """A verb in the simple past before the factor, in its clause, with its subject before it
        ("our old pipeline just applied 2x", "we did 3x"). A participle is no past: "I need it
        enlarged 4x", "I'd like the photo enlarged 4x" (a want verb or modal before it asks now)."""
        # in reading order, with the factor itself: "my phone doubled it"
        before = list(reversed(self.words_before(i, 12))) + [i]
        for n, j in enumerate(before):
            low = self.low(j)
            if any(self.low(k) in WANT_VERBS | MODALS or self.low(k) == "please" for k in before[:n]):
                return None
            regular = len(low) >= 5 and low.endswith("ed") and not low.endswith("eed") and low.isalpha() \
                and low != "hundred"
            if not (regular or low in IRREGULAR_PAST):
                continue
            k = j - 1
            while k >= 0 and self.same_clause(j, k) and self.low(k) in PAST_ADVERBS:
                k -= 1
            subject = self.low(k) if k >= 0 and self.same_clause(j, k) else ""
            if subject in ("i", "we", "he", "she", "they", "you", "was", "were", "had") or (
                    subject.isalpha() and subject not in NON_FINITE_BEFORE | DETERMINERS | WANT_VERBS | MODALS
                    and not subject.endswith(("ed", "ing")) and self.tokens[k].kind == "word"):
                return j
        return None

    def others_factor(self, i: int) -> str | None:
        """Someone else's factor: the nearest subject before it in its sentence is another person
        ("My photographer friend swears by Real-ESRGAN and runs everything at 4x"), not the asker
        ("my friend said I should use 4x": "I" and "should" come first, walking back)."""
        first = self.sentence(i)[0]
        for j in range(i - 1, max(first, i - 15) - 1, -1):
            low = self.low(j)
            if low in ASKER_WORDS | WANT_VERBS | MODALS or low in ("should", "can", "must") \
                    or low.endswith("n't"):
                return None
            person = low.startswith(PERSON_NOUNS) and not low.endswith(("'s", "’s")) \
                and (self.low(j - 1) in DETERMINERS | {"photographer", "best", "old", "a"} or self.is_glossed(j))
            if low in THIRD_PERSONS or person:
                return f'contrast: someone else\'s factor ("{self.tokens[j].text}") while another is asked'
        return None

    def tool_attribute(self, i: int, last: int) -> str | None:
        """A factor that names a model's own scale ("a SwinIR x4 checkpoint", "my 2x model", and
        each factor of "the x2 and x4 EDSR models")."""
        while self.low(last + 1) in ("and", "or", ",", "/") and self.tokens[last + 2:last + 3] \
                and self.tokens[last + 2].kind in ("num", "xnum") and self.same_clause(i, last + 2):
            last += 2  # the list's last factor is the one next to the noun
        for j in (last + 1, last + 2):
            # "2x and 3x versions" are outputs, not a model's scale
            if j < len(self.tokens) and self.same_clause(i, j) and self.low(j).startswith(TOOL_NOUNS) \
                    and not self.low(j).startswith("version"):
                return f'contrast: the scale of a model ("{self.span(i, j)[0]}") while another factor is asked'
        # a product name just before it, or with a preposition between: "SwinIR x4", "EDSR на 2x"
        name = i - 1 if self.low(i - 1) not in SCALE_PREPOSITIONS else i - 2
        if name >= 0 and self.same_clause(i, name) and self.tokens[name].kind in ("word", "name") \
                and self.is_product_name(name):
            return f'contrast: the scale of a model ("{self.span(name, last)[0]}") while another factor is asked'
        return None

    def roles(self) -> tuple[list[float], list[Evidence]]:
        contrasted: dict[float, str] = {}
        kept: list[Reading] = []
        past: list[tuple[Reading, str]] = []
        for r in self.readings:
            anchor = r.anchor if r.anchor >= 0 else r.first
            cue = self.contrast_cue(anchor)
            if cue:
                contrasted.setdefault(r.value, cue)
                self.ignore(r.first, r.last, cue)
            elif when := self.past_marker(anchor) or self.others_factor(anchor) \
                    or self.tool_attribute(r.first, r.last):
                past.append((r, when))
            else:
                kept.append(r)
        # A factor from the past ("three years ago ... at 2x") or a model's own ("my x4 model") is a
        # contrast only when the question asks for another factor now; alone, it is what the
        # question is about ("I enlarged it 3x last week and the grain got huge", "I want a 4x model").
        asked_now = list(kept)
        for r, when in past:
            if any(abs(k.value - r.value) > 1e-9 for k in asked_now):
                contrasted.setdefault(r.value, when)
                self.ignore(r.first, r.last, when)
            else:
                kept.append(r)
                if not asked_now and not self.tool_attribute(r.first, r.last):
                    self.dated.add(r.value)
        scales: list[float] = []
        evidence: list[Evidence] = []
        for r in sorted(kept, key=lambda r: r.first):
            # a size ratio is measured, not written: it keeps its own role ("a 2x lens ... 1500x1000 -> 3000x2000")
            # ... and so does a factor wanted in so many words ("I want two versions, 4x and 6x ...
            # Real-ESRGAN only does 4x")
            wanted = any(self.low(j) in WANT_VERBS for j in self.words_before(r.first, 8))
            if any(abs(r.value - c) < 1e-9 for c in contrasted) and not wanted \
                    and not r.rule.startswith(("size ratio", "print size")):
                self.ignore(r.first, r.last, "the same factor is a contrast elsewhere in the question")
                continue
            if r.value <= 1:
                self.ignore(r.first, r.last, "not above 1: not an enlargement")
                continue
            text, start, end = self.span(r.first, r.last)
            evidence.append(Evidence(kind="scale", value=r.value, text=text, start=start, end=end, rule=r.rule))
            if not any(abs(r.value - s) < 1e-9 for s in scales):
                scales.append(r.value)
        return scales, evidence

    # -- step 4: degradations
    def degradations(self) -> tuple[list[Degradation], list[Evidence]]:
        found: dict[Degradation, list[Evidence]] = {}
        used: set[int] = set()
        tokens = self.tokens
        for i in range(len(tokens)):
            for kind, phrases in degradation_lexicon().items():
                for phrase in phrases:
                    n = len(phrase)
                    if i in used or [self.low(i + k) for k in range(n)] != list(phrase):
                        continue
                    used.update(range(i, i + n))
                    why = self.degradation_role(i, i + n - 1, kind)
                    text, start, end = self.span(i, i + n - 1)
                    if why:
                        self.ignored.append(Ignored(text=text, start=start, end=end, why=why))
                    else:
                        found.setdefault(kind, []).append(Evidence(
                            kind="degradation", value=kind, text=text, start=start, end=end,
                            rule="the question says the input has it"))
        self.stem_matches(found, used)
        self.meaning_matches(found, used)
        self.implied_noise(found)
        self.drop_topics_of_a_clean_input(found)
        kinds = [k for k in DEGRADATION_ORDER if k in found]
        return kinds, [e for k in kinds for e in found[k]]

    def size_kept(self) -> list[Evidence]:
        """ "I don't need it any bigger", "keep the size as it is", "the resolution is fine": the
        user wants no enlargement (then the task is not super-resolution, whatever is listed). Every
        such phrase is returned: its words are no evidence for an enlarging task."""
        out: list[Evidence] = []
        for i, t in enumerate(self.tokens):
            low = t.low
            sized = (low in SIZE_NOUNS | COMPARATIVES | SIZE_ADJECTIVES or low.startswith(INCREASE_VERBS)
                     or self.foreign_size_word(i))
            if not sized or "enough" in (self.low(i + 1), self.low(i - 1)):  # "not big enough" wants it bigger
                continue
            sentence = set(self.sentence(i))
            before = [j for j in self.words_before(i, 7) if j in sentence]
            negated = next((j for j in before if self.low(j) in DEG_NEGATORS or self.low(j).endswith("n't")), None)
            kept = next((j for j in before if self.low(j) in ("keep", "keeping", "same")), None)
            fine = low in SIZE_NOUNS and self.low(i + 1) in COPULAS and self.low(i + 2) in SUFFICIENT_WORDS
            content = next((j for j in before if self.low(j) in CONTENT_WORDS and self.low(j + 1) == "with"), None)
            if content is not None and low in SIZE_NOUNS:  # "I'm happy with the size" (said, not asked)
                if negated is not None or self.asks(max(sentence)):
                    continue  # "not happy with the size", "are you happy with the size?"
                kept = content
            first = negated if negated is not None else kept if kept is not None else i if fine else None
            if first is not None:
                last = i + 2 if fine else i
                text, start, end = self.span(first, last)
                out.append(Evidence(kind="keeps-size", value="no enlargement", text=text, start=start, end=end,
                                    rule="the question says the image should not get larger"))
        return out

    def stem_matches(self, found: dict[Degradation, list[Evidence]], used: set[int]) -> None:
        """Degradation words of the other catalog languages ("körnig", "floue", "模糊"), with the same
        role checks; CJK negation sits around the word ("不要糊", "ノイズはない")."""
        lexicon = load_degradations()
        for i, t in enumerate(self.tokens):
            if i in used or t.kind != "word":
                continue
            for kind, stem in self.stems_in(t, lexicon):
                used.add(i)
                why = self.degradation_role(i, i, kind) or self.cjk_negated(t, stem) or self.cjk_feared(i, stem)
                text, start, end = self.span(i, i)
                if why:
                    self.ignored.append(Ignored(text=text, start=start, end=end, why=why))
                else:
                    found.setdefault(kind, []).append(Evidence(
                        kind="degradation", value=kind, text=text, start=start, end=end,
                        rule=f'the question says the input has it ("{stem}")'))

    @staticmethod
    def stems_in(t: Token, lexicon) -> list[tuple[Degradation, str]]:
        """(kind, stem) of the degradation stems in a word: the first kind whose stem begins an
        alphabetic word; in a run of CJK text every kind whose stem is in it, except a stem inside
        a longer one of another kind ("ノイズ" in "ブロックノイズ", JPEG blocking)."""
        folded = fold_accents(t.low)
        for kind, entry in lexicon.items():
            stem = next((s for s in entry.stems if s.isascii() and folded.startswith(fold_accents(s))), None)
            if stem is not None:
                return [(kind, stem)]
        spans = []  # (kind, stem, start, end) of the first stem of each kind found in the run
        for kind, entry in lexicon.items():
            at, stem = next(((t.text.find(s), s) for s in entry.stems if not s.isascii() and s in t.text),
                            (-1, ""))
            if stem:
                spans.append((kind, stem, at, at + len(stem)))
        return [(kind, stem) for kind, stem, a, b in spans
                if not any(k != kind and c <= a and b <= d and d - c > b - a for k, _, c, d in spans)]

    def cjk_feared(self, i: int, stem: str) -> str | None:
        """ "노이즈가 생길까 봐 걱정돼요", "怕放大以后更糊": a fear around the word, in its token or in
        the next few of its clause (Korean spaces its words), is about the output."""
        if stem.isascii():
            return None
        t = self.tokens[i]
        at = t.text.find(stem)
        after = t.text[at + len(stem):at + len(stem) + 12] + " ".join(
            self.tokens[j].text for j in range(i + 1, i + 5) if self.same_clause(i, j))
        if m := re.search(CJK_FEAR_BEFORE, t.text[max(0, at - 8):at]) or re.search(CJK_FEAR_AFTER, after):
            return f'describes a feared output ("{m.group()}")'
        return None

    def cjk_negated(self, t: Token, stem: str) -> str | None:
        if stem.isascii():
            return None
        at = t.text.find(stem)
        # seven characters after: "ぼけてもいません" (is not blurred either)
        before, after = t.text[max(0, at - 3):at], t.text[at + len(stem):at + len(stem) + 7]
        if after[:1] in ("も", "도"):  # "ノイズも圧縮もなし", "노이즈도 압축도 없어요": neither ... nor
            after = t.text[at + len(stem):at + len(stem) + 12]
        if re.search(CJK_NEGATION_BEFORE, before) or re.search(CJK_NEGATION_AFTER, after):
            return f'negated ("{t.text}")'
        return None

    def meaning_matches(self, found: dict[Degradation, list[Evidence]], used: set[int]) -> None:
        """A statement that describes a degraded input without naming it ("the autofocus missed",
        "smeared because he was sprinting past me"): its embedding is near one of the degradation's
        concept sentences. Only plain statements in English count: no question, no negation, no
        output words, and no degradation word of the same sentence already read."""
        from cnaps.answer.semantic import embed  # loaded only for questions that need it

        meaning = load_degradation_meaning()
        lexicon = load_degradations()
        done: set[int] = set()
        for i in range(len(self.tokens)):
            if i in done or self.tokens[i].kind == "mark":
                continue
            sentence = self.sentence(i)
            done.update(sentence)
            words = [j for j in sentence if self.tokens[j].kind != "mark"]
            end = sentence[-1]
            if len(words) < 4 or self.asks(end) or any(j in used for j in sentence) \
                    or not all(self.tokens[j].text.isascii() for j in words) \
                    or any(self.low(j) in DEG_NEGATORS | OUTPUT_WORDS | MODALS or self.low(j).endswith("n't")
                           or self.low(j).startswith(WORRY_WORDS) for j in words):
                continue
            text, start, stop = self.span(sentence[0], end)
            vector = embed([text])[0]
            neutral = float((embed(meaning.neutral) @ vector).max())
            for kind, entry in lexicon.items():
                if kind in found or not entry.concepts:
                    continue
                scores = embed(entry.concepts) @ vector
                best = int(scores.argmax())
                if scores[best] >= meaning.threshold and scores[best] >= neutral + meaning.margin:
                    found.setdefault(kind, []).append(Evidence(
                        kind="degradation", value=kind, text=text, start=start, end=stop,
                        rule=f'the statement means "{entry.concepts[best]}" (similarity {scores[best]:.2f})'))

    def degradation_role(self, first: int, last: int, kind: str) -> str | None:
        """Why a degradation word does not describe the input, else None."""
        if kind == "jpeg" and self.low(first) in FILE_FORMAT_WORDS and (why := self.clean_file(first)):
            return why
        if self.tokens[last].hyphen_after and self.low(last + 1) == "free":
            return 'negated ("-free")'
        # "blur the background", "blur her face": the user's own edit, a verb with its object
        if first == last and self.low(first) in ("blur", "blurring") and self.low(last + 1) in DETERMINERS \
                and self.low(first - 1) not in DETERMINERS | {"has", "have", "had", "with", "of", "some", "much", "more", "any", "no"}:
            return f'an edit the user wants ("{self.span(first, last + 1)[0]}"), not the input\'s blur'
        # "Why is 4x upscaling blurry?", "the enlargement looks blurry": said of the process's result
        before = [j for j in self.words_before(first, 3) if self.same_clause(first, j)]
        if before and self.low(before[0]) in COPULAS:
            before = before[1:]
        if before and self.is_process_noun(before[0]) and not self.low(last + 1).startswith(IMAGE_NOUNS):
            return f'describes the output of "{self.tokens[before[0]].text}"'
        # "without the noise turning into worms" presupposes the noise: only its change is negated
        presupposed = any(self.low(k).endswith("ing") for k in (last + 1, last + 2) if self.same_clause(last, k))
        for j in self.words_before(first, 4):  # "no dust or grain", "without visible pixel blocks"
            low = self.low(j)
            if low in SCOPE_STOPS or low == "without" and presupposed:
                break
            if low in DEG_NEGATORS or low.endswith("n't") or (low, self.low(j + 1)) in ALTERNATIVE_PHRASES:
                return f'negated ("{self.tokens[j].text}")'
        # "I already removed the noise in Lightroom": a removal done before, not the input's now
        for j in self.words_before(first, 4):
            low = self.low(j)
            if low.startswith(TASK_VERBS) and low.endswith("ed") \
                    and not any(self.low(k) in WANT_VERBS | MODALS for k in self.words_before(j, 4)):
                return f'already removed ("{self.tokens[j].text}")'
        clause = [j for j in range(len(self.tokens)) if self.same_clause(first, j)]
        if why := self.absent_after(last, clause):
            return why
        if kind == "noise":
            for j in clause:
                if self.low(j).startswith(GENERATIVE_WORDS):
                    return f'noise as a generative model\'s input ("{self.tokens[j].text}"), not a degradation'
        before = self.words_before(first, 6)
        for j in before[:4]:
            if self.low(j).startswith(CREATION_VERBS) and not self.low(j).startswith(CREATION_NOUNS) \
                    and not self.device_adds(j):
                return f'describes the output ("{self.tokens[j].text}")'
            if self.low(j) in RESULT_VERBS and any(self.low(k) in MODALS for k in self.words_before(j, 3)):
                return f'describes a feared or future output ("{self.tokens[j].text}")'
            if self.low(j) in ("getting", "going", "becoming", "turning") and self.low(j - 1) == "from":
                return f'describes a feared output ("from {self.tokens[j].text}")'
        # "Will it come out looking like a real photo of him, or smeared like an oil painting?":
        # a question that opens with a modal and a verb of becoming asks about the output
        sentence = self.sentence(first)
        opening = [j for j in sentence if j < first and self.tokens[j].kind != "mark"]
        if len(opening) > 2 and self.low(opening[0]) in MODALS and self.low(opening[1]) not in ASKER_WORDS \
                and self.asks(sentence[-1]) and any(self.low(j) in RESULT_VERBS for j in opening[1:4]):
            return f'describes a feared or future output ("{self.span(opening[0], opening[2])[0]} ...")'
        # "J'ai peur que les traits fins et les numéros deviennent flous": a fear said further back,
        # in the same clause, still governs the word (other languages have no "will" to mark it)
        for j in self.words_before(first, 14):
            if self.low(j).startswith(WORRY_WORDS):
                return f'describes a feared output ("{self.tokens[j].text}")'
        # A fronted "After upscaling," sets the time of the clause that follows it.
        opener = clause[0] - 1
        while opener >= 0 and self.tokens[opener].kind == "mark":
            opener -= 1
        if opener >= 0 and self.low(clause[0]) == ",":
            words = [j for j in range(len(self.tokens))
                     if self.same_clause(opener, j) and self.tokens[j].kind != "mark"]
            if words and self.low(words[0]) == "after":
                clause = words[:1] + clause
        for j in clause:
            low = self.low(j)
            if low in OUTPUT_WORDS and (self.low(j - 2), self.low(j - 1)) != ("as", "a"):
                return f'describes the output ("{self.tokens[j].text}")'
            if low == "after":  # "after enlarging", "after the 8x upscale"
                k = next((k for k in range(j + 1, j + 4) if self.low(k).startswith(SCALING_VERBS)), None)
                if k is not None:
                    return f'describes the output ("{self.span(j, k)[0]}")'
        return None

    def device_adds(self, j: int) -> bool:
        """ "The scanner at the library adds speckle noise": a capture device, the subject of a
        finite creation verb, made the input so. "Will the upscaling of my camera photo add grain?"
        asks about the output (a bare verb after a modal)."""
        before = self.words_before(j, 6)
        return self.low(j).endswith(("s", "ed")) and not any(self.low(k) in MODALS for k in before) \
            and any(self.low(k).startswith(CAPTURE_DEVICES) for k in before)

    def absent_after(self, last: int, clause: list[int]) -> str | None:
        """Absence said after the word: "the noise is negligible", "grain is basically nonexistent",
        and a wish negated at the clause's end, as Dutch and German do ("Wazige randen wil ik
        absoluut niet": blurry edges I do not want)."""
        after = [j for j in clause if j > last and self.tokens[j].kind != "mark"]  # the words after it
        if after and self.low(after[0]) in COPULAS:
            for j in after[1:4]:
                if self.low(j) in ABSENCE_WORDS:
                    return f'said to be absent ("{self.span(after[0], j)[0]}")'
        # Other languages put the negation after the word: "unscharf ist die Aufnahme nicht",
        # "Korrelig of wazig is hij niet", "Zaszumione zdjęcie nie jest", "шума там нет",
        # "Wazige randen wil ik niet". A glossed "no" ends the clause; a glossed "not" needs a copula,
        # a verb of seeing or a wish beside it: "Das Rauschen stört mich nicht" still has the noise.
        words = after[:6]
        glossed = [j for j in words if self.low(j) in ("not", "no") and self.is_glossed(j)]
        if glossed and (self.low(glossed[-1]) == "no" and glossed[-1] == words[-1] or any(
                self.low(j) in WANT_VERBS | COPULAS | {"see", "are"} for j in words)):
            return f'negated after the word ("{self.tokens[glossed[-1]].text}")'
        return None

    def is_process_noun(self, i: int) -> bool:
        """ "upscaling", "enlargement", "the upscale": the enlarging itself, not an image."""
        low = self.low(i)
        return low.startswith(SCALING_VERBS) and (low.endswith(("ing", "ment", "ments")) or low in ("upscale", "upscales"))

    def clean_file(self, i: int) -> str | None:
        """ "a full-quality JPEG, no visible artifacts": the format named, its artifacts denied.
        The bare format word says how the file is stored, not that it shows blocks."""
        before = [self.low(j) for j in reversed(self.words_before(i, 3))]
        if any(w in QUALITY_WORDS for w in before) or any(
                (a, b) in QUALITY_PAIRS for a, b in zip(before, before[1:])):
            return "a file format of stated high quality, not an artifact"
        sentence = self.sentence(i)
        for j in sentence:
            if self.low(j).startswith(("artifact", "artefact")) and any(
                    self.low(k) in DEG_NEGATORS for k in range(max(j - 3, sentence[0]), j)):
                return "a file format whose artifacts the question denies"
        return None

    def asks(self, last: int) -> bool:
        """Whether the sentence ending at token `last` is a question (a "?" follows it)."""
        return self.low(last + 1) == "?"

    def sentence(self, i: int) -> list[int]:
        """Token indices of the sentence holding token `i` (split at . ! ? only); an end mark
        belongs to the sentence it closes, though the indices stop before it."""
        ends = {".", "!", "?"}
        while i > 0 and self.tokens[i].kind == "mark" and self.low(i) in ends:
            i -= 1
        first = i
        while first > 0 and not (self.tokens[first - 1].kind == "mark" and self.low(first - 1) in ends):
            first -= 1
        last = i
        while last + 1 < len(self.tokens) and not (self.tokens[last + 1].kind == "mark"
                                                  and self.low(last + 1) in ends):
            last += 1
        return list(range(first, last + 1))

    def input_declared_clean(self) -> bool:
        """ "the scan is clean", "my photos are clean anyway": said of the input itself."""
        return any(t.low == "clean" and any(self.low(j) in COPULAS or self.low(j).endswith("'s")
                                            for j in self.words_before(i, 3))
                   for i, t in enumerate(self.tokens))

    def drop_topics_of_a_clean_input(self, found: dict[Degradation, list[Evidence]]) -> None:
        """ "Does the model remove sensor noise? My photos are clean": the noise is a topic, not
        the input's, when it is only the object of a restoration verb and the input is said clean."""
        if not self.input_declared_clean():
            return
        for kind in list(found):
            topics = [e for e in found[kind] if any(
                self.low(j).startswith(TASK_VERBS) for j in self.words_before(self.token_at(e.start), 4))]
            if topics and len(topics) == len(found[kind]):
                for e in topics:
                    self.ignored.append(Ignored(text=e.text, start=e.start, end=e.end,
                                                why="a topic of the question; the input is said to be clean"))
                del found[kind]

    def token_at(self, start: int) -> int:
        return next(i for i, t in enumerate(self.tokens) if t.start == start)

    def implied_noise(self, found: dict[Degradation, list[Evidence]]) -> None:
        """Low light and high ISO mean sensor noise, unless the question says there is none."""
        if any(i.why.startswith("negated") and any(w in i.text.lower() for w in ("nois", "grain", "speck"))
               for i in self.ignored):
            return
        if self.input_declared_clean():
            return
        for i, t in enumerate(self.tokens):
            nxt = self.low(i + 1)
            cue = None
            if (t.low, nxt) in (("low", "light"), ("dim", "light"), ("dimly", "lit")):
                cue = (i, i + 1)
            elif t.low == "night" and nxt.startswith(LOW_LIGHT_NOUNS):  # night shots, night photos
                cue = (i, i + 1)
            elif t.low == "night" and self.low(i - 1) == "at" and self.low(i - 2).startswith(SHOOTING_VERBS):
                cue = (i - 2, i)  # shot at night (a concert "at night" says nothing of the exposure)
            elif t.low == "iso" and self.tokens[i + 1:i + 2] and self.tokens[i + 1].kind == "num" \
                    and self.tokens[i + 1].value >= HIGH_ISO:
                cue = (i, i + 1)
            if cue:
                text, start, end = self.span(*cue)
                found.setdefault("noise", []).append(Evidence(
                    kind="degradation", value="noise", text=text, start=start, end=end,
                    rule="implied: low light or high ISO means sensor noise"))


def without_dated_scales(request: Request, task_enlarges: bool) -> Request:
    """A question classified as a task that does not enlarge asks nothing of its past factors:
    "Last week I upscaled them 2x ... can a model score them?" has no scale to run."""
    if task_enlarges or not request.dated:
        return request
    dropped = [Ignored(text=e.text, start=e.start, end=e.end,
                       why="a past enlargement; the question asks for another task now")
               for e in request.evidence if e.kind == "scale"]
    return request.model_copy(update={
        "scales": [], "dated": [], "evidence": [e for e in request.evidence if e.kind != "scale"],
        "ignored": sorted(request.ignored + dropped, key=lambda x: x.start)})


def extract_request(question: str) -> Request:
    """The factors the question asks for and the degradations its input has, with evidence."""
    parser = _Parser(question)
    parser.factors()
    scales, scale_evidence = parser.roles()
    degradations, degradation_evidence = parser.degradations()
    kept = [] if scales else parser.size_kept()
    ignored = sorted(parser.ignored, key=lambda x: x.start)
    dated = list(scales) if all(f in parser.dated for f in scales) else []
    return Request(scales=scales, degradations=degradations, keeps_size=bool(kept), dated=dated,
                   evidence=sorted(scale_evidence, key=lambda e: e.start) + degradation_evidence + kept,
                   ignored=ignored)
