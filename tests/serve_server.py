"""A real `cnaps serve` in a subprocess on a free loopback port, for the API, browser and load
tests (imported by them; not a test module)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`python -m cnaps serve ARGS` until stopped; its stderr is kept in a file."""

    def __init__(self, jobs_dir: Path, *args: str, startup_seconds: float = 180):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        Path(jobs_dir).parent.mkdir(parents=True, exist_ok=True)
        self.log = Path(jobs_dir).parent / f"serve-{self.port}.log"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cnaps", "serve", "--port", str(self.port),
             "--jobs-dir", str(jobs_dir), *args],
            stdout=subprocess.DEVNULL, stderr=self.log.open("w"), env=env, cwd=REPO)
        deadline = time.monotonic() + startup_seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cnaps serve exited: {self.log.read_text()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"cnaps serve did not start in {startup_seconds} s")

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, like a crash or a power cut."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_done(client: httpx.Client, job: str, timeout: float = 240) -> dict:
    """Poll a job until it is done or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.get(f"/v1/jobs/{job}").json()
        if info["status"] in ("done", "failed"):
            return info
        time.sleep(0.2)
    raise AssertionError(f"job {job} not finished after {timeout} s: {info}")
