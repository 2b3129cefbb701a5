"""Warm time to read and answer a prompt without its demo (parse, request, topics, classify,
related papers, render, guard), in one process: the sentence encoders load once, then every
prompt of a folder is answered and timed. The demo is left out because
its time is the engine's (benchmarks/speed.py) and its results are cached between runs. Timed
twice: each prompt's texts new to the process (a user's next prompt), and again with every
embedding cached.

    python benchmarks/reading_time.py [FOLDER ...]   (default: ../shared/prompts-dev and prompts-dev2)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from common import ROOT, machine

DEFAULT = [ROOT.parent / "shared" / "prompts-dev", ROOT.parent / "shared" / "prompts-dev2" / "prompts"]


def main() -> None:
    from cnaps.answer.pipeline import make_report
    from cnaps.answer.records import AnswerOptions
    from cnaps.errors import CnapsError

    folders = [Path(a) for a in sys.argv[1:]] or [d for d in DEFAULT if d.is_dir()]
    prompts = sorted(p for d in folders for p in d.glob("*.txt"))
    if not prompts:
        print("skipped: no prompt folders (pass one, or put ../shared beside the checkout)")
        return
    options = AnswerOptions(demo=False)

    def answer(path: Path) -> float | None:
        start = time.perf_counter()
        try:
            make_report(path, options)
        except CnapsError:
            return None  # a malformed prompt: refused, not answered
        return time.perf_counter() - start

    start = time.perf_counter()
    from cnaps.answer.semantic import embed_multilingual

    embed_multilingual(["load the multilingual model"])  # loaded at a process's first non-English sentence
    load = time.perf_counter() - start
    first = answer(prompts[0])  # loads the catalog and the English sentence encoder
    # each prompt's own texts are new to the process: the time a user's next prompt takes
    timed = [(t, p.name) for p in prompts[1:] if (t := answer(p)) is not None]
    new = [t for t, _ in timed]
    times = [t for p in prompts if (t := answer(p)) is not None]  # again: every embedding cached
    print(machine())
    print(f"{len(times)} prompts answered (demo left out), {len(prompts) - len(times)} refused as malformed")
    print(f"multilingual model load: {load:.2f} s; first prompt of the process: {first:.2f} s "
          "(loads the catalog and MiniLM)")
    slowest = max(timed)
    print(f"warm, texts new to the process: median {statistics.median(new):.3f} s, "
          f"max {slowest[0]:.3f} s ({slowest[1]})")
    print(f"warm, texts seen before: median {statistics.median(times):.3f} s, max {max(times):.3f} s")


if __name__ == "__main__":
    main()
