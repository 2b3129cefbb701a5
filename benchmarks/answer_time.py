"""End-to-end time of `cnaps answer` on the seed prompt 000 (parse, classify, run the LIIF demo,
render the answer), in a fresh process, with its peak RSS. Skips (exit 0, with the reason) when
the `answer` command or the seed prompt is not there.

    python benchmarks/answer_time.py [--markdown] [--repeats N] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, table

SEED_GLOB = "000_*.txt"
SEED_DIRS = [ROOT / "examples" / "prompts", ROOT.parent / "shared" / "seeds"]


def find_seed() -> Path | None:
    for folder in SEED_DIRS:
        found = sorted(folder.glob(SEED_GLOB)) if folder.is_dir() else []
        if found:
            return found[0]
    return None


def has_answer_command() -> bool:
    import importlib.util

    from cnaps.cli import COMMANDS

    return "answer" in COMMANDS and importlib.util.find_spec(COMMANDS["answer"][0]) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print a README table")
    parser.add_argument("--repeats", type=int, default=1, help="runs (each in a fresh process)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (env)")
    args = parser.parse_args()
    seed = find_seed()
    if seed is None or not has_answer_command():
        why = "no seed prompt 000" if seed is None else "no `cnaps answer` command yet"
        print(f"skipped: {why}")
        return
    if args.threads:  # the child gets it through the environment; the parent only reports it
        import torch

        torch.set_num_threads(args.threads)
    about = machine()
    env = dict(os.environ)
    if args.threads:
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    rows = []
    for i in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="cnaps-answer-") as out:
            cmd = [sys.executable, "-m", "cnaps", "answer", str(seed), "--out", out]
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            err = proc.stderr.read().decode().strip().splitlines()
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                raise SystemExit(f"`{' '.join(cmd)}` failed ({code}): {err[-1] if err else ''}")
            files = sorted(p.relative_to(out).as_posix() for p in Path(out).rglob("*")
                           if p.is_file())
        rows.append([f"run {i + 1}", seed.name, f"{seconds:.1f}", f"{usage.ru_maxrss / 1024:.0f}",
                     str(len(files))])
        print(f"  run {i + 1}: {seconds:.1f} s", file=sys.stderr, flush=True)
    print(table(["run", "prompt", "wall time (s)", "peak RSS (MiB)", "files written"], rows,
                args.markdown))
    print(f"\nMachine: {about}. `cnaps answer` end to end in a fresh process (Python start-up, "
          "model load, demo, rendering).")


if __name__ == "__main__":
    main()
