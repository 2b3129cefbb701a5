"""Magnification factors written the way other languages write them, found before the grammar runs.

The request grammar (`stage2_request`) reads English. People ask in their own language, so this
module finds the factor expressions of the languages in `catalog/languages.toml` and hands them to
the grammar as ready factors, each with its character span in the question (evidence quotes the
user's own words):

- multiplier forms, a number with a "-fold" word: "vierfach", "2,5-fach", "三倍", "二点五倍", "2배",
  "두 배 반";
- counted forms, a number with a "times" word: "cinq fois", "tres veces", "duas vezes e meia", but only
  when the sentence also has a scaling verb or size word of some language ("agrandir", "ampliar");
  otherwise "trois fois par jour" is a count of events;
- numbers with a decimal comma glued to a multiplication sign: "2,5x", "x1,5".

Number words are read by the text2num library (English, German, French, Spanish, Italian,
Portuguese, Dutch), by a table of number words in the catalog for the languages it does not know
(Swedish, Polish, Russian, Turkish, Vietnamese); Chinese/Japanese numerals and Korean numbers (Sino-Korean and native) by the small
readers below, for which no maintained library covers both scripts. Fractions in words ("and a
half", "e meia", "einhalb", "半") come from the same catalog file.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from cnaps.answer.lexicon import is_english, sentence_spans

CATALOG = Path(__file__).resolve().parents[2] / "catalog" / "languages.toml"

CJK_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
CJK_UNITS = {"十": 10, "百": 100}
CJK_POINT = "点點"
SINO_KOREAN = {"영": 0, "일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
KOREAN_UNITS = {"십": 10, "백": 100}
NATIVE_KOREAN = {"한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9,
                 "열": 10, "스무": 20}
FULL_WIDTH = str.maketrans("０１２３４５６７８９．，", "0123456789.,")
DIGITS = r"\d+(?:[.,]\d+)?"


@dataclass(frozen=True)
class Language:
    id: str
    numbers: str
    fold: tuple[str, ...]
    times: tuple[str, ...]
    fractions: tuple[tuple[str, float], ...]  # ("e meia", 0.5), longest first
    size_words: tuple[str, ...]
    multipliers: dict[str, float]
    gloss: dict[str, str]
    number_words: dict[str, float]  # numbers = "table": the language's number words, accents folded


@dataclass(frozen=True)
class Factor:
    value: float
    start: int
    end: int
    rule: str


@functools.cache
def languages() -> tuple[Language, ...]:
    data = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
    out = []
    for entry in data["language"]:
        fractions = [(w, 0.5) for w in entry["halves"]] + [(w, 0.25) for w in entry["quarters"]] \
            + [(w, 0.75) for w in entry["three_quarters"]]
        out.append(Language(entry["id"], entry["numbers"], tuple(entry["fold"]), tuple(entry["times"]),
                            tuple(sorted(fractions, key=lambda f: -len(f[0]))), tuple(entry["size_words"]),
                            {k: float(v) for k, v in entry["multipliers"].items()}, dict(entry["gloss"]),
                            {fold_accents(k.lower()): float(v) for k, v in entry.get("number_words", {}).items()}))
    return tuple(out)


@functools.cache
def gloss() -> dict[str, str]:
    """Foreign function word -> the English word the grammar's cues look for."""
    return {word: english for lang in languages() for word, english in lang.gloss.items()}


@functools.cache
def size_stems() -> tuple[str, ...]:
    return tuple(stem for lang in languages() for stem in lang.size_words)


# ---------------------------------------------------------------- number readers

def read_digits(text: str) -> float | None:
    """'2,5' and '2.5' are both 2.5 (a decimal comma has one or two digits after it)."""
    text = text.translate(FULL_WIDTH)
    if re.fullmatch(r"\d+[.,]\d{1,2}", text):
        return float(text.replace(",", "."))
    if re.fullmatch(r"\d+", text):
        return float(text)
    return None


def read_cjk(text: str) -> float | None:
    """Chinese/Japanese numerals: 三, 十二, 二十四, 一百, 二点五; digits too (2.5, ２)."""
    if (value := read_digits(text)) is not None:
        return value
    whole, decimals = re.split(f"[{CJK_POINT}]", text, maxsplit=1) if re.search(f"[{CJK_POINT}]", text) \
        else (text, "")
    value = _positional(whole, CJK_DIGITS, CJK_UNITS)
    if value is None:
        return None
    if decimals:
        if not all(ch in CJK_DIGITS for ch in decimals):
            return None
        value += float("0." + "".join(str(CJK_DIGITS[ch]) for ch in decimals))
    return value


def _positional(text: str, digits: dict[str, int], units: dict[str, int]) -> float | None:
    """A numeral of digit and unit characters, read the way Chinese, Japanese and Sino-Korean
    write them: 二十四 = 2x10 + 4, 十二 = 10 + 2, 一百 = 100."""
    if not text:
        return None
    total, digit = 0, None
    for ch in text:
        if ch in digits:
            if digit is not None:
                return None  # 二三: two digits in a row are not a numeral
            digit = digits[ch]
        elif ch in units:
            total += (1 if digit is None else digit) * units[ch]
            digit = None
        else:
            return None
    return float(total + (digit or 0))


def read_korean(text: str) -> float | None:
    """Korean numbers: digits, Sino-Korean (이, 삼, 십이) or native (두, 세, 네, 다섯)."""
    if (value := read_digits(text)) is not None:
        return value
    if text in NATIVE_KOREAN:
        return float(NATIVE_KOREAN[text])
    return _positional(text, SINO_KOREAN, KOREAN_UNITS)


def read_words(text: str, lang: str) -> float | None:
    """A number written in words or digits in one of text2num's languages ("quatre", "vier", "2,5")."""
    if (value := read_digits(text)) is not None:
        return value
    from text_to_num import text2num

    try:
        return float(text2num(text.lower(), lang))
    except ValueError:
        return None


# ---------------------------------------------------------------- factor expressions

def _fraction_after(question: str, end: int, lang: Language) -> tuple[float, int]:
    """A fraction word right after position `end` ("vezes e meia"): (its value, new end)."""
    rest = question[end:]
    for words, value in lang.fractions:
        boundary = r"\b" if words.isascii() else ""
        m = re.match(rf"\s*{re.escape(words)}{boundary}", rest, re.IGNORECASE)
        if m:
            return value, end + m.end()
    return 0.0, end


def _number_before(question: str, end: int, lang: Language) -> tuple[float, int] | None:
    """The number that ends at `end` (words or digits, up to four words, with a fraction word inside
    it like "zweieinhalb" or "two and a half"): (value, start)."""
    head = question[:end]
    if lang.numbers == "cjk":
        m = re.search(r"[〇零一二两兩三四五六七八九十百点點\d０-９.．]+$", head)
        return (v, m.start()) if m and (v := read_cjk(m.group())) is not None else None
    if lang.numbers == "korean":
        m = re.search(r"(\d+(?:\.\d+)?|[영일이삼사오육칠팔구십백]+|다섯|여섯|일곱|여덟|아홉|스무|[한두세네열])\s*$", head)
        return (v, m.start()) if m and (v := read_korean(m.group(1))) is not None else None
    # the fraction between the number and its marker: "в два с половиной раза" (two and a half times)
    for words, part in lang.fractions:
        m = re.search(rf"\s+{re.escape(words)}\s*$", head, re.IGNORECASE)
        if m and (whole := _number_before(question, m.start(), lang)):
            return whole[0] + part, whole[1]
    m = re.search(rf"({DIGITS})[\s-]?$", head)
    if m:
        return (v, m.start()) if (v := read_digits(m.group(1))) is not None else None
    if lang.numbers == "table":  # one number word of the language's table ("fyra", "четыре")
        # a word with its vowel signs (Devanagari "दो": "ो" is no \w character)
        m = re.search(r"([^\W\d_][^\s\d\-.,;:!?()]*)[\s-]?$", head)
        value = lang.number_words.get(fold_accents(m.group(1).lower())) if m else None
        return (value, m.start()) if value is not None else None
    words = list(re.finditer(r"[^\W\d_]+(?:-[^\W\d_]+)?", head))[-4:]
    glued_fraction = [(w, v) for w, v in lang.fractions if " " not in w]
    for k in range(len(words)):  # longest run of words that still reads as one number
        first = words[k]
        if head[first.start():].strip() != head[first.start():end].strip():
            continue
        phrase = head[first.start():end].strip()
        value = read_words(phrase, lang.id)
        if value is None:
            for fraction, part in glued_fraction:  # "zweieinhalb" = "zwei" + "einhalb"
                if phrase.lower().endswith(fraction) and (v := read_words(phrase[:-len(fraction)], lang.id)):
                    value = v + part
                    break
        if value is not None:
            return value, first.start()
    return None


def _sentence_has_size_word(question: str, start: int, end: int, english_stems: tuple[str, ...]) -> bool:
    begin, stop = next(((a, b) for a, b in sentence_spans(question) if a <= start < b), (start, end))
    sentence = fold_accents(question[begin:max(stop, end)].lower())
    words = re.findall(r"\w+", sentence)
    stems = tuple(fold_accents(s) for s in size_stems() + english_stems)
    return any(w.startswith(stems) for w in words) or any(s in sentence for s in stems if not s.isascii())


def fold_accents(text: str) -> str:
    """'amplío' -> 'amplio', 'größer' -> 'großer': stems match however a word is accented."""
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


@functools.cache
def _english_multipliers() -> tuple[str, ...]:
    """Stems of the English grammar's multiplier words ("doubl" for double, doubled, doubling)."""
    from cnaps.answer.catalog import load_grammar

    return tuple(word[:-1] if word.endswith("e") else word for word in load_grammar()["multipliers"])


def _multiplier_words(question: str) -> list[Factor]:
    """Words that multiply on their own in the other languages ("verdoppeln", "tripler", "翻倍"),
    in sentences that are not English (English "tripled" is the grammar's, with its rules), and
    in a sentence that mixes in English ("al doble de grande for the website") when a size word
    of the same language is in it too."""
    found = []
    for start, end in sentence_spans(question):
        text = question[start:end]
        english = is_english(text)
        # the sentence's words, accents folded, once: (match, folded word)
        words = [(m, fold_accents(m.group().lower())) for m in re.finditer(r"[^\W\d_]+", text)]
        for lang in languages():
            if english and not any(word.startswith(fold_accents(stem)) for _, word in words
                                   for stem in lang.size_words if stem.isascii()):
                continue
            for stem, value in lang.multipliers.items():
                if not stem.isascii():
                    found += [Factor(value, start + m.start(), start + m.end(), f'multiplier word "{stem}" ({lang.id})')
                              for m in re.finditer(re.escape(stem), text)]
                    continue
                for m, word in words:
                    if english and word.startswith(_english_multipliers()):
                        continue  # "double", "triple": the English grammar's, with its rules
                    if word.startswith(fold_accents(stem)):
                        found.append(Factor(value, start + m.start(), start + m.end(),
                                            f'multiplier word "{stem}" ({lang.id})'))
    return found


def _suspended_number(before: str, lang: Language) -> tuple[float, int, int] | None:
    """ "zwei- bis vierfach", "2- oder 3fach": the first number of a range leaves its "-fold" to
    the second. Returns (value, start, end) of "zwei-"."""
    m = re.search(r"(?<![\w-])([^\W_]+)-\s+[^\W\d_]+\s+$", before)
    if not m:
        return None
    value = read_digits(m.group(1))
    if value is None:
        value = read_words(m.group(1).lower(), lang.id)
    return (value, m.start(1), m.end(1) + 1) if value else None


def find_factors(question: str, english_stems: tuple[str, ...] = ()) -> list[Factor]:
    """Every factor expression of a catalog language in the question, leftmost first, not overlapping.
    `english_stems` are the grammar's own scaling verbs, which also count as size words."""
    found: list[Factor] = []
    for lang in languages():
        for markers, counted in ((lang.fold, False), (lang.times, True)):
            for marker in markers:
                glued = not marker.isascii() or lang.id == "de"  # 倍, 배 and German "-fach" attach
                boundary = r"(?![^\W\d_])" if marker.isascii() else ""
                before = "" if glued else r"(?<=\s)"
                pattern = re.compile(before + re.escape(marker) + boundary, re.IGNORECASE)
                for m in pattern.finditer(question):
                    if lang.id == "ko" and re.match(r"[가-힣]", question[m.end():m.end() + 1] or " ") \
                            and not re.match(r"(로|를|가|는|의|까지|정도|이상|이|나|만|씩|쯤|에서|에)", question[m.end():]):
                        continue  # 배경, 배터리: a word that starts with 배
                    number = _number_before(question, m.start(), lang)
                    if number is None:
                        continue
                    value, start = number
                    fraction, end = _fraction_after(question, m.end(), lang)
                    if counted and not _sentence_has_size_word(question, start, end, english_stems):
                        continue
                    rule = f'"{marker}" after a number ({lang.id})'
                    found.append(Factor(value + fraction, start, end, rule))
                    if not counted and (first := _suspended_number(question[:start], lang)):
                        found.append(Factor(first[0], first[1], first[2], rule + ", shared by a range"))
    found += _multiplier_words(question)
    for m in re.finditer(rf"(?<![\w.,])(\d+,\d{{1,2}})\s?[x×](?!\w)|(?<![\w.,])[x×](\d+,\d{{1,2}})(?![\d,])", question):
        value = read_digits(m.group(1) or m.group(2))
        found.append(Factor(value, m.start(), m.end(), "number with a decimal comma and a multiplication sign"))
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    out: list[Factor] = []
    for f in found:
        if not out or f.start >= out[-1].end:
            out.append(f)
    return out
