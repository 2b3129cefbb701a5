"""`cnaps check`: the regression harness. Re-answers every prompt in a folder and compares the
answers with the golden files (answer.md byte for byte, answer.json without timings), and
re-checks every citation against the prompt's own links."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import click

from cnaps.answer.folder import normalised_record
from cnaps.answer.pipeline import make_report
from cnaps.answer.records import AnswerOptions
from cnaps.answer.stage8_guard import find_urls
from cnaps.errors import CnapsError, OutputError
from cnaps.output import describe_os_error

MAX_DIFF_LINES = 20


def _allowed(prompt_file: Path) -> set[str]:
    from cnaps.answer.stage1_prompt import load_prompt

    return set(load_prompt(prompt_file).allowed_urls)


def _violations(markdown: str, allowed: set[str]) -> list[str]:
    """URLs in the answer that the prompt did not give (the guard should leave none)."""
    from cnaps.answer.links import normalize_url

    bad = []
    for url in find_urls(markdown):
        try:
            ok = normalize_url(url) in allowed
        except CnapsError:
            ok = False
        if not ok:
            bad.append(url)
    return bad


def _diff(name: str, expected: str, actual: str) -> list[str]:
    lines = list(difflib.unified_diff(expected.splitlines(), actual.splitlines(),
                                      f"golden/{name}", f"now/{name}", lineterm="", n=1))
    return lines[:MAX_DIFF_LINES] + (["..."] if len(lines) > MAX_DIFF_LINES else [])


# What a damaged golden file raises when read: unreadable, not UTF-8 / JSON (ValueError, as is
# pydantic's ValidationError), missing keys or wrong types. It is a difference to report for
# that prompt, not a crash of the whole run.
DAMAGED = (OSError, ValueError, KeyError, TypeError, AttributeError)


def _damaged(golden: Path, exc: Exception) -> str:
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return (f"golden files in {golden} are damaged ({type(exc).__name__}: {detail}); "
            "regenerate them with --update")


def _golden_options(golden: Path, demo: bool) -> AnswerOptions:
    recorded = golden / "answer.json"
    if recorded.is_file():
        options = json.loads(recorded.read_text(encoding="utf-8"))["options"]
        return AnswerOptions.model_validate(options)
    return AnswerOptions(demo=demo)


def _answer(prompt_file: Path, options: AnswerOptions):
    """(report, None) or (None, the one-line error a malformed prompt gives)."""
    try:
        return make_report(prompt_file, options), None
    except CnapsError as exc:
        return None, f"error: {exc}\n"


def _write_golden(golden: Path, report, error: str | None) -> None:
    try:
        _write_golden_files(golden, report, error)
    except OSError as exc:
        raise OutputError(describe_os_error(exc, golden)) from None


def _write_golden_files(golden: Path, report, error: str | None) -> None:
    golden.mkdir(parents=True, exist_ok=True)
    for name in ("answer.md", "answer.json", "error.txt"):
        (golden / name).unlink(missing_ok=True)
    if error is not None:
        (golden / "error.txt").write_text(error)
        return
    (golden / "answer.md").write_text(report.markdown)
    data = normalised_record(report.record)
    (golden / "answer.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _compare(golden: Path, report, error: str | None) -> list[str]:
    if (golden / "error.txt").is_file() or error is not None:
        recorded = golden / "error.txt"
        expected = recorded.read_text(encoding="utf-8") if recorded.is_file() \
            else "(an answer)\n"
        actual = error if error is not None else "(an answer)\n"
        return [] if expected == actual else _diff("error.txt", expected, actual)
    problems = []
    if not (golden / "answer.md").is_file():
        return [f"no golden answer in {golden}"]
    problems += _diff("answer.md", (golden / "answer.md").read_text(encoding="utf-8"),
                      report.markdown)
    expected = normalised_record(json.loads((golden / "answer.json").read_text(encoding="utf-8")))
    actual = normalised_record(report.record)
    if expected != actual:
        problems += _diff("answer.json", json.dumps(expected, indent=2, ensure_ascii=False),
                          json.dumps(actual, indent=2, ensure_ascii=False))
    return problems


@click.command("check")
@click.argument("prompt_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--golden", "golden_dir", type=click.Path(file_okay=False),
              help="Golden folder [default: PROMPT_DIR/../golden].")
@click.option("--update", is_flag=True, help="Rewrite the golden files from today's answers.")
@click.option("--demo", is_flag=True,
              help="With --update: run the demo for prompts that have no golden files yet.")
def check(prompt_dir, golden_dir, update, demo):
    """Re-answer every *.txt prompt in PROMPT_DIR and compare with the golden answers.

    Each prompt is answered with the options its golden answer.json recorded (demo or not,
    scale, seed); a malformed prompt's golden is its one-line error (error.txt). Reports every
    difference from the golden files and every cited URL the prompt did not give; exits 1 on
    any. --update rewrites the golden files instead.
    """
    prompt_dir = Path(prompt_dir)
    golden_root = Path(golden_dir) if golden_dir else prompt_dir.parent / "golden"
    prompts = sorted(prompt_dir.glob("*.txt"))
    if not prompts:
        raise CnapsError(f"no *.txt prompt files in {prompt_dir}; expected prompt files in the "
                         "seed format")
    failures = 0
    for prompt_file in prompts:
        golden = golden_root / prompt_file.stem
        try:
            options, damage = _golden_options(golden, demo), None
        except DAMAGED as exc:  # --update replaces it; a check reports it
            options, damage = AnswerOptions(demo=demo), _damaged(golden, exc)
        if update:
            report, error = _answer(prompt_file, options)
            _write_golden(golden, report, error)
            click.echo(f"updated  {prompt_file.name}")
            continue
        report, error = (None, None) if damage else _answer(prompt_file, options)
        try:
            problems = [damage] if damage else _compare(golden, report, error)
        except DAMAGED as exc:
            problems = [_damaged(golden, exc)]
        if report is not None:
            bad = _violations(report.markdown, _allowed(prompt_file))
            problems += [f"cites a URL the prompt did not give: {u}" for u in bad]
        if problems:
            failures += 1
            click.echo(f"FAIL     {prompt_file.name}")
            for line in problems:
                click.echo(f"    {line}")
        else:
            removed = len(report.record.guard.removed) if report else 0
            note = f" (guard removed {removed} URL(s))" if removed else ""
            click.echo(f"ok       {prompt_file.name}{note}")
    if update:
        click.echo(f"{len(prompts)} golden answers written to {golden_root}")
        return 0
    click.echo(f"{len(prompts)} prompts: {len(prompts) - failures} ok, {failures} failed")
    if failures:
        click.echo(f"if the change is intended, regenerate with: python -m cnaps check "
                   f"{prompt_dir} --golden {golden_root} --update")
        return 1
    return 0
