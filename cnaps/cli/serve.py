"""`cnaps serve`: the upscaling workflow and the answers as a local web app and HTTP API."""

from __future__ import annotations

import ipaddress
import logging
import os
from pathlib import Path

import click


def default_jobs_dir() -> Path:
    """$CNAPS_HOME/jobs, else jobs/ in the user cache folder (beside the weights)."""
    from cnaps.sr.weights import cache_dir

    return cache_dir().parent / "jobs"


def machine_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback is reachable by others.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--token", envvar="CNAPS_TOKEN", default=None,
              help="Require 'Authorization: Bearer TOKEN' on the API (or set CNAPS_TOKEN).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Jobs run at once [default: half the CPUs, at least 1, at most 8].")
@click.option("--queue", "queue_size", type=click.IntRange(min=1), default=None,
              help="Jobs that may wait; more get 429 [default: 64, a folder of photos; "
                   "what waits is also bounded by 16 x --max-pixels output pixels and by "
                   "256 MB of free disk].")
@click.option("--jobs-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where job files live [default: $CNAPS_HOME/jobs or the user cache].")
@click.option("--job-ttl", type=click.FloatRange(min=1), default=3600, show_default=True,
              help="Seconds a finished job's files are kept.")
@click.option("--max-upload-mb", type=click.FloatRange(min=0.01), default=20, show_default=True)
@click.option("--max-pixels", type=click.IntRange(min=1), default=16_000_000, show_default=True,
              help="Largest input and output, in pixels.")
@click.option("--writer", type=click.Choice(["evidence", "llm"]), default="evidence", show_default=True,
              help="Who writes an answer's 'What the sources say': the evidence writer, or a "
                   "language model (--endpoint, --model) whose answer a guard checks.")
@click.option("--endpoint", help="--writer llm: base URL of an OpenAI-compatible server.")
@click.option("--model", "llm_model", help="--writer llm: the model name the server knows.")
def serve(host, port, token, workers, queue_size, jobs_dir, job_ttl, max_upload_mb, max_pixels,
          writer, endpoint, llm_model):
    """Serve the page (GET /), the API (/v1/..., docs at /docs) and /healthz.

    Jobs run in a bounded pool of worker threads, with the weights loaded once; results live
    under the jobs folder and expire. Jobs a killed server left unfinished are reported as lost
    at the next start.
    """
    import torch
    import uvicorn

    from cnaps.cli.answer import llm_settings
    from cnaps.serve.app import create_app
    from cnaps.serve.deps import Settings

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    cpus = machine_cpus()
    workers = workers or max(1, min(8, cpus // 2))
    # Torch's thread pool is shared by the worker threads: split the CPUs between them.
    torch.set_num_threads(max(1, cpus // workers))
    settings = Settings(jobs_dir=jobs_dir or default_jobs_dir(), workers=workers,
                        queue_size=queue_size or 64, job_ttl_seconds=job_ttl,
                        token=token, max_upload_bytes=int(max_upload_mb * 1024 * 1024),
                        max_input_pixels=max_pixels, max_output_pixels=max_pixels,
                        llm=llm_settings(writer, endpoint, llm_model, collection=False))
    if not is_loopback(host):
        click.echo(f"warning: listening on {host}, reachable from other machines"
                   + ("" if token else "; anyone who can reach it can use it (set --token)"),
                   err=True)
    app = create_app(settings)
    click.echo(f"cnaps serve: http://{host}:{port}/ ({workers} worker(s), "
               f"{torch.get_num_threads()} thread(s) each, queue {settings.queue_size}, "
               f"jobs in {settings.jobs_dir}"
               + (f", answers by {settings.llm.model} at {settings.llm.endpoint} behind the guard"
                  if settings.llm else "") + ")", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
