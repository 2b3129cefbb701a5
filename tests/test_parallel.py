"""cnaps.parallel: results in order, and a worker that dies becomes a row, not a crash."""

from __future__ import annotations

import os

import pytest

from cnaps.parallel import ParallelError, check_ray_address, run_all


def square_or_die(n: int) -> int:
    if n == 3:
        os._exit(1)  # the worker process dies, as when the kernel kills it for memory
    return n * n


def test_pool_keeps_order():
    assert run_all(square_or_die, [5, 1, 4, 2], jobs=2, quiet=True) == [25, 1, 16, 4]


def test_dead_worker_becomes_a_row():
    results = run_all(square_or_die, [1, 2, 3, 4], jobs=2, quiet=True,
                      on_crash=lambda item, reason: ("failed", item, reason))
    assert results[2][:2] == ("failed", 3) and results[2][2].startswith("worker died: ")
    # the pool breaks with the dead worker: each other item is either done or reported failed
    for n, result in zip([1, 2, 4], [results[0], results[1], results[3]]):
        assert result == n * n or result[:2] == ("failed", n)


@pytest.mark.parametrize("address", [None, "local", "auto", "ray://head:10001", "10.0.0.2:6379"])
def test_ray_addresses_accepted(address):
    assert check_ray_address(address) == address


@pytest.mark.parametrize("address", ["prompts/", "ray:/x", "host:"])
def test_ray_address_rejected(address):
    with pytest.raises(ParallelError):
        check_ray_address(address)
