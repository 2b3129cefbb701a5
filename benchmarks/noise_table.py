"""Noise robustness table: bicubic, LIIF (released weights), NLM pre-filter then LIIF, the
noise-robust fine-tune, and `--denoise auto`, at several noise levels and scales.

Protocol: `cnaps eval`'s (cnaps.sr.evaluate.make_pair: top-left crop to a multiple of the scale,
PIL bicubic LR on 8-bit data, Gaussian noise with the same per-image seeds, Y-PSNR with
shave = scale), optionally on each HR image's central `--crop` square to bound CPU time.
Results are cached per (set, scale, sigma, method) in a JSON file, so runs can be split and
resumed; `--table` prints the Markdown table from the cache.

    python benchmarks/noise_table.py --data ../shared/data/benchmark --sets Set5 \
        --methods bicubic,liif,nlm --out benchmarks/noise_table.json
    python benchmarks/noise_table.py --out benchmarks/noise_table.json --table
    python benchmarks/noise_table.py --data ../shared/data/benchmark --estimates  # new estimator
"""

from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path

import numpy as np
import torch

from cnaps.sr import metrics
from cnaps.sr.denoise import AUTO_THRESHOLD, ROBUST, estimate_noise_sigma, prefilter
from cnaps.sr.evaluate import EvalSettings, list_images, make_pair
from cnaps.sr.imageio import read_rgb
from cnaps.sr.inference import load_weights, upscale
from cnaps.sr.resize import resize_pil

METHODS = ["bicubic", "liif", "nlm", "robust"]
LABELS = {"bicubic": "bicubic", "liif": "LIIF (released)", "nlm": "NLM then LIIF",
          "robust": "noise-robust LIIF", "auto": "--denoise auto"}


def chw(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float() / 255


def centre_crop(img: np.ndarray, size: int | None) -> np.ndarray:
    if not size:
        return img
    h, w = img.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return img[top:top + size, left:left + size]


def pairs(files: list[Path], set_name: str, scale: int, sigma: float, crop: int | None):
    """(path, HR crop, noisy LR) per image, with `cnaps eval`'s per-image noise seeds."""
    settings = EvalSettings(sets=[set_name], scales=[scale], noise=sigma)
    for path in files:
        hr = centre_crop(read_rgb(path), crop)
        seed = [0, scale, zlib.crc32(f"{set_name}/{path.name}".encode())]
        yield (path, *make_pair(hr, scale, settings, seed))


def reestimate(args) -> None:
    """Recompute every cached noise estimate with today's estimator (no model runs): the
    `--denoise auto` column follows cnaps.sr.denoise without re-running the models. The NLM
    scores depend on the estimate too (h = 0.8 sigma), so they are dropped: rerun with
    `--methods nlm` to fill them again."""
    out = Path(args.out)
    cache = json.loads(out.read_text())
    cache["protocol"]["auto_threshold"] = AUTO_THRESHOLD
    for key, entry in cache["results"].items():
        where, scale, sigma = key.split("/")
        set_name, _, crop = where.partition("@")
        files = list_images(Path(args.data), set_name)
        entry["sigma_est"] = {path.name: estimate_noise_sigma(lr) for path, _, lr in
                              pairs(files, set_name, int(scale[1:]), float(sigma[5:]),
                                    int(crop) if crop else None)}
        entry.pop("nlm", None)
    out.write_text(json.dumps(cache, indent=1))
    print(f"noise estimates recomputed in {out}; NLM scores dropped: rerun with --methods nlm")


def run(args) -> None:
    out = Path(args.out)
    cache = json.loads(out.read_text()) if out.is_file() else {"protocol": {}, "results": {}}
    cache["protocol"] = {"crop": "SET@N: each HR image's central NxN square", "lr": "PIL bicubic, 8-bit",
                         "noise": "Gaussian, 8-bit rounded, cnaps eval seeds",
                         "metric": "Y-PSNR, shave = scale", "nlm_sigma": "estimated",
                         "auto_threshold": AUTO_THRESHOLD, "robust_weights": args.robust}
    models = {}
    for name in args.methods:
        if name in ("liif", "nlm") and "released" not in models:
            models["released"] = load_weights()
        if name == "robust":
            models["robust"] = load_weights(args.robust)
    for set_name in args.sets:
        files = list_images(Path(args.data), set_name)
        for scale in args.scales:
            for sigma in args.sigmas:
                where = f"{set_name}@{args.crop}" if args.crop else set_name
                key = f"{where}/x{scale}/sigma{sigma:g}"
                entry = cache["results"].setdefault(key, {})
                todo = [m for m in args.methods if m not in entry]
                if not todo:
                    continue
                scores = {m: {} for m in todo}
                sigmas_est = {}
                for path, crop, lr in pairs(files, set_name, scale, sigma, args.crop):
                    target = chw(crop)
                    est = estimate_noise_sigma(lr)
                    sigmas_est[path.name] = est
                    for m in todo:
                        if m == "bicubic":
                            sr = chw(resize_pil(lr, crop.shape[:2]))
                        elif m == "liif":
                            sr = upscale(models["released"], chw(lr), crop.shape[:2])
                        elif m == "nlm":
                            sr = upscale(models["released"], chw(prefilter(lr, est)),
                                         crop.shape[:2])
                        else:
                            sr = upscale(models["robust"], chw(lr), crop.shape[:2])
                        scores[m][path.name] = metrics.psnr(sr, target, scale, "y")
                for m in todo:
                    entry[m] = scores[m]
                entry["sigma_est"] = sigmas_est
                out.write_text(json.dumps(cache, indent=1))
                print(key, {m: round(float(np.mean(list(v.values()))), 2)
                            for m, v in entry.items()}, flush=True)


def table(args) -> str:
    cache = json.loads(Path(args.out).read_text())
    rows = ["| set | scale | sigma | " + " | ".join(LABELS.values()) + " |",
            "|---|---|---|" + "---|" * len(LABELS)]
    for key, entry in cache["results"].items():
        set_name, scale, sigma = key.split("/")
        cells = []
        for m in LABELS:
            if m == "auto":
                if "liif" in entry and "robust" in entry:
                    picks = [entry["robust"][k] if entry["sigma_est"][k] >= AUTO_THRESHOLD
                             else entry["liif"][k] for k in entry["liif"]]
                    cells.append(f"{np.mean(picks):.2f}")
                else:
                    cells.append("")
            else:
                cells.append(f"{np.mean(list(entry[m].values())):.2f}" if m in entry else "")
        set_name = set_name.replace("@", " (central crops ") + ("px)" if "@" in set_name else "")
        rows.append(f"| {set_name} | {scale} | {sigma[5:]} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/benchmark")
    parser.add_argument("--sets", type=lambda s: s.split(","), default=["Set5", "Set14"])
    parser.add_argument("--scales", type=lambda s: [int(x) for x in s.split(",")], default=[4, 8])
    parser.add_argument("--sigmas", type=lambda s: [float(x) for x in s.split(",")],
                        default=[0, 5, 10, 20])
    parser.add_argument("--methods", type=lambda s: s.split(","), default=METHODS)
    parser.add_argument("--robust", default=ROBUST, help="weights name or path of the fine-tune")
    parser.add_argument("--crop", type=int, default=None, help="central HR square per image")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/noise_table.json")
    parser.add_argument("--table", action="store_true", help="print the table from --out")
    parser.add_argument("--estimates", action="store_true",
                        help="recompute the cached noise estimates (the auto column) only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.table:
        print(table(args))
    elif args.estimates:
        reestimate(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
