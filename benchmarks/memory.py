"""Peak memory (resident set size) of `cnaps upscale` on large outputs, each case in a fresh
subprocess, read from the child's rusage (ru_maxrss) when it exits.

Cases: a 2048x2048 photo enlarged x1.125 (a large input, small scale: the encoder dominates) and
a 512x512 photo enlarged x8 (a 16.8 MP output: the queries and the output buffer dominate), plus
a 64x64 input x2 as the floor (Python, torch and the model loaded). Inputs are a real photo
(scikit-image's astronaut) resized to the size needed. For comparison, the table gives what the
plain reference approach would hold at once for the same input: the 3x3-unfolded feature map
(576 floats per LR pixel) plus the encoder's feature map, lower bounds that do not count the
MLP activations.

    python benchmarks/memory.py [--quick] [--markdown] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from common import machine, table

CASES = [(64, 2.0), (2048, 1.125), (512, 8.0)]
QUICK = [(64, 2.0), (1024, 1.125), (256, 8.0)]


def photo(size: int, path: Path) -> None:
    from skimage import data

    Image.fromarray(data.astronaut()).resize((size, size), Image.BICUBIC).save(path)


def cnaps_command() -> list[str]:
    exe = shutil.which("cnaps", path=str(Path(sys.executable).parent)) or shutil.which("cnaps")
    return [exe] if exe else [sys.executable, "-m", "cnaps"]


def run_case(size: int, scale: float, folder: Path, threads: int | None):
    """(peak RSS in MiB, wall seconds) of one `cnaps upscale` in a fresh process."""
    src, dst = folder / f"in{size}.png", folder / f"out{size}.png"
    if not src.exists():
        photo(size, src)
    cmd = cnaps_command() + ["upscale", str(src), "-o", str(dst), "--scale", f"{scale:g}",
                             "--quiet", "--device", "cpu"]
    if threads:
        cmd += ["--threads", str(threads)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode().strip()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"`{' '.join(cmd)}` failed ({proc.returncode}): {err}")
    return usage.ru_maxrss / 1024, seconds  # ru_maxrss is in KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller cases: " + str(QUICK))
    parser.add_argument("--markdown", action="store_true", help="print a README table")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    args = parser.parse_args()
    if args.threads:  # the children get --threads; the parent only reports it
        import torch

        torch.set_num_threads(args.threads)
    about = machine()
    print(f"machine: {about}", file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory(prefix="cnaps-mem-") as tmp:
        for size, scale in QUICK if args.quick else CASES:
            peak, seconds = run_case(size, scale, Path(tmp), args.threads)
            out = round(size * scale)
            plain_gib = size * size * (576 + 64) * 4 / 2 ** 30
            rows.append([f"{size}x{size}", f"x{scale:g}", f"{out}x{out}",
                         f"{out * out / 1e6:.1f}", f"{peak:.0f}", f"{seconds:.0f}",
                         f">= {plain_gib:.2f}"])
            print(f"  {size}px x{scale:g}: {peak:.0f} MiB, {seconds:.0f} s", file=sys.stderr,
                  flush=True)
    head = ["input", "scale", "output", "output MP", "cnaps peak RSS (MiB)", "time (s)",
            "plain approach (GiB)"]
    print(table(head, rows, args.markdown))
    print(f"\nMachine: {about}. Peak RSS of the whole `cnaps upscale` process (Python, torch, "
          "model, image I/O); 'plain approach' = unfolded + encoder feature maps of the whole "
          "input in float32, a lower bound.")


if __name__ == "__main__":
    main()
