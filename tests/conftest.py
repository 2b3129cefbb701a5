"""Shared fixtures. Nothing here needs the network; data-dependent tests skip with a reason."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))  # lets tests import the plain reference (plain_liif.py)

BENCHMARK_DIR = TESTS.parent.parent / "shared" / "data" / "benchmark"


@pytest.fixture(scope="session")
def released_model():
    """The released EDSR-baseline-LIIF weights, as `make install` puts them in the cache."""
    from cnaps.errors import WeightsNotInstalledError
    from cnaps.sr.checkpoint import load_model
    from cnaps.sr.weights import DEFAULT_WEIGHTS, resolve

    try:
        entry = resolve(DEFAULT_WEIGHTS)
    except WeightsNotInstalledError as exc:
        pytest.skip(f"{exc} (make install does this)")
    return load_model(entry.file)


@pytest.fixture(scope="session")
def benchmark_dir() -> Path:
    if not (BENCHMARK_DIR / "Set5" / "HR").is_dir():
        pytest.skip(f"benchmark data not found at {BENCHMARK_DIR}")
    return BENCHMARK_DIR
