"""The development prompts (../shared/prompts-dev): task, asked scales and input degradations.

Fast (no demo): parse_prompt + classify + extract_request on each prompt, scored per check against
expected.json. Run with `-s` to see the scores. The set is for development; the grammar and the
classifier hold no rule for any one prompt (a held-out set written the same way checks that).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnaps.answer.catalog import load_catalog
from stages import classify_prompt
from cnaps.answer.stage2_request import extract_request
from cnaps.errors import PromptError
from cnaps.answer.stage1_prompt import parse_prompt

DEV_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "prompts-dev"
CHECKS = ("task", "scales", "degradations", "malformed")


def _same_scales(got: list[float], want: list[float]) -> bool:
    def covered(a, b):
        return all(any(abs(x - y) <= 1e-6 for y in b) for x in a)
    return covered(got, want) and covered(want, got)


@pytest.fixture(scope="module")
def scored():
    expected_file = DEV_DIR / "expected.json"
    if not expected_file.is_file():
        pytest.skip(f"development prompts not found at {DEV_DIR}")
    expected = json.loads(expected_file.read_text())
    catalog = load_catalog()
    passed = {check: 0 for check in CHECKS}
    totals = {check: 0 for check in CHECKS}
    failures: list[str] = []
    false_alarms = 0
    for key in sorted(expected):
        want = expected[key]
        text = (DEV_DIR / f"{key}.txt").read_text(encoding="utf-8-sig")
        if want.get("error"):
            totals["malformed"] += 1
            try:
                parse_prompt(text, source=f"{key}.txt")
            except PromptError:
                passed["malformed"] += 1
            else:
                failures.append(f"{key}: malformed prompt parsed without a PromptError")
            continue
        prompt = parse_prompt(text, source=f"{key}.txt")
        task = classify_prompt(prompt, catalog).task_id
        request = extract_request(prompt.question)
        results = {
            "task": (task == want["task"], f"task {task}, expected {want['task']}"),
            "scales": (_same_scales(request.scales, want["scales"]),
                       f"scales {request.scales}, expected {want['scales']}"),
            "degradations": (set(request.degradations) == set(want["degradations"]),
                             f"degradations {request.degradations}, expected {want['degradations']}"),
        }
        false_alarms += len(set(request.degradations) - set(want["degradations"]))
        for check, (ok, detail) in results.items():
            totals[check] += 1
            passed[check] += ok
            if not ok:
                failures.append(f"{key}: {detail} | {prompt.question}")
    return passed, totals, false_alarms, failures


def test_dev_set_per_check_scores(scored):
    passed, totals, false_alarms, failures = scored
    summary = ", ".join(f"{check} {passed[check]}/{totals[check]}" for check in CHECKS)
    print(f"\ndev set: {summary}; false degradation alarms: {false_alarms}")
    for line in failures:
        print("  " + line)
    assert totals["task"] + totals["malformed"] == 60, "expected.json should describe 60 prompts"
    assert false_alarms == 0, failures
    assert not failures, f"{summary}\n" + "\n".join(failures)
