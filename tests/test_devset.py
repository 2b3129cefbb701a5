"""The development set (../shared/prompts-dev): every prompt answered, with its demo, and scored
per check by benchmarks/devset.py. Slow: a demo per super-resolution prompt."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_DIR = ROOT.parent / "shared" / "prompts-dev"
# The share of each check that must pass. The pipeline's own checks (the demo doing what the
# request asks, only the prompt's sources, no internals in the body, malformed prompts refused)
# must all pass. The request reading (task, scales, degradations), the relevance labels and the
# demo at the *expected* scale (which follows the request reading) are floors measured on this
# branch before the request and relevance rewrites land: raise them to 1.0 then.
FLOORS = {"demo-vs-request": 1.0, "sources": 1.0, "internals": 1.0, "error": 1.0,
          "task": 57 / 58, "scales": 43 / 58, "degradations": 52 / 58, "relevance": 126 / 145,
          "demo": 45 / 58}


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
