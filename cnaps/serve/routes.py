"""The routes of `cnaps serve`, as module-level handlers on two routers: `pages` (the web page,
the health check) and `api` (the /v1 HTTP API, behind the token check when one is set).
What they share (settings, job store, input checks) comes from `cnaps.serve.deps`."""

from __future__ import annotations

import functools
import math
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import FileResponse, HTMLResponse
from PIL import Image

from cnaps.answer.llm_writer import LLMSettings
from cnaps.errors import CnapsError
from cnaps.serve.deps import (
    NOT_TEXT,
    ApiError,
    Settings,
    authorised,
    check_image,
    done_file,
    enqueue,
    find_job,
    first_error,
    get_settings,
    get_store,
    parse_size,
    read_upload,
    require_weights,
    submit,
    too_big,
)
from cnaps.serve.jobs import JobRecord, JobStore
from cnaps.workflow import FileInput, ModelSpec, OutputSpec, UploadInput, Workflow

pages = APIRouter()
api = APIRouter(dependencies=[Depends(authorised)])


@pages.get("/", response_class=HTMLResponse, include_in_schema=False)
def page():
    return resources.files("cnaps.serve").joinpath("page.html").read_text("utf-8")


@pages.get("/healthz")
def healthz():
    return {"status": "ok"}


@api.get("/v1/models")
def models():
    from cnaps.sr.weights import installed

    return {"models": sorted(installed()), "precisions": ["exact", "fast", "auto"],
            "denoise": ["none", "nlm", "auto"]}


@api.post("/v1/upscale", status_code=202)
def upscale(file: UploadFile = File(..., description="the image"),
            scale: float | None = Form(None, description="enlargement factor > 1"),
            size: str | None = Form(None, description="output size WIDTHxHEIGHT"),
            model: str = Form("liif-edsr-baseline"),
            denoise: str = Form("none"), precision: str = Form("exact"),
            format: str = Form("png"),
            settings: Settings = Depends(get_settings), store: JobStore = Depends(get_store)):
    """Upscale an uploaded image: 202 {"job": ID}; poll /v1/jobs/ID, fetch /result."""
    if (scale is None) == (size is None or size == ""):
        raise ApiError(422, "give exactly one of scale (e.g. 4) and size (e.g. 1920x1080)")
    if scale is not None and not (math.isfinite(scale) and 1 < scale <= 32):
        raise ApiError(422, f"scale must be above 1 and at most 32, got {scale}")
    out_size = parse_size(size) if scale is None else None
    try:
        spec = ModelSpec(weights=model, denoise=denoise, precision=precision)
        output = OutputSpec(scale=scale, size=out_size, format=format)
    except ValueError as exc:
        raise ApiError(422, first_error(exc)) from None
    require_weights(spec.weights)
    data = read_upload(file, settings)
    check_image(data, settings)
    job = store.new("upscale")
    path = store.folder(job.id) / "input"
    path.write_bytes(data)
    return enqueue(store, settings, job,
                   Workflow(input=FileInput(path=str(path)), model=spec, output=output))


@api.post("/v1/workflows", status_code=202)
def workflows(wf: Workflow, settings: Settings = Depends(get_settings),
              store: JobStore = Depends(get_store)):
    """Run a Workflow (JSON): inputs are `sample` or `upload` (base64); `file` inputs name
    server paths and are refused."""
    if isinstance(wf.input, FileInput):
        raise ApiError(422, "file inputs are for the command line (cnaps run); send the "
                            "image as an upload input (base64) or use the sample")
    require_weights(wf.model.weights)
    job = store.new("workflow")
    if isinstance(wf.input, UploadInput):
        try:
            data = wf.input.data()
        except CnapsError as exc:
            store.discard(job)
            raise ApiError(422, str(exc)) from None
        if len(data) > settings.max_upload_bytes:
            store.discard(job)
            raise ApiError(413, too_big(len(data), settings))
        try:
            check_image(data, settings)
        except ApiError:
            store.discard(job)
            raise
        path = store.folder(job.id) / "input"
        path.write_bytes(data)
        wf = wf.model_copy(update={"input": FileInput(path=str(path), degrade=wf.input.degrade)})
    return enqueue(store, settings, job, wf)


def answer_task(job: JobRecord, folder: Path, writer: LLMSettings | None = None) -> None:
    """An answer job: the prompt saved in the job's folder, answered as `cnaps answer` would
    (with the server's language-model writer, when it has one)."""
    from cnaps.answer.folder import write_report
    from cnaps.answer.pipeline import make_report
    from cnaps.answer.records import AnswerOptions

    job.progress = 0.1
    report = make_report(folder / "prompt.txt", AnswerOptions(), writer)
    write_report(report, folder / "answer")
    job.details = {"demo": report.record.demo is not None}
    job.result_file, job.result_type = "answer/answer.json", "application/json"


@api.post("/v1/answer", status_code=202)
def answer(prompt: UploadFile | None = File(None, description="prompt file"),
           prompt_text: str | None = Form(None, description="or the prompt as text"),
           settings: Settings = Depends(get_settings), store: JobStore = Depends(get_store)):
    """Answer a prompt file as `cnaps answer` would: 202 {"job": ID}; the result is
    answer.json at /v1/jobs/ID/result and the page at /v1/jobs/ID/answer.html."""
    not_utf8 = ("the prompt ({}) is not UTF-8 text: save it as UTF-8 (or plain ASCII) "
                "and send it again")
    if prompt is not None and prompt.filename:
        data = read_upload(prompt, settings)
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(422, not_utf8.format("file 'prompt'")) from None
    elif prompt_text:
        # The raw bytes are gone: Starlette decoded the field, an urlencoded one with U+FFFD
        # for bytes that are no UTF-8, a multipart one as Latin-1 when it is not UTF-8.
        # Either leaves a trace (U+FFFD, NULs, C1 controls: UTF-16, binary, cp1252) that
        # no text has; a Latin-1 "é" reads as "é" and is kept.
        if NOT_TEXT.search(prompt_text):
            raise ApiError(422, not_utf8.format("field 'prompt_text'"))
        data = prompt_text.encode("utf-8")
    else:
        raise ApiError(422, "send the prompt as a file (field 'prompt') or as text "
                            "(field 'prompt_text')")
    job = store.new("answer")
    (store.folder(job.id) / "prompt.txt").write_bytes(data)
    return submit(store, job, functools.partial(answer_task, writer=settings.llm), None)


@api.get("/v1/jobs/{job_id}")
def job_status(job_id: str, settings: Settings = Depends(get_settings),
               store: JobStore = Depends(get_store)):
    """{"status": queued|running|done|failed, "progress": 0..1, "error": ...}"""
    return find_job(store, settings, job_id).public()


@api.get("/v1/jobs/{job_id}/result")
def job_result(job_id: str, settings: Settings = Depends(get_settings),
               store: JobStore = Depends(get_store)):
    """The output image (or answer.json for an answer job)."""
    job = find_job(store, settings, job_id)
    path = done_file(store, job, job.result_file)
    return FileResponse(path, media_type=job.result_type, filename=f"cnaps-{job.id}{path.suffix}")


@api.get("/v1/jobs/{job_id}/input")
def job_input(job_id: str, settings: Settings = Depends(get_settings),
              store: JobStore = Depends(get_store)):
    """The input as the job read it, as PNG (for the before/after view)."""
    from cnaps.sr.imageio import save_atomic

    job = find_job(store, settings, job_id)
    folder = store.folder(job.id)
    preview = folder / "input-preview.png"
    if not preview.is_file():
        source = folder / "input"
        if not source.is_file():
            raise ApiError(404, f"job {job.id} has no image input")
        with Image.open(source) as img:
            save_atomic(img.convert("RGBA" if "A" in img.getbands() else "RGB"), preview)
    return FileResponse(preview, media_type="image/png")


@api.get("/v1/jobs/{job_id}/answer.html", response_class=HTMLResponse)
def job_answer_html(job_id: str, settings: Settings = Depends(get_settings),
                    store: JobStore = Depends(get_store)):
    job = find_job(store, settings, job_id)
    if job.kind != "answer":
        raise ApiError(404, f"job {job.id} is an {job.kind} job, not an answer")
    return FileResponse(done_file(store, job, "answer/answer.html"), media_type="text/html")
