"""`cnaps serve` under load: N concurrent clients on loopback, each sending photo crops of
64-256 px at x2-x4 for a bounded time, then waiting for what was accepted.

Counts completed jobs, rejected submissions (429, the client waits Retry-After and tries
again), failed jobs, and lost ones (accepted but never done or failed: must be 0); latency from
submission to result (p50, p95) of completed jobs; the server's peak RSS (VmHWM).

    python benchmarks/serve_load.py [--clients 16] [--seconds 60] [--markdown]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from common import ROOT, machine, table

sys.path.insert(0, str(ROOT / "tests"))
from serve_server import Server  # noqa: E402


def photo_crops(count: int, seed: int) -> list[bytes]:
    """PNG crops of scikit-image's astronaut, 64-256 px a side."""
    from skimage import data

    photo, rng, crops = data.astronaut(), random.Random(seed), []
    for _ in range(count):
        h, w = rng.randint(64, 256), rng.randint(64, 256)
        top, left = rng.randint(0, 512 - h), rng.randint(0, 512 - w)
        buf = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(photo[top:top + h, left:left + w])).save(buf, "PNG")
        crops.append(buf.getvalue())
    return crops


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.accepted, self.completed, self.failed, self.rejected = [], [], [], 0
        self.latencies: list[float] = []


def client_loop(url: str, crops: list[bytes], stop_at: float, drain_until: float,
                tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=120) as client:
        while time.monotonic() < stop_at:
            started = time.monotonic()
            scale = round(rng.uniform(2, 4), 2)
            sent = client.post("/v1/upscale", files={"file": ("crop.png", rng.choice(crops))},
                               data={"scale": str(scale)})
            if sent.status_code == 429:
                with tally.lock:
                    tally.rejected += 1
                time.sleep(min(float(sent.headers.get("Retry-After", 1)),
                               max(0.0, stop_at - time.monotonic())))
                continue
            sent.raise_for_status()
            job = sent.json()["job"]
            with tally.lock:
                tally.accepted.append(job)
            while time.monotonic() < drain_until:  # accepted work is always waited for
                info = client.get(f"/v1/jobs/{job}").json()
                if info["status"] in ("done", "failed"):
                    break
                time.sleep(0.25)
            else:
                return  # drain time over: the job counts as lost
            if info["status"] == "done":
                result = client.get(f"/v1/jobs/{job}/result")
                Image.open(io.BytesIO(result.content)).verify()  # a whole PNG
                with tally.lock:
                    tally.completed.append(job)
                    tally.latencies.append(time.monotonic() - started)
            else:
                with tally.lock:
                    tally.failed.append(job)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60, help="submitting time")
    parser.add_argument("--drain", type=float, default=600,
                        help="most seconds to wait afterwards for accepted jobs")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    jobs = Path(os.environ.get("TMPDIR", "/tmp")) / f"cnaps-serve-load-{os.getpid()}" / "jobs"
    header = machine()
    server = Server(jobs)
    try:
        crops = photo_crops(32, seed=0)
        tally = Tally()
        start = time.monotonic()
        stop_at, drain_until = start + args.seconds, start + args.seconds + args.drain
        threads = [threading.Thread(target=client_loop, args=(server.url, crops, stop_at,
                                                              drain_until, tally, i))
                   for i in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - start
        rss = peak_rss_mib(server.proc.pid)
        settings = server.output().splitlines()[0]
    finally:
        server.stop()
        subprocess.run(["rm", "-rf", str(jobs.parent)], check=False)
    lost = len(tally.accepted) - len(tally.completed) - len(tally.failed)
    lat = sorted(tally.latencies)
    p50 = statistics.median(lat) if lat else float("nan")
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))] if lat else float("nan")
    head = ["clients", "submitting (s)", "wall (s)", "completed", "rejected (429)", "failed",
            "lost", "p50 (s)", "p95 (s)", "peak RSS (MiB)"]
    row = [str(args.clients), f"{args.seconds:g}", f"{wall:.0f}", str(len(tally.completed)),
           str(tally.rejected), str(len(tally.failed)), str(lost), f"{p50:.1f}", f"{p95:.1f}",
           f"{rss:.0f}"]
    print(table(head, [row], markdown=args.markdown))
    print(f"\nMachine: {header}. Server: {settings.removeprefix('cnaps serve: ')}. Inputs: "
          "astronaut crops 64-256 px a side, scales x2-x4 (uniform); latency = submission to "
          "result; a 429 waits Retry-After before the next try.")
    if lost:
        sys.exit(f"{lost} accepted job(s) were lost")


if __name__ == "__main__":
    main()
