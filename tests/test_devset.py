"""The development set (../shared/prompts-dev): every prompt answered, with its demo, and scored
per check by benchmarks/devset.py. Slow: a demo per super-resolution prompt."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_DIR = ROOT.parent / "shared" / "prompts-dev"
# The share of each check that must pass: all of them. The set is for development (the parser
# and judges are general, nothing is special-cased), so a miss here is a regression.
FLOORS = {check: 1.0 for check in ("task", "scales", "degradations", "relevance", "demo",
                                   "demo-vs-request", "sources", "internals", "error")}


def _devset_module():
    spec = importlib.util.spec_from_file_location("devset", ROOT / "benchmarks" / "devset.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_dev_prompts_score_at_least_the_floors(released_model):
    if not (DEV_DIR / "expected.json").is_file():
        pytest.skip(f"development prompts not found at {DEV_DIR}")
    result = _devset_module().score(DEV_DIR, demo=True)
    shares = {c: ok / n for c, (ok, n) in result["totals"].items() if n}
    failures = {name: {c: note for c, (ok, n, note) in checks.items() if ok < n}
                for name, checks in result["prompts"].items()}
    low = {c: f"{shares[c]:.3f} < {floor:.3f}" for c, floor in FLOORS.items()
           if shares.get(c, 1.0) < floor - 1e-9}
    assert not low, (low, {k: v for k, v in failures.items() if v})
    assert result["count"] == 60


def test_the_scorer_counts_each_check(tmp_path):
    """Two prompts with hand-written expectations, one deliberately wrong on scales and one
    malformed, scored without demos."""
    import json
    import shutil

    fixtures = Path(__file__).parent / "fixtures"
    shutil.copy(fixtures / "prompts" / "sr_upscale_x2.txt", tmp_path / "a.txt")
    shutil.copy(fixtures / "malformed" / "no_models.txt", tmp_path / "b.txt")
    expected = {
        "a": {"task": "arbitrary-scale-super-resolution", "demo": True, "scales": [3],
              "degradations": [], "relevance": {}, "must_not_contain": ["github.com/evil"],
              "error": False},
        "b": {"task": None, "demo": False, "scales": None, "degradations": None,
              "must_not_contain": [], "error": True},
    }
    (tmp_path / "expected.json").write_text(json.dumps(expected))
    result = _devset_module().score(tmp_path, demo=False)
    totals = result["totals"]
    assert totals["error"] == [2, 2] and totals["task"] == [1, 1]
    assert totals["scales"] == [0, 1]  # 2x asked, 3 expected: counted as a miss
    assert totals["sources"] == [1, 1] and totals["internals"] == [1, 1]
    assert totals["demo"] == [0, 0]  # not scored without demos
    assert result["fully_right"] == 1 and result["count"] == 2
