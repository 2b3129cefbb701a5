"""The fast mode against the exact engine and the plain algorithm: speed, PSNR, differences.

Speed: `upscale(precision="exact")`, `upscale(precision="fast")` and the plain reference
algorithm (tests/plain_liif.py, timed as in throughput.py) on the same photo crops at x2/x4/x8
from 64/128/256 px, for each thread count; every ratio comes from timings taken in one run,
one case after the other, so a change in the machine's load hits all three alike.
Quality: Y-PSNR of both precisions on Set5 and Set14 with the paper's protocol (PIL LR), the
mean change and the largest per-pixel difference on [0, 1].
User-sized case (--user): a 12 MP photo (4000x3000) enlarged x2 (48 MP out) by default, or
--user-size 640x427 --user-scales 2,4 (the issue's photo), 8-bit output as `cnaps upscale`
writes it, with the time to the first output pixels.

    python benchmarks/precision.py [--speed] [--quality] [--user] [--threads 1,2] [--json F]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from common import ROOT, machine, table
from throughput import photo_crop, plain_timed

import cnaps.sr.inference as inference  # noqa: E402
from cnaps.sr import metrics  # noqa: E402
from cnaps.sr.evaluate import EvalSettings, list_images, make_pair  # noqa: E402
from cnaps.sr.imageio import read_rgb  # noqa: E402
from cnaps.sr.inference import load_weights, upscale  # noqa: E402
from cnaps.sr.liif import LIIF  # noqa: E402
from cnaps.sr.device import resolve_precision  # noqa: E402

SIZES = (64, 128, 256)
SCALES = (2, 4, 8)
BENCHMARK = ROOT.parent / "shared" / "data" / "benchmark"


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def speed(model, threads: int, seed: int, budget: int, repeats: int,
          sizes: tuple[int, ...] = SIZES) -> list[dict]:
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    inputs = {size: photo_crop(size, rng) for size in SIZES}  # the same crops for any --sizes
    upscale(model, inputs[64], (96, 96), precision="fast")  # warm-up both paths
    upscale(model, inputs[64], (96, 96))
    rows = []
    for size in sizes:
        for scale in SCALES:
            out = (size * scale, size * scale)
            t_exact = t_fast = float("inf")
            for _ in range(repeats):  # alternate, best of N: the machine's load drifts
                t, exact = timed(lambda: upscale(model, inputs[size], out))
                t_exact = min(t_exact, t)
                t, fast = timed(lambda: upscale(model, inputs[size], out, precision="fast"))
                t_fast = min(t_fast, t)
                if t_exact + t_fast > 30:  # long cases: once
                    break
            t_plain, _, _ = plain_timed(model, inputs[size], *out, budget)
            rows.append({"threads": threads, "size": size, "scale": scale, "exact_s": t_exact,
                         "fast_s": t_fast, "plain_s": t_plain,
                         "max_abs_diff": (fast - exact).abs().max().item()})
            print(f"  {threads} thr {size}px x{scale}: exact {t_exact:.1f} s, fast {t_fast:.1f} s,"
                  f" plain {t_plain:.1f} s", file=sys.stderr, flush=True)
    return rows


def quality(model, sets: list[str], scales: list[int],
            benchmark: Path = BENCHMARK) -> list[dict]:
    rows = []
    settings = EvalSettings(sets=sets, scales=scales)
    for set_name in sets:
        paths = list_images(benchmark, set_name)
        for scale in scales:
            psnr = {"exact": [], "fast": []}
            max_diff = 0.0
            for path in paths:
                crop, lr = make_pair(read_rgb(path), scale, settings)
                target = torch.from_numpy(crop.transpose(2, 0, 1).copy()).float() / 255
                lr_t = torch.from_numpy(lr.transpose(2, 0, 1).copy()).float() / 255
                outs = {p: upscale(model, lr_t, crop.shape[:2], precision=p) for p in psnr}
                for p, out in outs.items():
                    psnr[p].append(metrics.psnr(out, target, scale))
                max_diff = max(max_diff, (outs["fast"] - outs["exact"]).abs().max().item())
            rows.append({"set": set_name, "scale": scale, "n": len(paths),
                         "exact_psnr": float(np.mean(psnr["exact"])),
                         "fast_psnr": float(np.mean(psnr["fast"])), "max_abs_diff": max_diff})
            print(f"  {set_name} x{scale}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def user_photo(width: int, height: int) -> torch.Tensor:
    """A photo mosaic of scikit-image's photos at width x height (the engine's work per pixel
    does not depend on the content)."""
    from PIL import Image
    from skimage import data

    canvas = Image.new("RGB", (2000, 1500))
    for i, img in enumerate((data.astronaut(), data.chelsea(), data.coffee(), data.rocket())):
        canvas.paste(Image.fromarray(img).resize((1000, 750), Image.BICUBIC),
                     ((i % 2) * 1000, (i // 2) * 750))
    canvas = canvas.resize((width, height), Image.BICUBIC)
    return torch.from_numpy(np.asarray(canvas).transpose(2, 0, 1).copy()).float() / 255


def user_case(model, threads: int, size: tuple[int, int], scales: list[float],
              precisions: list[str], save=lambda rows: None) -> list[dict]:
    """8-bit output as `cnaps upscale` writes it; also the time until the first tile's output
    pixels exist (encoder of the first tile + its first query chunk)."""
    torch.set_num_threads(threads)
    lr = user_photo(*size)
    rows = []
    for scale in scales:
        out = (round(size[1] * scale), round(size[0] * scale))
        for p in precisions:
            first: list[float] = []
            spent = {"encoder": 0.0, "query": 0.0}
            tiles: list[dict] = []  # per encoder tile: its encoder time, query time, pixels
            original_query, original_features = LIIF.query_grid, inference._features

            def query_spy(self, *args, **kwargs):  # notes when the first output chunk is ready
                t0 = time.perf_counter()
                result = original_query(self, *args, **kwargs)
                spent["query"] += time.perf_counter() - t0
                tiles[-1]["query_s"] += time.perf_counter() - t0
                tiles[-1]["pixels"] += math.prod(args[1].shape)
                if not first:
                    first.append(time.perf_counter() - start)
                return result

            def features_spy(*args, **kwargs):  # encoder + first-layer projection of a tile
                t0 = time.perf_counter()
                result = original_features(*args, **kwargs)
                spent["encoder"] += time.perf_counter() - t0
                tiles.append({"encoder_s": time.perf_counter() - t0, "query_s": 0.0, "pixels": 0})
                return result

            LIIF.query_grid, inference._features = query_spy, features_spy
            start = time.perf_counter()
            try:
                upscale(model, lr, out, out_dtype=torch.uint8, precision=p)
            finally:
                LIIF.query_grid, inference._features = original_query, original_features
            t = time.perf_counter() - start
            rows.append({"threads": threads, "input": f"{size[0]}x{size[1]}", "scale": scale,
                         "precision": p, "seconds": t,
                         "first_pixels_s": first[0] if first else None,
                         "encoder_s": spent["encoder"], "query_s": spent["query"], "tiles": tiles,
                         "mpix_per_s": out[0] * out[1] / 1e6 / t})
            print(f"  {size[0]}x{size[1]} x{scale:g} {p}: {t:.1f} s", file=sys.stderr, flush=True)
            save(rows)  # long cases: keep what is measured
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--user", action="store_true",
                        help="a user-sized photo (default the 12 MP x2 case: long)")
    parser.add_argument("--user-size", default="4000x3000", help="WxH of the user photo")
    parser.add_argument("--user-scales", default="2")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="input sides (px)")
    parser.add_argument("--sets", default="Set5,Set14")
    parser.add_argument("--scales", default="2,3,4,6,8")
    parser.add_argument("--benchmark-dir", type=Path, default=BENCHMARK,
                        help="folder holding Set5/, Set14/ (default: shared/data/benchmark "
                             "beside the checkout)")
    parser.add_argument("--user-precisions", default="fast,exact")
    parser.add_argument("--plain-budget", type=int, default=512 * 512)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2, help="best of N for short cases")
    parser.add_argument("--json", type=Path, default=None, help="append results here")
    args = parser.parse_args()
    model = load_weights()
    threads = [int(t) for t in args.threads.split(",")]
    print(f"machine: {machine()}; fast = {resolve_precision('fast').dtype}", file=sys.stderr)
    results: dict = {"machine": machine()}

    def save():
        if args.json:
            args.json.write_text(json.dumps(results, indent=1) + "\n")

    if args.speed:
        results["speed"] = []
        for n in threads:
            results["speed"] += speed(model, n, args.seed, args.plain_budget, args.repeats,
                                      tuple(int(v) for v in args.sizes.split(",")))
            save()
        rows = [[str(r["threads"]), f"{r['size']}px", f"x{r['scale']}",
                 f"{r['exact_s']:.2f}", f"{r['fast_s']:.2f}",
                 f"{r['exact_s'] / r['fast_s']:.2f}x", f"{r['plain_s'] / r['fast_s']:.2f}x",
                 f"{r['plain_s'] / r['exact_s']:.2f}x", f"{r['max_abs_diff']:.1e}"]
                for r in results["speed"]]
        print(table(["threads", "input", "scale", "exact s", "fast s", "fast vs exact",
                     "fast vs plain", "exact vs plain", "max abs diff"], rows, markdown=True))
    if args.quality:
        results["quality"] = quality(model, args.sets.split(","),
                                     [int(s) for s in args.scales.split(",")], args.benchmark_dir)
        save()
        rows = [[r["set"], f"x{r['scale']}", f"{r['exact_psnr']:.3f}", f"{r['fast_psnr']:.3f}",
                 f"{r['fast_psnr'] - r['exact_psnr']:+.4f}", f"{r['max_abs_diff']:.1e}"]
                for r in results["quality"]]
        print(table(["set", "scale", "exact PSNR", "fast PSNR", "change (dB)", "max abs diff"],
                    rows, markdown=True))
    if args.user:
        size = tuple(int(v) for v in args.user_size.lower().split("x"))
        def keep(rows):
            results["user"] = rows
            save()

        results["user"] = user_case(model, threads[-1], size,
                                    [float(s) for s in args.user_scales.split(",")],
                                    args.user_precisions.split(","), keep)
        print(table(["threads", "input", "scale", "precision", "seconds", "first pixels (s)",
                     "encoder (s)", "queries (s)", "rest (s)", "MP/s"],
                    [[str(r["threads"]), r["input"], f"x{r['scale']:g}", r["precision"],
                      f"{r['seconds']:.1f}", f"{r['first_pixels_s']:.1f}", f"{r['encoder_s']:.1f}",
                      f"{r['query_s']:.1f}", f"{r['seconds'] - r['encoder_s'] - r['query_s']:.1f}",
                      f"{r['mpix_per_s']:.3f}"] for r in results["user"]], markdown=True))
    print(f"\nMachine: {machine()} (at the end).")


if __name__ == "__main__":
    main()
