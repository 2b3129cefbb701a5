"""End-to-end time of `cnaps answer` on the seed prompt 000 (parse, classify, run the LIIF demo,
render the answer), in a fresh process, with its peak RSS. Skips (exit 0, with the reason) when
the `answer` command or the seed prompt is not there.

    python benchmarks/answer_time.py [--markdown] [--repeats N] [--threads N]
    python benchmarks/answer_time.py --warm PROMPT_OR_DIR... [--markdown]

--warm: warm answer time in one process (models loaded, demo cache filled by a first pass),
per prompt, as `make_report` with the default writer (no language model).
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
    parser.add_argument("--warm", nargs="+", metavar="PROMPT_OR_DIR", help="time warm answers")
    args = parser.parse_args()
    if args.warm:
        return warm(args.warm, args.markdown)
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


def warm(paths: list[str], markdown: bool) -> None:
    from cnaps.answer.pipeline import make_report
    from cnaps.answer.records import AnswerOptions
    from cnaps.errors import CnapsError

    prompts = [p for path in map(Path, paths)
               for p in (sorted(path.glob("*.txt")) if path.is_dir() else [path])]
    options = AnswerOptions()
    usable = []
    for prompt in prompts:  # first pass: load the models, fill the demo cache
        try:
            make_report(prompt, options)
            usable.append(prompt)
        except CnapsError:
            pass  # a malformed prompt is refused, not timed
    times = []
    for prompt in usable:
        start = time.perf_counter()
        make_report(prompt, options)
        times.append((time.perf_counter() - start, prompt.name))
    times.sort()
    median = times[len(times) // 2][0]
    rows = [["median", f"{median:.2f}"], ["max", f"{times[-1][0]:.2f} ({times[-1][1]})"],
            ["prompts", str(len(times))]]
    print(table(["warm answer", "seconds"], rows, markdown))
    print(f"\nMachine: {machine()}. One process; second answer of each prompt.")


if __name__ == "__main__":
    main()
