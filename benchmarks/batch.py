"""Collections and folders: wall time, throughput and peak memory of `cnaps answer DIR` and
`cnaps upscale DIR`, in one process, with --jobs 2 and with --ray (a local Ray).

Prompts: the 60 of ../shared/prompts-dev. Cold = an empty demo cache (every distinct demo runs
once); warm = the cache that the cold run filled, into a fresh output folder (so every answer
is rendered again; only the demos come from the cache). Folder: 20 crops (128-200 px a side) of
scikit-image's colour photos, upscaled x4. Each configuration runs `python -m cnaps` as a child
process; peak memory is the largest sum of the resident memory of that process and all its
descendants (workers, Ray's processes), sampled every 0.2 s from /proc.

    python benchmarks/batch.py [--modes cold-1,warm-1,...] [--json out.json]

Results are appended to the JSON file after each configuration, so a partial run keeps what
it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, machine, table  # noqa: E402

PROMPTS = ROOT.parent / "shared" / "prompts-dev"
ALL_MODES = ["cold-1", "warm-1", "warm-jobs2", "warm-ray", "folder-1", "folder-jobs2",
             "cold-jobs2", "cold-ray", "folder-ray"]
PAGE = os.sysconf("SC_PAGE_SIZE")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss(pid: int) -> int:
    """Resident bytes of pid and all its descendants."""
    tree, total, todo = _children(), 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
        todo.extend(tree.get(p, []))
    return total


def run_measured(argv: list[str]) -> dict:
    """Run `python -m cnaps ARGV`; wall seconds, peak tree memory, exit code, last line."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "cnaps", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return {"seconds": round(seconds, 2), "peak_mb": round(peak / 2**20),
            "code": proc.returncode, "last": (out.strip().splitlines() or [""])[-1],
            "errors": [line for line in err.splitlines() if line.startswith("error")]}


def make_photos(folder: Path, count: int = 20) -> None:
    """`count` crops of 128-200 px a side from scikit-image's colour photos (no network)."""
    import numpy as np
    from PIL import Image
    from skimage import data

    photos = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
              data.stereo_motorcycle()[0]]
    rng = np.random.default_rng(0)
    for i in range(count):
        photo = photos[i % len(photos)]
        h, w = (int(x) for x in rng.integers(128, 201, size=2))
        top = int(rng.integers(0, photo.shape[0] - h))
        left = int(rng.integers(0, photo.shape[1] - w))
        sub = folder / f"set{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(photo[top:top + h, left:left + w]).save(sub / f"photo{i:02d}.png")


def distinct_demos(cache: Path) -> tuple[int, float]:
    """(entries, sum of the demo seconds they record) in a demo cache folder."""
    entries = list(cache.rglob("*.json"))
    seconds = sum(json.loads(p.read_text())["payload"]["result"]["seconds"] for p in entries)
    return len(entries), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default=",".join(ALL_MODES))
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "batch.json")
    parser.add_argument("--work", type=Path, default=None,
                        help="reuse this work folder (its demo caches) instead of a new one")
    args = parser.parse_args()
    modes = args.modes.split(",")
    prompts = sorted(PROMPTS.glob("*.txt"))
    if not prompts:
        sys.exit(f"no prompts in {PROMPTS}")
    print(machine(), flush=True)
    results = {"machine": machine(), "runs": {}}
    work = args.work or Path(tempfile.mkdtemp(prefix="cnaps-batch-bench-"))
    photos = work / "photos"
    if not photos.is_dir():
        make_photos(photos)
    caches = {"1": work / "cache-1", "jobs2": work / "cache-jobs2", "ray": work / "cache-ray"}
    flags = {"1": [], "jobs2": ["--jobs", "2"], "ray": ["--ray=local"]}
    for mode in modes:
        kind, how = mode.split("-", 1)
        load = os.getloadavg()[0]
        if kind in ("cold", "warm"):
            cache = caches[how] if kind == "cold" or caches[how].exists() else caches["1"]
            argv = ["answer", str(PROMPTS), "--out", str(work / f"out-{mode}"), "-q",
                    "--cache-dir", str(cache), *flags[how]]
            run = run_measured(argv)
            run["items"] = len(prompts)
            if kind == "cold":
                run["distinct_demos"], run["demo_seconds"] = distinct_demos(cache)
        else:
            # one torch thread per process: on a shared CPU, OpenMP threads that wait on each
            # other spin instead of working (--jobs and Ray already give one thread per worker)
            argv = ["upscale", str(photos), "-o", str(work / f"out-{mode}"), "--scale", "4",
                    "-q", *flags[how], *(["--threads", "1"] if how == "1" else [])]
            run = run_measured(argv)
            run["items"] = 20
        run["per_second"] = round(run["items"] / run["seconds"], 2)
        run["load_at_start"] = round(load, 1)
        results["runs"][mode] = run
        print(mode, json.dumps(run), flush=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    rows = [[mode, str(r["items"]), f"{r['seconds']:.1f}", f"{r['per_second']:.2f}",
             str(r["peak_mb"]), f"{r['load_at_start']:.1f}", r["last"][:60]]
            for mode, r in results["runs"].items()]
    print(table(["run", "items", "wall s", "items/s", "peak MB", "load", "closing line"],
                rows, markdown=True))


if __name__ == "__main__":
    main()
