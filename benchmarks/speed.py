"""Exact, fast and the plain LIIF algorithm timed alternately in one process, several rounds,
on a crop of Set14 baboon; prints every round, the medians and the ratios.

Alternating the modes round by round keeps a shared or throttled CPU from favouring one mode;
compare the ratios, not the absolute seconds. Round 1 of each mode is also the first call of
the process (what a one-shot `cnaps upscale` pays), so it is printed apart from the median
of the later rounds. The plain time is measured on a band of output rows and scaled to the
whole output, as in benchmarks/throughput.py.

    OMP_NUM_THREADS=2 python benchmarks/speed.py [--size 128] [--scale 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from PIL import Image

from common import machine
from throughput import plain_timed

from cnaps.sr.device import resolve_precision
from cnaps.sr.inference import load_weights, upscale

BABOON = "/work/shared/data/benchmark/Set14/HR/baboon.png"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=128, help="crop side in LR pixels")
    parser.add_argument("--scale", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--image", default=BABOON)
    parser.add_argument("--plain-budget", type=int, default=256 * 1024)
    args = parser.parse_args()
    rgb = np.asarray(Image.open(args.image).convert("RGB"))[:args.size, :args.size]
    lr = torch.from_numpy(rgb.transpose(2, 0, 1).copy()).float() / 255
    out = (args.size * args.scale, args.size * args.scale)
    model = load_weights()
    fast_runs = resolve_precision("fast").name == "fast"
    modes = ["exact", "fast", "plain"] if fast_runs else ["exact", "plain"]
    times: dict[str, list[float]] = {m: [] for m in modes}
    print(f"machine: {machine()}", file=sys.stderr)
    for rnd in range(args.rounds):
        for mode in modes:
            start = time.perf_counter()
            if mode == "plain":
                seconds = plain_timed(model, lr, *out, args.plain_budget)[0]
            else:
                upscale(model, lr, out, precision=mode)
                seconds = time.perf_counter() - start
            times[mode].append(seconds)
        print(f"round {rnd + 1}: " + ", ".join(f"{m} {times[m][-1]:.2f} s" for m in modes),
              flush=True)
    med = {m: statistics.median(v[1:] if len(v) > 1 else v) for m, v in times.items()}
    print(f"{args.size}x{args.size} x{args.scale} -> {out[1]}x{out[0]}, rounds 2..{args.rounds}"
          " medians: " + ", ".join(f"{m} {med[m]:.2f} s" for m in modes))
    print(f"first call: " + ", ".join(f"{m} {times[m][0]:.2f} s" for m in modes))
    print(f"exact vs plain: {med['plain'] / med['exact']:.2f}x (goal >= 3x)")
    if fast_runs:
        per_round = [e / f for e, f in zip(times["exact"], times["fast"])]
        print(f"fast vs exact: {med['exact'] / med['fast']:.2f}x median, per round "
              + ", ".join(f"{r:.2f}x" for r in per_round) + " (goal >= 2.5x every round)")
    else:
        print("fast: this CPU has no bfloat16 units, fast runs exact")
    print(f"machine: {machine()}")


if __name__ == "__main__":
    main()
