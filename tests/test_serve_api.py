"""`cnaps serve` over HTTP: a real uvicorn on a free loopback port, driven with httpx."""

from __future__ import annotations

import base64
import io
import math
import struct
import time
import zlib
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from serve_server import Server, wait_done

TOKEN = "test-token-123"
FIXTURE_PROMPTS = Path(__file__).resolve().parent / "fixtures" / "prompts"


def photo_like(width: int, height: int) -> np.ndarray:
    """A smooth colour image with an edge (gradients and a disc): upscaling it sensibly stays
    close to bicubic, unlike noise."""
    y, x = np.mgrid[0:height, 0:width]
    disc = ((x - width / 2) ** 2 + (y - height / 2) ** 2) < (min(width, height) / 3) ** 2
    rgb = np.stack([x / width * 200, y / height * 200, 120 + 100 * disc], axis=-1)
    return rgb.astype(np.uint8)


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG signature and header declaring width x height, with one tiny data chunk:
    what a decompression bomb looks like before it is decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255 ** 2 / mse)


@pytest.fixture(scope="module")
def server(tmp_path_factory, released_model):
    jobs = tmp_path_factory.mktemp("serve") / "jobs"
    srv = Server(jobs, "--token", TOKEN, "--workers", "1", "--max-upload-mb", "0.25",
                 "--max-pixels", "200000")
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


def job_folders(server_jobs: Path) -> set[str]:
    return {p.name for p in server_jobs.iterdir()} if server_jobs.exists() else set()


def jobs_dir(server) -> Path:
    return server.log.parent / "jobs"


def test_health_docs_and_page(server):
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    docs = httpx.get(server.url + "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # served from this machine, not a CDN: the page works offline
    assert "cdn." not in docs.text and "/static/swagger/swagger-ui-bundle.js" in docs.text
    script = httpx.get(server.url + "/static/swagger/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    assert {"/v1/upscale", "/v1/jobs/{job_id}", "/v1/answer", "/v1/workflows"} <= set(paths)
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and 'id="compare"' in page.text and "viewport" in page.text


def test_token_is_required_on_the_api(server):
    refused = httpx.get(server.url + "/v1/models")
    assert refused.status_code == 401 and "Bearer" in refused.json()["error"]
    wrong = httpx.get(server.url + "/v1/models", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = httpx.get(server.url + "/v1/models", headers={"Authorization": f"Bearer {TOKEN}"})
    assert "liif-edsr-baseline" in ok.json()["models"]


def test_upscale_by_scale_gives_an_enlarged_png(client):
    rgb = photo_like(40, 30)
    sent = client.post("/v1/upscale", files={"file": ("in.png", png(rgb))}, data={"scale": "2"})
    assert sent.status_code == 202
    job = sent.json()["job"]
    assert len(job) == 16
    info = wait_done(client, job)
    assert info["status"] == "done" and info["progress"] == 1.0 and info["error"] is None
    result = client.get(f"/v1/jobs/{job}/result")
    assert result.headers["content-type"] == "image/png"
    out = np.asarray(Image.open(io.BytesIO(result.content)).convert("RGB"))
    assert out.shape == (60, 80, 3)
    # A super-resolved copy of the input: close to its bicubic enlargement, far from blank.
    bicubic = np.asarray(Image.fromarray(rgb).resize((80, 60), Image.BICUBIC))
    assert psnr(out, bicubic) > 28
    assert psnr(out, np.zeros_like(out)) < 15


def test_upscale_to_a_size(client):
    sent = client.post("/v1/upscale", files={"file": ("a.jpg", png(photo_like(20, 16)))},
                       data={"size": "50x37"})
    info = wait_done(client, sent.json()["job"])
    assert info["details"]["output_size"] == [50, 37]
    out = Image.open(io.BytesIO(client.get(f"/v1/jobs/{sent.json()['job']}/result").content))
    assert out.size == (50, 37)


@pytest.mark.parametrize("fields", [
    {"scale": "-2"}, {"scale": "0.5"}, {"scale": "1"}, {"scale": "nan"}, {"scale": "inf"},
    {"scale": "abc"}, {"scale": "1000"}, {"size": "axb"}, {"size": "10x10"},
    {"scale": "2", "size": "80x60"}, {},
])
def test_nonsense_scale_or_size_is_422(client, server, fields):
    before = job_folders(jobs_dir(server))
    sent = client.post("/v1/upscale", files={"file": ("in.png", png(photo_like(20, 16)))},
                       data=fields)
    assert sent.status_code == 422, sent.text
    assert sent.json()["error"]
    assert job_folders(jobs_dir(server)) == before  # nothing left behind


def test_not_an_image_by_content_is_415(client, server):
    before = job_folders(jobs_dir(server))
    sent = client.post("/v1/upscale", files={"file": ("photo.png", b"just some text " * 20)},
                       data={"scale": "2"})
    assert sent.status_code == 415
    assert "not an image" in sent.json()["error"]
    assert job_folders(jobs_dir(server)) == before


def test_decompression_bomb_is_413(client):
    sent = client.post("/v1/upscale", files={"file": ("bomb.png", bomb_png(50_000, 50_000))},
                       data={"scale": "2"})
    assert sent.status_code == 413
    assert "50000x50000" in sent.json()["error"]


def test_input_and_output_pixel_limits(client):
    # The server allows 200 000 pixels: a 500x500 input is refused before decoding (413) ...
    big = client.post("/v1/upscale", files={"file": ("big.png", png(photo_like(500, 500)))},
                      data={"scale": "2"})
    assert big.status_code == 413 and "over the input limit" in big.json()["error"]
    # ... and a 300x300 input at x2 would make 360 000 output pixels (422).
    wide = client.post("/v1/upscale", files={"file": ("ok.png", png(photo_like(300, 300)))},
                       data={"scale": "2"})
    assert wide.status_code == 422 and "over the limit" in wide.json()["error"]


def test_upload_over_the_size_limit_is_413(client):
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    data = png(noise)  # ~270 kB of incompressible pixels, over the 0.25 MB limit
    assert len(data) > 0.25 * 1024 * 1024
    sent = client.post("/v1/upscale", files={"file": ("big.png", data)}, data={"scale": "2"})
    assert sent.status_code == 413 and "over the limit" in sent.json()["error"]


def test_unknown_job_and_unknown_model(client):
    for job in ("AAAAAAAAAAAAAAAA", "nope", "..%2F..%2Fetc"):
        missing = client.get(f"/v1/jobs/{job}")
        assert missing.status_code == 404 and "error" in missing.json()
    assert client.get("/v1/jobs/AAAAAAAAAAAAAAAA/result").status_code == 404
    sent = client.post("/v1/upscale", files={"file": ("in.png", png(photo_like(20, 16)))},
                       data={"scale": "2", "model": "no-such-weights"})
    assert sent.status_code == 422 and "not installed" in sent.json()["error"]


def test_workflow_with_the_sample_and_with_an_upload(client):
    sample = {"input": {"kind": "sample", "crop": {"top": 100, "left": 200, "height": 24,
                                                   "width": 32}},
              "output": {"scale": 2}}
    job = client.post("/v1/workflows", json=sample).json()["job"]
    rgb = photo_like(24, 18)
    upload = {"input": {"kind": "upload", "data_base64": base64.b64encode(png(rgb)).decode()},
              "output": {"size": [48, 40]}}
    job2 = client.post("/v1/workflows", json=upload).json()["job"]
    assert wait_done(client, job)["details"]["output_size"] == [64, 48]
    assert wait_done(client, job2)["status"] == "done"
    out = Image.open(io.BytesIO(client.get(f"/v1/jobs/{job2}/result").content))
    assert out.size == (48, 40)
    before = Image.open(io.BytesIO(client.get(f"/v1/jobs/{job2}/input").content))
    assert np.array_equal(np.asarray(before.convert("RGB")), rgb)


def test_workflow_refuses_server_paths_and_unknown_fields(client):
    path = client.post("/v1/workflows", json={"input": {"kind": "file", "path": "/etc/passwd"},
                                              "output": {"scale": 2}})
    assert path.status_code == 422 and "command line" in path.json()["error"]
    extra = client.post("/v1/workflows", json={"input": {"kind": "sample"},
                                               "output": {"scale": 2}, "admin": True})
    assert extra.status_code == 422 and "admin" in extra.json()["error"]
    text = client.post("/v1/workflows", json={
        "input": {"kind": "upload", "data_base64": base64.b64encode(b"hello").decode()},
        "output": {"scale": 2}})
    assert text.status_code == 415


def test_answer_job_gives_json_and_html(client):
    prompt = (FIXTURE_PROMPTS / "inpaint_lama.txt").read_bytes()  # no runnable model: no demo
    sent = client.post("/v1/answer", files={"prompt": ("question.txt", prompt)})
    assert sent.status_code == 202
    job = sent.json()["job"]
    assert wait_done(client, job)["status"] == "done"
    record = client.get(f"/v1/jobs/{job}/result").json()
    assert record["question"] and record["classification"]["task_id"]
    html = client.get(f"/v1/jobs/{job}/answer.html")
    assert html.headers["content-type"].startswith("text/html") and "<html" in html.text
    empty = client.post("/v1/answer", data={"prompt_text": ""})
    assert empty.status_code == 422


def test_full_queue_then_kill_and_restart(tmp_path, released_model):
    """One worker and a queue of one: a third job is refused with 429 and Retry-After.
    SIGKILL mid-job, then restart: the unfinished jobs are reported lost, no result is left,
    and finished jobs expire."""
    jobs = tmp_path / "jobs"
    server = Server(jobs, "--workers", "1", "--queue", "1")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            finished = client.post("/v1/upscale", files={"file": ("s.png", png(photo_like(16, 16)))},
                                   data={"scale": "2"}).json()["job"]
            assert wait_done(client, finished)["status"] == "done"
            # The whole 384 px sample at x8 (9.4 MP out) runs for long enough to be killed.
            slow = {"input": {"kind": "sample"}, "output": {"scale": 8}}
            first = client.post("/v1/workflows", json=slow).json()["job"]
            deadline = time.monotonic() + 60
            while client.get(f"/v1/jobs/{first}").json()["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.1)
            answers = [client.post("/v1/workflows", json=slow) for _ in range(3)]
            codes = [a.status_code for a in answers]
            assert codes == [202, 429, 429], codes
            refused = answers[1]
            assert int(refused.headers["Retry-After"]) >= 1
            assert "queue is full" in refused.json()["error"]
            accepted = [first, answers[0].json()["job"]]
            assert client.get(f"/v1/jobs/{accepted[1]}").json()["status"] == "queued"
        server.kill()
    finally:
        server.stop()
    assert not any(p.name.startswith("result") for p in (jobs / accepted[0]).iterdir())
    # The job finished before the kill is intact on disk.
    assert Image.open(jobs / finished / "result.png").size == (32, 32)
    server = Server(jobs, "--job-ttl", "3")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for job in accepted:
                info = client.get(f"/v1/jobs/{job}").json()
                assert info["status"] == "failed" and info["error"].startswith("lost")
                assert client.get(f"/v1/jobs/{job}/result").status_code == 410
            assert "2 job(s) lost" in server.output()
            assert all(job in server.output() for job in accepted)
            # Lost jobs are kept for the ttl after the restart, then expire with their folders.
            time.sleep(6)
            for job in accepted + [finished]:
                assert client.get(f"/v1/jobs/{job}").status_code == 404
                assert not (jobs / job).exists()
    finally:
        server.stop()


def test_binding_beyond_loopback_warns():
    from cnaps.cli.serve import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_serve_warns_when_not_on_loopback(tmp_path, monkeypatch):
    """The command, up to the point where uvicorn would start listening."""
    import torch
    import uvicorn
    from click.testing import CliRunner

    from cnaps.cli import cli

    started = {}
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # keep this process's setting
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: started.update(host=host))
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--jobs-dir",
                                      str(tmp_path / "jobs"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "warning: listening on 0.0.0.0" in result.output and "--token" in result.output
    assert started == {"host": "0.0.0.0"}
    quiet = CliRunner().invoke(cli, ["serve", "--jobs-dir", str(tmp_path / "jobs2"),
                                     "--workers", "1"])
    assert "warning" not in quiet.output


def test_a_prompt_that_is_not_utf8_is_422_as_a_file_and_as_a_form_field(client):
    latin1 = "What is the best model for x4 super-r\xe9solution?".encode("latin-1")
    utf16 = "What is the best model for x4 super-resolution?".encode("utf-16")
    as_file = client.post("/v1/answer", files={"prompt": ("q.txt", latin1)})
    assert as_file.status_code == 422
    assert as_file.json()["error"].startswith("the prompt (file 'prompt') is not UTF-8 text")
    # the same bytes as the form field, sent raw in a multipart body (as a browser would)
    boundary = "cnapsboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"prompt_text\"\r\n\r\n"
            .encode() + utf16 + f"\r\n--{boundary}--\r\n".encode())
    as_field = client.post("/v1/answer", content=body, headers={
        "content-type": f"multipart/form-data; boundary={boundary}"})
    assert as_field.status_code == 422, as_field.text
    assert as_field.json()["error"].startswith(
        "the prompt (field 'prompt_text') is not UTF-8 text")
    urlencoded = client.post("/v1/answer", content=b"prompt_text=r%E9solution", headers={
        "content-type": "application/x-www-form-urlencoded"})
    assert urlencoded.status_code == 422 and "prompt_text" in urlencoded.json()["error"]


def test_a_batch_of_small_uploads_is_queued_with_the_default_queue(tmp_path, released_model):
    """A person dropping a folder of photos on the page: 8 uploads at once to a server with
    the defaults and one worker are all queued (the old default queue of 4 refused some)."""
    from concurrent.futures import ThreadPoolExecutor

    server = Server(tmp_path / "jobs", "--workers", "1")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            def send(i):
                return client.post("/v1/upscale", data={"scale": "2"}, files={
                    "file": (f"p{i}.png", png(photo_like(16 + i, 16)))})
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(send, range(8)))
            assert [a.status_code for a in answers] == [202] * 8, [a.text for a in answers]
            assert all(wait_done(client, a.json()["job"])["status"] == "done" for a in answers)
    finally:
        server.stop()


def test_what_waits_is_bounded_by_output_pixels(tmp_path):
    """Overload is still refused: past the pixel budget a job gets QueueFull (429 with
    Retry-After), whatever the count allows."""
    import threading

    from cnaps.serve.jobs import JobStore, QueueFull

    release = threading.Event()
    store = JobStore(tmp_path / "jobs", workers=1, queue_size=100, ttl_seconds=60,
                     queue_pixels=1000)
    try:
        running = store.new("upscale")
        store.submit(running, lambda job, folder: release.wait(30), 900)
        deadline = time.monotonic() + 10
        while running.status != "running":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        store.submit(store.new("upscale"), lambda job, folder: None, 600)  # waits: 600 of 1000
        with pytest.raises(QueueFull) as full:
            store.submit(store.new("upscale"), lambda job, folder: None, 600)
        assert full.value.retry_after >= 1
        store.submit(store.new("answer"), lambda job, folder: None, 300)  # 900: still fits
    finally:
        release.set()
