"""Run one function over many items: in this process, in N local worker processes, or as Ray
tasks (a local Ray, or an existing cluster), with one progress bar (count, rate, ETA).

The function and its items must be picklable (a module-level function and plain data), and it
must isolate its own failures (return a row saying what went wrong rather than raise), so one
bad item never stops the others. Results come back in the items' order.

Local workers are started with `spawn` (a fresh interpreter: no torch thread pool inherited
through fork) and each loads the weights once for all its items. Ray workers must be able to
import cnaps: a local Ray inherits this environment; on a cluster, install cnaps on every node.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

import click
from tqdm import tqdm

from cnaps.errors import CnapsError

RAY_HINT = "--ray needs Ray: pip install 'cnaps[ray]' (or: pip install ray==2.60.0)"


class ParallelError(CnapsError):
    """A parallel run that cannot start (Ray missing or unreachable, bad --jobs/--ray)."""


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    """Torch threads for each of `workers` concurrent workers, so they share the cores
    instead of oversubscribing them."""
    return max(1, usable_cores() // max(1, workers))


def check_ray_address(address: str | None) -> str | None:
    """None (no Ray), 'local', 'auto', 'ray://host:port' or 'host:port'."""
    if address is None or address in ("local", "auto") or address.startswith("ray://"):
        return address
    host, _, port = address.rpartition(":")
    if host and port.isdigit():
        return address
    raise ParallelError(
        f"--ray {address!r}: expected no value (a local Ray), 'auto', 'ray://HOST:10001' or "
        "HOST:PORT; give --ray after the prompts or as --ray=ADDRESS")


def run_all(fn: Callable, items: Sequence, *, jobs: int = 1, ray: str | None = None,
            desc: str = "", unit: str = "item", quiet: bool = False,
            on_crash: Callable[[object, str], object] | None = None) -> list:
    """[fn(item) for item in items], run as asked, with a progress bar on stderr.

    `on_crash(item, reason)` makes the result for an item whose worker died (killed for
    memory, crashed) instead of stopping the run; without it the error propagates."""
    if jobs < 1:
        raise ParallelError(f"--jobs must be at least 1, got {jobs}")
    ray = check_ray_address(ray)
    bar = tqdm(total=len(items), desc=desc, unit=unit, disable=quiet or not items,
               dynamic_ncols=True)
    try:
        if ray is not None:
            return _run_ray(fn, items, ray, bar, on_crash)
        if jobs == 1 or len(items) <= 1:
            results = []
            for item in items:
                results.append(fn(item))
                bar.update()
            return results
        return _run_pool(fn, items, jobs, bar, on_crash)
    finally:
        bar.close()


def _crashed(on_crash, item, exc: BaseException):
    if on_crash is None:
        raise exc
    first = str(exc).splitlines()[0] if str(exc) else ""
    return on_crash(item, f"worker died: {type(exc).__name__}: {first}")


def _run_pool(fn, items, jobs, bar, on_crash) -> list:
    results: list = [None] * len(items)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(items)), mp_context=context) as pool:
        futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as exc:  # the worker process died (BrokenProcessPool, ...)
                results[i] = _crashed(on_crash, items[i], exc)
            bar.update()
    return results


def _run_ray(fn, items, address, bar, on_crash) -> list:
    try:
        import ray
    except ImportError:
        raise ParallelError(RAY_HINT) from None
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=None if address == "local" else address, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        except Exception as exc:  # unreachable cluster, bad address: one line
            raise ParallelError(f"could not start or reach Ray at {address!r}: "
                                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                                ) from None
    try:
        task = ray.remote(num_cpus=1)(_call)
        refs = [task.remote(fn, item) for item in items]
        where = {ref: i for i, ref in enumerate(refs)}
        results: list = [None] * len(items)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                i = where[ref]
                try:
                    results[i] = ray.get(ref)
                except Exception as exc:  # worker crashed or was killed (RayError)
                    results[i] = _crashed(on_crash, items[i], exc)
                bar.update()
        return results
    finally:
        if started_here:
            ray.shutdown()


def _call(fn, item):
    """fn(item) inside a Ray task (Ray's decorator takes plain functions, not partials)."""
    return fn(item)


def parallel_options(command):
    """--jobs and --ray, shared by `cnaps answer` and `cnaps upscale` on many inputs."""
    command = click.option(
        "--ray", "ray_address", default=None, is_flag=False, flag_value="local",
        metavar="[ADDRESS]",
        help="Run as Ray tasks: a local Ray when no ADDRESS, 'auto' or ray://HOST:10001 for a "
             "cluster (needs cnaps[ray]; give --ray last or as --ray=ADDRESS).")(command)
    command = click.option(
        "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
        help="Local worker processes for many inputs.")(command)
    command = click.option(
        "--force", is_flag=True,
        help="Redo inputs whose output is already up to date.")(command)
    return command
