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

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cnaps.serve import routes
from cnaps.serve.deps import ApiError, Settings, too_big
from cnaps.serve.jobs import JobStore


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


async def api_error(request: Request, exc: ApiError):
    return JSONResponse({"error": exc.message}, exc.status, headers=exc.headers)


async def http_error(request: Request, exc: StarletteHTTPException):
    # Unknown routes and methods: the same JSON shape as every other error.
    return JSONResponse({"error": f"{exc.detail}: {request.method} {request.url.path}"},
                        exc.status_code, headers=getattr(exc, "headers", None))


async def invalid_request(request: Request, exc: RequestValidationError):
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}"
                         for e in exc.errors())
    return JSONResponse({"error": problems}, 422)


async def upload_limit(request: Request, call_next):
    """Refuse an oversized body from its declared length, before reading any of it."""
    settings = request.app.state.settings
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes + 65536:
        return JSONResponse({"error": too_big(int(declared), settings)}, 413)
    return await call_next(request)


def create_app(settings: Settings) -> FastAPI:
    """The app for one server: its job store and settings in `app.state`, the routers."""
    store = JobStore(settings.jobs_dir, settings.workers, settings.queue_size,
                     settings.job_ttl_seconds,
                     queue_pixels=settings.queue_pixels or 16 * settings.max_output_pixels,
                     min_free_bytes=int(settings.min_free_mb * 1024 * 1024))
    app = FastAPI(title="cnaps serve", version="1", docs_url=None,
                  description="LIIF super-resolution as an input -> model -> output workflow, "
                              "and answers to prompt files.")
    app.state.store, app.state.settings = store, settings
    _offline_docs(app)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.middleware("http")(upload_limit)
    app.include_router(routes.pages)
    app.include_router(routes.api)
    return app
