"""The HTTP API and the page of `cnaps serve` (FastAPI on uvicorn).

Every job is a `cnaps.workflow.Workflow` (or a prompt to answer) run by the bounded pool of
`cnaps.serve.jobs`. Inputs are checked before a job is queued, so bad input is answered at
once with a JSON error `{"error": message}` and the right status, and leaves nothing behind:
not an image (judged by content) 415; decompression bomb or input over the pixel limit 413;
upload over the size limit 413; nonsense scale or size, output over the pixel limit 422;
unknown job 404; a prompt that is not UTF-8 text (file or form field) 422;
full queue 429 with Retry-After; missing or wrong token 401.
"""

from __future__ import annotations

import io
import math
import re
import secrets
import warnings
from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from cnaps.errors import CnapsError
from cnaps.serve.jobs import JobRecord, JobStore, QueueFull
from cnaps.workflow import (
    FileInput,
    ModelSpec,
    OutputSpec,
    UploadInput,
    Workflow,
    load_input,
    run_workflow,
)


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


def _offline_docs(app: FastAPI) -> None:
    """/docs from the Swagger UI files of the swagger-ui-bundle wheel: FastAPI's default page
    loads them from a CDN, which leaves it blank on a machine without internet."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/static/swagger", StaticFiles(directory=swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} - API docs",
                                   swagger_js_url="/static/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger/swagger-ui.css",
                                   swagger_favicon_url="/static/swagger/favicon-32x32.png")


_NOT_TEXT = re.compile("[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def create_app(settings: Settings) -> FastAPI:
    store = JobStore(settings.jobs_dir, settings.workers, settings.queue_size,
                     settings.job_ttl_seconds,
                     queue_pixels=settings.queue_pixels or 16 * settings.max_output_pixels,
                     min_free_bytes=int(settings.min_free_mb * 1024 * 1024))
    app = FastAPI(title="cnaps serve", version="1", docs_url=None,
                  description="LIIF super-resolution as an input -> model -> output workflow, "
                              "and answers to prompt files.")
    app.state.store, app.state.settings = store, settings
    _offline_docs(app)

    @app.exception_handler(ApiError)
    async def _api_error(request, exc: ApiError):
        return JSONResponse({"error": exc.message}, exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc: StarletteHTTPException):
        # Unknown routes and methods: the same JSON shape as every other error.
        return JSONResponse({"error": f"{exc.detail}: {request.method} {request.url.path}"},
                            exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}"
                             for e in exc.errors())
        return JSONResponse({"error": problems}, 422)

    @app.middleware("http")
    async def _upload_limit(request: Request, call_next):
        # Refuse an oversized body from its declared length, before reading any of it.
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + 65536:
            return JSONResponse({"error": _too_big(int(declared))}, 413)
        return await call_next(request)

    def _too_big(size: int) -> str:
        return (f"upload of {size / 1e6:.1f} MB is over the limit of "
                f"{settings.max_upload_bytes / 1e6:.1f} MB")

    def authorised(request: Request) -> None:
        if settings.token is None:
            return
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {settings.token}".encode()):
            raise ApiError(401, "this server needs a bearer token: send the header "
                                "'Authorization: Bearer TOKEN' (the --token it was started with)",
                           headers={"WWW-Authenticate": "Bearer"})

    api = [Depends(authorised)]

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page():
        return resources.files("cnaps.serve").joinpath("page.html").read_text("utf-8")

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.get("/v1/models", dependencies=api)
    def models():
        from cnaps.sr.weights import installed

        return {"models": sorted(installed()), "precisions": ["exact", "fast", "auto"],
                "denoise": ["none", "nlm", "auto"]}

    def read_upload(upload: UploadFile) -> bytes:
        data = upload.file.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise ApiError(413, _too_big(len(data)))
        if not data:
            raise ApiError(422, "the uploaded file is empty")
        return data

    def check_image(data: bytes) -> None:
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

    def enqueue(job: JobRecord, wf: Workflow) -> JSONResponse:
        """Check that the workflow can run (input decodes, output within limits), then queue."""
        try:
            image = load_input(wf.input, settings.max_input_pixels, allow_files=True)
            from cnaps.sr.inference import output_size

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
            def progress(fraction: float) -> None:
                job.progress = fraction

            result = run_workflow(wf, allow_files=True, max_input_pixels=settings.max_input_pixels,
                                  max_output_pixels=settings.max_output_pixels,
                                  on_progress=progress)
            name = f"result.{wf.output.format}"
            from cnaps.sr.imageio import save_atomic

            save_atomic(result.image, folder / name)
            job.details.update(weights=result.weights, precision=result.precision,
                               seconds=result.seconds)
            if result.demo is not None:
                job.details["demo"] = result.demo.model_dump(mode="json")
            job.result_file = name
            job.result_type = f"image/{wf.output.format}"

        return _queue(job, task, out_h * out_w)

    def _queue(job: JobRecord, task, pixels: int | None) -> JSONResponse:
        try:
            store.submit(job, task, pixels)
        except QueueFull as exc:
            raise ApiError(429, str(exc), headers={"Retry-After": str(exc.retry_after)}) from None
        return JSONResponse({"job": job.id}, 202)

    @app.post("/v1/upscale", status_code=202, dependencies=api)
    def upscale(file: UploadFile = File(..., description="the image"),
                scale: float | None = Form(None, description="enlargement factor > 1"),
                size: str | None = Form(None, description="output size WIDTHxHEIGHT"),
                model: str = Form("liif-edsr-baseline"),
                denoise: str = Form("none"), precision: str = Form("exact"),
                format: str = Form("png")):
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
            raise ApiError(422, _first_error(exc)) from None
        _require_weights(spec.weights)
        data = read_upload(file)
        check_image(data)
        job = store.new("upscale")
        path = store.folder(job.id) / "input"
        path.write_bytes(data)
        return enqueue(job, Workflow(input=FileInput(path=str(path)), model=spec, output=output))

    @app.post("/v1/workflows", status_code=202, dependencies=api)
    def workflows(wf: Workflow):
        """Run a Workflow (JSON): inputs are `sample` or `upload` (base64); `file` inputs name
        server paths and are refused."""
        if isinstance(wf.input, FileInput):
            raise ApiError(422, "file inputs are for the command line (cnaps run); send the "
                                "image as an upload input (base64) or use the sample")
        _require_weights(wf.model.weights)
        job = store.new("workflow")
        if isinstance(wf.input, UploadInput):
            try:
                data = wf.input.data()
            except CnapsError as exc:
                store.discard(job)
                raise ApiError(422, str(exc)) from None
            if len(data) > settings.max_upload_bytes:
                store.discard(job)
                raise ApiError(413, _too_big(len(data)))
            try:
                check_image(data)
            except ApiError:
                store.discard(job)
                raise
            path = store.folder(job.id) / "input"
            path.write_bytes(data)
            wf = wf.model_copy(update={"input": FileInput(path=str(path),
                                                          degrade=wf.input.degrade)})
        return enqueue(job, wf)

    @app.post("/v1/answer", status_code=202, dependencies=api)
    def answer(prompt: UploadFile | None = File(None, description="prompt file"),
               prompt_text: str | None = Form(None, description="or the prompt as text")):
        """Answer a prompt file as `cnaps answer` would: 202 {"job": ID}; the result is
        answer.json at /v1/jobs/ID/result and the page at /v1/jobs/ID/answer.html."""
        not_utf8 = ("the prompt ({}) is not UTF-8 text: save it as UTF-8 (or plain ASCII) "
                    "and send it again")
        if prompt is not None and prompt.filename:
            data = read_upload(prompt)
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(422, not_utf8.format("file 'prompt'")) from None
        elif prompt_text:
            # The raw bytes are gone: Starlette decoded the field, an urlencoded one with U+FFFD
            # for bytes that are no UTF-8, a multipart one as Latin-1 when it is not UTF-8.
            # Either leaves a trace (U+FFFD, NULs, C1 controls: UTF-16, binary, cp1252) that
            # no text has; a Latin-1 "é" reads as "é" and is kept.
            if _NOT_TEXT.search(prompt_text):
                raise ApiError(422, not_utf8.format("field 'prompt_text'"))
            data = prompt_text.encode("utf-8")
        else:
            raise ApiError(422, "send the prompt as a file (field 'prompt') or as text "
                                "(field 'prompt_text')")
        job = store.new("answer")
        (store.folder(job.id) / "prompt.txt").write_bytes(data)

        def task(job: JobRecord, folder: Path) -> None:
            from cnaps.answer.folder import write_report
            from cnaps.answer.pipeline import make_report
            from cnaps.answer.records import AnswerOptions

            job.progress = 0.1
            report = make_report(folder / "prompt.txt", AnswerOptions())
            write_report(report, folder / "answer")
            job.details = {"demo": report.record.demo is not None}
            job.result_file, job.result_type = "answer/answer.json", "application/json"

        return _queue(job, task, None)

    def _job(job_id: str) -> JobRecord:
        job = store.get(job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id!r} (unknown, or expired after "
                                f"{settings.job_ttl_seconds:g} s)")
        return job

    @app.get("/v1/jobs/{job_id}", dependencies=api)
    def job_status(job_id: str):
        """{"status": queued|running|done|failed, "progress": 0..1, "error": ...}"""
        return _job(job_id).public()

    def _done_file(job: JobRecord, name: str) -> Path:
        if job.status != "done" or name is None:
            raise ApiError(409 if job.status != "failed" else 410,
                           f"job {job.id} is {job.status}"
                           + (f": {job.error}" if job.error else "; poll /v1/jobs/" + job.id))
        path = store.folder(job.id) / name
        if not path.is_file():
            raise ApiError(404, f"job {job.id} has no such result (expired?)")
        return path

    @app.get("/v1/jobs/{job_id}/result", dependencies=api)
    def job_result(job_id: str):
        """The output image (or answer.json for an answer job)."""
        job = _job(job_id)
        path = _done_file(job, job.result_file)
        return FileResponse(path, media_type=job.result_type,
                            filename=f"cnaps-{job.id}{path.suffix}")

    @app.get("/v1/jobs/{job_id}/input", dependencies=api)
    def job_input(job_id: str):
        """The input as the job read it, as PNG (for the before/after view)."""
        job = _job(job_id)
        folder = store.folder(job.id)
        preview = folder / "input-preview.png"
        if not preview.is_file():
            source = folder / "input"
            if not source.is_file():
                raise ApiError(404, f"job {job.id} has no image input")
            from cnaps.sr.imageio import save_atomic

            with Image.open(source) as img:
                save_atomic(img.convert("RGBA" if "A" in img.getbands() else "RGB"), preview)
        return FileResponse(preview, media_type="image/png")

    @app.get("/v1/jobs/{job_id}/answer.html", response_class=HTMLResponse, dependencies=api)
    def job_answer_html(job_id: str):
        job = _job(job_id)
        if job.kind != "answer":
            raise ApiError(404, f"job {job.id} is an {job.kind} job, not an answer")
        return FileResponse(_done_file(job, "answer/answer.html"), media_type="text/html")

    return app


def _require_weights(name: str) -> None:
    from cnaps.sr.weights import installed

    have = installed()
    if name not in have:
        raise ApiError(422, f"model {name!r} is not installed here; installed: "
                            + (", ".join(sorted(have)) or "none (cnaps weights pull)"))


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors())
    return str(exc)
