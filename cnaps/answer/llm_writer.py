"""An optional writer backed by a language model, behind a guard; the evidence writer is the default.

`cnaps answer --writer llm --endpoint URL --model NAME` sends the question and the evidence
(`cnaps.answer.evidence`, each sentence with its key) to any OpenAI-compatible
`/v1/chat/completions` endpoint (Ollama, llama.cpp's server, vLLM) over httpx, and nothing else:
no prompt text beyond the question, no links. The reply is used only if every sentence of it
passes `check_reply`:

- it cites at least one key, and only keys of the evidence (PaperQA's rule: a citation outside
  the listed keys is an error, here a rejection);
- it carries no URL and no name the prompt does not give (`cnaps.answer.summary` filters);
- every number in it is one its cited evidence reports;
- it is supported by the evidence it cites: cosine similarity (`semantic.embed`) of the sentence
  without its keys to the closest cited sentence at least `SUPPORT_THRESHOLD`.

Any failure (timeout, HTTP error, malformed JSON, a rejected sentence) gives the evidence
writer's section with one line saying why. No network is touched unless the user asks.
"""

from __future__ import annotations

import json
import re

import httpx
from pydantic import Field

from cnaps.answer.evidence import UNITS, EvidenceItem
from cnaps.answer.lexicon import sentence_spans
from cnaps.answer.records import Record
from cnaps.answer.summary import _foreign_name, given_names

# Cited sentences that restate their evidence scored 0.55-0.95 against it in the labelled cases
# of tests/test_llm_writer.py; sentences about something else (another task, a made-up number
# on another topic) scored under 0.45.
SUPPORT_THRESHOLD = 0.5
KEY = re.compile(r"\[(E\d+)\]")
KEYS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[E\d+\])+)")
NUMBER = re.compile(r"\d+(?:[.,]\d+)?")  # every number must be one its cited evidence reports
URLISH = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|org|net|io|ai|dev|example)\b", re.IGNORECASE)
SYSTEM = (
    "You write one short paragraph for a scientist answering a user's question about an image "
    "model. Use only the numbered evidence given. End every sentence with the key of the evidence "
    "that supports it, in square brackets, e.g. [E1]. Do not write links, do not name models, "
    "datasets or papers that the evidence does not name, and do not add numbers that the evidence "
    "does not report. If the evidence does not answer the question, say so in one sentence [E1].")


class LLMSettings(Record):
    """Where the language-model writer is (the command line's --endpoint and --model)."""

    endpoint: str = Field(description="base URL of an OpenAI-compatible server, e.g. "
                                      "http://127.0.0.1:11434 (with or without /v1)")
    model: str = Field(description="the model name the server knows")
    timeout_s: float = Field(60.0, gt=0, description="seconds to wait for the reply")


class Rejected(Exception):
    """Why the language model's answer was not used, in one line."""


def completions_url(endpoint: str) -> str:
    base = endpoint.rstrip("/")
    return base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")


def user_message(question: str, items: list[EvidenceItem], numbers: str = "") -> str:
    lines = [f"Question: {question}", "", "Evidence:"]
    lines += [f"[{i.key}] ({i.about}) {i.text}" for i in items]
    if numbers:
        lines += ["", f"Measured in this run: {numbers}"]
    return "\n".join(lines)


def ask(settings: LLMSettings, question: str, items: list[EvidenceItem], numbers: str = "") -> str:
    """The model's reply text; Rejected on any transport or format problem."""
    body = {"model": settings.model, "temperature": 0, "stream": False,
            "messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": user_message(question, items, numbers)}]}
    url = completions_url(settings.endpoint)
    who = "the language model at --endpoint"  # its URL is not a source: never in the answer
    try:
        response = httpx.post(url, json=body, timeout=settings.timeout_s)
    except httpx.TimeoutException:
        raise Rejected(f"{who} did not answer within {settings.timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise Rejected(f"{who} could not be reached ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise Rejected(f"{who} answered HTTP {response.status_code}")
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (json.JSONDecodeError, KeyError, IndexError, TypeError, ValueError):
        raise Rejected(f"{who} sent no chat completion (malformed JSON)") from None
    if not isinstance(content, str) or not content.strip():
        raise Rejected(f"{who} sent an empty answer")
    return " ".join(content.split())


def check_reply(reply: str, items: list[EvidenceItem], prompt,
                threshold: float = SUPPORT_THRESHOLD) -> list[str]:
    """The reply's sentences if every one passes the guard; Rejected naming the first that fails."""
    from cnaps.answer.semantic import embed

    by_key = {i.key: i for i in items}
    names = given_names(prompt) | UNITS | set(by_key)
    # "... removed. [E1] Next" -> "... removed [E1]. Next": a key after the full stop belongs
    # to the sentence before it
    reply = KEYS_AFTER_STOP.sub(r"\2\1", reply)
    sentences = [reply[a:b] for a, b in sentence_spans(reply, capital_next=True)]
    if not sentences:
        raise Rejected("the language model's answer has no sentence")
    for n, sentence in enumerate(sentences, 1):
        which = f"sentence {n} of {len(sentences)}"  # never quoted: rejected text stays out of the answer
        keys = KEY.findall(sentence)
        bare = KEY.sub("", sentence).strip()
        if not keys:
            raise Rejected(f"{which} cites no evidence")
        unknown = [k for k in keys if k not in by_key]
        if unknown:
            raise Rejected(f"{which} cites unknown key(s) {', '.join(sorted(set(unknown)))[:40]}")
        if URLISH.search(sentence):
            raise Rejected(f"{which} carries a link")
        foreign = _foreign_name(bare, names)
        if foreign:
            raise Rejected(f"{which} names something the prompt does not give")
        numbers = set(NUMBER.findall(bare)) - set(NUMBER.findall(" ".join(by_key[k].text for k in keys)))
        if numbers:
            raise Rejected(f"{which} reports a number its cited evidence does not")
        support = float((embed([by_key[k].text for k in keys]) @ embed([bare])[0]).max())
        if support < threshold:
            raise Rejected(f"{which} is not supported by its cited evidence (similarity "
                           f"{support:.2f} < {threshold:g})")
    return sentences


def llm_section(settings: LLMSettings, prompt, items: list[EvidenceItem]) -> str:
    """'What the sources say' written by the language model, keys linked to their sources;
    Rejected when the reply fails or fails the guard."""
    from cnaps.answer.links import escape_markdown, safe_url

    if not items:
        raise Rejected("there is no evidence to write from")
    sentences = check_reply(ask(settings, prompt.question, items), items, prompt)
    by_key = {i.key: i for i in items}

    def linked(sentence: str) -> str:
        text = escape_markdown(KEY.sub("\0\\1\0", sentence))
        return re.sub("\0(E\\d+)\0", lambda m: f"([{m.group(1)}]({safe_url(by_key[m.group(1)].url)}))", text)

    body = " ".join(linked(s) for s in sentences)
    return (f"### What the sources say\n\n{body}\n\n*Written by the language model "
            f"{escape_markdown(settings.model)} from the evidence cnaps gave it (the keys link each sentence's "
            "source); every sentence was checked against the evidence it cites.*")
