"""Jobs of `cnaps serve`: a record on disk per job, and a bounded pool of worker threads.

Each job lives in `<jobs dir>/<id>/` with `job.json` (its state) and its files. Results are
written atomically and `job.json` says "done" only after them, so a server killed mid-job leaves
a job still marked queued or running: the next start marks it "failed" with the reason, deletes
its partial files and logs which jobs were lost (nothing is resumed: the client submits again).
Job ids are random (`secrets.token_urlsafe`), and only ids of that form are looked up, so a
client can never name a server path. Jobs older than the expiry are deleted.
"""

from __future__ import annotations

import logging
import math
import os
import queue
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger("cnaps.serve")

Status = Literal["queued", "running", "done", "failed"]
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")
RESULT_PREFIX = "result"


class JobRecord(BaseModel):
    """job.json: what a client can learn about a job (no server paths)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    kind: Literal["upscale", "workflow", "answer"]
    status: Status = "queued"
    progress: float = 0.0
    error: str | None = None
    created: float = Field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    result_type: str | None = Field(None, description="media type of /result when done")
    result_file: str | None = Field(None, description="file name inside the job folder")
    details: dict = Field(default_factory=dict, description="sizes, weights, demo metrics")
    expected_seconds: float | None = Field(None, description="estimate for the progress bar")

    def public(self) -> dict:
        data = self.model_dump(exclude={"result_file", "expected_seconds"})
        data["progress"] = round(self.progress_now(), 3)
        return data

    def progress_now(self) -> float:
        """Stage progress, plus an estimate while the model runs (from the throughput of the
        jobs before it): the engine gives no per-pixel callback."""
        if self.status != "running" or not self.expected_seconds or self.started is None:
            return self.progress
        guess = 0.1 + 0.85 * min(1.0, (time.time() - self.started) / self.expected_seconds)
        return max(self.progress, min(guess, 0.95))


class QueueFull(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"the job queue is full; retry in {retry_after} s")
        self.retry_after = retry_after


class JobStore:
    """Job folders under `root`, their records in memory, a queue and worker threads."""

    def __init__(self, root: Path, workers: int, queue_size: int, ttl_seconds: float,
                 queue_pixels: int | None = None, min_free_bytes: int = 0):
        """At most `queue_size` jobs and `queue_pixels` output pixels wait (a batch of photos
        fits, an overload does not), and none is queued while the jobs folder's disk has less
        than `min_free_bytes` free."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.ttl = ttl_seconds
        self._jobs: dict[str, JobRecord] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self.queue_pixels, self.min_free_bytes = queue_pixels, min_free_bytes
        self._queued_pixels = 0  # output pixels of the waiting jobs, under _lock
        self._seconds_per_job = 2.0  # running mean, for Retry-After
        self._seconds_per_pixel = 2e-6  # running mean, for the progress estimate
        self.lost = self.recover()
        self._threads = [threading.Thread(target=self._work, name=f"cnaps-worker-{i}",
                                          daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()
        threading.Thread(target=self._expire_loop, name="cnaps-expiry", daemon=True).start()

    # -- records ---------------------------------------------------------------------------
    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def new(self, kind: str) -> JobRecord:
        job = JobRecord(id=secrets.token_urlsafe(12), kind=kind)
        self.folder(job.id).mkdir()
        with self._lock:
            self._jobs[job.id] = job
        self._save(job)
        return job

    def get(self, job_id: str) -> JobRecord | None:
        if not JOB_ID.match(job_id):
            return None
        with self._lock:
            return self._jobs.get(job_id)

    def _save(self, job: JobRecord) -> None:
        folder = self.folder(job.id)
        tmp = folder / ".job.json.tmp"
        tmp.write_text(job.model_dump_json(indent=1), encoding="utf-8")
        os.replace(tmp, folder / "job.json")

    def discard(self, job: JobRecord) -> None:
        with self._lock:
            self._jobs.pop(job.id, None)
        shutil.rmtree(self.folder(job.id), ignore_errors=True)

    # -- queue -----------------------------------------------------------------------------
    def submit(self, job: JobRecord, task: Callable[[JobRecord, Path], None],
               expected_pixels: int | None = None) -> None:
        """Queue the job, or discard it and raise QueueFull (the client gets 429)."""
        if expected_pixels:
            job.expected_seconds = expected_pixels * self._seconds_per_pixel
        pixels = expected_pixels or 0
        with self._lock:
            full = (self.queue_pixels is not None and self._queued_pixels > 0
                    and self._queued_pixels + pixels > self.queue_pixels)
            full = full or shutil.disk_usage(self.root).free < self.min_free_bytes
            if not full:
                try:
                    self._queue.put_nowait((job, task, expected_pixels))
                    self._queued_pixels += pixels
                except queue.Full:
                    full = True
        if full:
            self.discard(job)
            waiting = self._queue.qsize() + self.workers
            raise QueueFull(max(1, math.ceil(self._seconds_per_job * waiting / self.workers)))

    def _work(self) -> None:
        while True:
            job, task, pixels = self._queue.get()
            with self._lock:
                self._queued_pixels -= pixels or 0
            job.status, job.started, job.progress = "running", time.time(), 0.0
            self._save(job)
            try:
                task(job, self.folder(job.id))
                job.status, job.progress = "done", 1.0
            except Exception as exc:  # noqa: BLE001 - every failure is reported on the job
                from cnaps.errors import CnapsError

                job.status = "failed"
                job.error = str(exc) if isinstance(exc, CnapsError) else (
                    f"internal error: {type(exc).__name__}: {exc}")
                if not isinstance(exc, CnapsError):
                    log.exception("job %s failed", job.id)
            job.finished = time.time()
            seconds = job.finished - job.started
            self._seconds_per_job = 0.8 * self._seconds_per_job + 0.2 * seconds
            if pixels and job.status == "done":
                self._seconds_per_pixel = (0.7 * self._seconds_per_pixel
                                           + 0.3 * seconds / pixels)
            if self.folder(job.id).is_dir():
                self._save(job)
            self._queue.task_done()

    # -- restart and expiry ----------------------------------------------------------------
    def recover(self) -> list[str]:
        """Load the jobs a previous server left; mark unfinished ones lost. Returns their ids."""
        lost = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            try:
                job = JobRecord.model_validate_json((folder / "job.json").read_text("utf-8"))
            except (OSError, ValueError):
                shutil.rmtree(folder, ignore_errors=True)  # not a job we can account for
                continue
            if job.status in ("queued", "running"):
                lost.append(job.id)
                job.error = (f"lost: the server stopped while this job was {job.status}; "
                             "nothing was kept, submit it again")
                job.status, job.finished = "failed", time.time()
                job.result_file = job.result_type = None
                for path in folder.iterdir():
                    if path.name.startswith((RESULT_PREFIX, ".")) or path.name == "answer":
                        shutil.rmtree(path) if path.is_dir() else path.unlink()
                self._save(job)
            self._jobs[job.id] = job
        if lost:
            log.warning("%d job(s) lost when the server last stopped (marked failed): %s",
                        len(lost), ", ".join(lost))
        self.expire()
        return lost

    def expire(self) -> None:
        cutoff = time.time() - self.ttl
        with self._lock:
            # Kept for the ttl after they finish (a job lost in a restart: after the restart).
            old = [job for job in self._jobs.values()
                   if job.status in ("done", "failed") and (job.finished or job.created) < cutoff]
            for job in old:
                del self._jobs[job.id]
        for job in old:
            shutil.rmtree(self.folder(job.id), ignore_errors=True)

    def _expire_loop(self) -> None:
        while True:
            time.sleep(min(60.0, max(1.0, self.ttl / 4)))
            self.expire()

    def pending(self) -> int:
        return self._queue.qsize()
