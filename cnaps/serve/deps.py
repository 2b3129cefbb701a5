"""What the routes of `cnaps serve` share: the settings, the job store, the token check, and
the checks every input passes before a job is queued (FastAPI dependencies and helpers)."""

from __future__ import annotations

import io
import re
import secrets
import warnings
from pathlib import Path

from fastapi import Request, UploadFile
from fastapi.responses import JSONResponse
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field

from cnaps.answer.llm_writer import LLMSettings
from cnaps.errors import CnapsError
from cnaps.serve.jobs import JobRecord, JobStore, QueueFull
from cnaps.workflow import Workflow, load_input, run_workflow


class Settings(BaseModel):
    """Limits and sizes of one server."""

    model_config = ConfigDict(extra="forbid")
    jobs_dir: Path
    workers: int = Field(1, ge=1)
    queue_size: int = Field(64, ge=1, description="jobs waiting beyond the running ones")
    queue_pixels: int | None = Field(None, ge=1, description="output pixels waiting at most; "
                                     "None: 16 x max_output_pixels")
    min_free_mb: float = Field(256, ge=0, description="no job is queued with less free disk")
    job_ttl_seconds: float = Field(3600, gt=0)
    token: str | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    max_input_pixels: int = 16_000_000
    max_output_pixels: int = 16_000_000
    # `cnaps serve --writer llm`: answers' evidence section by a language model, behind the
    # guard (cnaps.answer.llm_writer); None: the evidence writer, no network.
    llm: LLMSettings | None = None


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (W, H)."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*", text)
    if not match:
        raise ApiError(422, f"size must look like WIDTHxHEIGHT (e.g. 1920x1080), got {text!r}")
    return int(match.group(1)), int(match.group(2))


NOT_TEXT = re.compile("[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_store(request: Request) -> JobStore:
    return request.app.state.store


def authorised(request: Request) -> None:
    settings = get_settings(request)
    if settings.token is None:
        return
    given = request.headers.get("authorization", "")
    if not secrets.compare_digest(given.encode(), f"Bearer {settings.token}".encode()):
        raise ApiError(401, "this server needs a bearer token: send the header "
                            "'Authorization: Bearer TOKEN' (the --token it was started with)",
                       headers={"WWW-Authenticate": "Bearer"})


def too_big(size: int, settings: Settings) -> str:
    return (f"upload of {size / 1e6:.1f} MB is over the limit of "
            f"{settings.max_upload_bytes / 1e6:.1f} MB")


def read_upload(upload: UploadFile, settings: Settings) -> bytes:
    data = upload.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise ApiError(413, too_big(len(data), settings))
    if not data:
        raise ApiError(422, "the uploaded file is empty")
    return data


def check_image(data: bytes, settings: Settings) -> None:
    """Judge by content: Pillow must recognise it, and its declared size must be within
    the pixel limit, read from the header before any pixel is decoded."""
    Image.MAX_IMAGE_PIXELS = None  # the explicit limit below replaces Pillow's guess
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ApiError(415, "the upload is not an image Pillow can read (PNG, JPEG, WebP, "
                            "TIFF, BMP, ...), whatever its name says") from None
    if width * height > settings.max_input_pixels:
        raise ApiError(413, f"the image declares {width}x{height} = "
                            f"{width * height / 1e6:.1f} MP, over the input limit of "
                            f"{settings.max_input_pixels / 1e6:.1f} MP (a decompression "
                            "bomb, or simply too large)")


def submit(store: JobStore, job: JobRecord, task, pixels: int | None) -> JSONResponse:
    """Queue a checked job: 202 {"job": ID}, or 429 with Retry-After when the queue is full."""
    try:
        store.submit(job, task, pixels)
    except QueueFull as exc:
        raise ApiError(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
    return JSONResponse({"job": job.id}, 202)


def enqueue(store: JobStore, settings: Settings, job: JobRecord, wf: Workflow) -> JSONResponse:
    """Check that the workflow can run (input decodes, output within limits), then queue."""
    from cnaps.sr.inference import output_size

    try:
        image = load_input(wf.input, settings.max_input_pixels, allow_files=True)
        height, width = image.size
        size = None if wf.output.size is None else (wf.output.size[1], wf.output.size[0])
        if wf.input.degrade is not None:  # a demo: shrunk by the scale, enlarged back
            out_h, out_w = height, width
        else:
            out_h, out_w = output_size(height, width, scale=wf.output.scale, size=size,
                                       max_pixels=settings.max_output_pixels)
    except CnapsError as exc:
        store.discard(job)
        raise ApiError(422, str(exc)) from None
    job.details = {"input_size": [width, height], "output_size": [out_w, out_h],
                   "weights": wf.model.weights, "precision": wf.model.precision,
                   "denoise": wf.model.denoise}

    def task(job: JobRecord, folder: Path) -> None:
        from cnaps.sr.imageio import save_atomic

        def progress(fraction: float) -> None:
            job.progress = fraction

        result = run_workflow(wf, allow_files=True, max_input_pixels=settings.max_input_pixels,
                              max_output_pixels=settings.max_output_pixels,
                              on_progress=progress)
        name = f"result.{wf.output.format}"
        save_atomic(result.image, folder / name)
        job.details.update(weights=result.weights, precision=result.precision,
                           seconds=result.seconds)
        if result.demo is not None:
            job.details["demo"] = result.demo.model_dump(mode="json")
        job.result_file = name
        job.result_type = f"image/{wf.output.format}"

    return submit(store, job, task, out_h * out_w)


def find_job(store: JobStore, settings: Settings, job_id: str) -> JobRecord:
    job = store.get(job_id)
    if job is None:
        raise ApiError(404, f"no job {job_id!r} (unknown, or expired after "
                            f"{settings.job_ttl_seconds:g} s)")
    return job


def done_file(store: JobStore, job: JobRecord, name: str | None) -> Path:
    if job.status != "done" or name is None:
        raise ApiError(409 if job.status != "failed" else 410,
                       f"job {job.id} is {job.status}"
                       + (f": {job.error}" if job.error else "; poll /v1/jobs/" + job.id))
    path = store.folder(job.id) / name
    if not path.is_file():
        raise ApiError(404, f"job {job.id} has no such result (expired?)")
    return path


def require_weights(name: str) -> None:
    from cnaps.sr.weights import installed

    have = installed()
    if name not in have:
        raise ApiError(422, f"model {name!r} is not installed here; installed: "
                            + (", ".join(sorted(have)) or "none (cnaps weights pull)"))


def first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors())
    return str(exc)
