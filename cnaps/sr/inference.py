"""Tiled, memory-bounded LIIF upscaling at any scale or output size.

The LR image is cut into blocks of LR cells. For each block the encoder runs on the block plus
a halo as wide as its receptive field (plus the cells the unfold and the local ensemble reach),
so every feature the block's queries read equals the whole-image feature; the block's output
pixels are then queried in chunks. Peak memory depends on the tile and chunk sizes, not on the
image size; the output is written straight into the result buffer (float or 8-bit).
"""

from __future__ import annotations

import ctypes
import functools
import math
import platform
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from cnaps.errors import ScaleError
from cnaps.sr.checkpoint import load_model
from cnaps.sr.device import model_in, resolve_precision
from cnaps.sr.liif import EPS_SHIFT, LIIF, nearest_cell, pixel_centres
from cnaps.sr.weights import DEFAULT_WEIGHTS, identity, verified_file

# Output pixels queried at once: 4 ensemble rows of 256 floats each, ~8 MB per activation,
# small enough to stay in cache between layers (measured fastest of 2k-16k here).
DEFAULT_CHUNK = 2048


# glibc malloc (Linux): buffers up to this size come from the heap, not from a fresh mmap each,
# and up to _HEAP_KEEP of freed heap stays with the process instead of going back to the OS.
# With glibc's defaults every query chunk's few-MB buffers were fresh pages: 630k page faults
# (2.5 GB zeroed) in a process's first 96 px x8 fast upscale and ~250k in every exact one.
# The sizes trade memory for page faults on large inputs, whose encoder tiles take tens of MB
# (2048x2048 x1.125, whole process, 2 threads: glibc's defaults 934 MB peak RSS / 90.2 s;
# 64 MB / 128 MB 1101 MB / 83.0 s; 128 MB / 512 MB 1975 MB / 78.7 s). The query chunks' 8 MB
# buffers stay on the heap with any of them (96 px x8 exact 6.28 -> 4.73 s).
_MMAP_FROM = 64 << 20
_HEAP_KEEP = 128 << 20


@functools.cache
def _keep_freed_memory() -> bool:
    """Tell glibc's malloc to reuse freed buffers (see _MMAP_FROM); once per process, only
    where the C library is glibc. Returns whether it was set."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's <malloc.h>
    return bool(libc.mallopt(m_trim_threshold, _HEAP_KEEP)
                and libc.mallopt(m_mmap_threshold, _MMAP_FROM))


def load_weights(name_or_path: str | Path = DEFAULT_WEIGHTS) -> LIIF:
    """A model from an installed weights name (see `cnaps weights list`) or a checkpoint path."""
    path = Path(name_or_path)
    if path.suffix in (".pth", ".pt") or path.exists():
        return load_model(path)
    return load_model(verified_file(str(name_or_path)))  # sha256 checked first


_loaded: dict[tuple[str, str], LIIF] = {}
_loaded_lock = threading.Lock()


def load_weights_once(name_or_path: str | Path = DEFAULT_WEIGHTS) -> LIIF:
    """`load_weights`, once per process and weights file: keyed by the file and its sha256, so
    replaced weights load afresh. Thread-safe (the server's workers share a model; the forward
    pass only reads its parameters)."""
    key = identity(name_or_path)
    with _loaded_lock:
        if key not in _loaded:
            _loaded[key] = load_weights(name_or_path)
        return _loaded[key]


def output_size(height: int, width: int, scale: float | None = None,
                size: tuple[int, int] | None = None,
                max_pixels: int | None = None) -> tuple[int, int]:
    """(H, W) of the output for a scale factor or an explicit (H, W), validated."""
    if (scale is None) == (size is None):
        raise ScaleError("give either a scale (e.g. --scale 4) or an output size (--size WxH)")
    if scale is not None:
        if not isinstance(scale, (int, float)) or not math.isfinite(scale):
            raise ScaleError(f"scale must be a finite number, got {scale!r}")
        if scale <= 1:
            raise ScaleError(f"scale must be greater than 1 (this tool enlarges), got {scale:g}")
        area = float(height) * width * scale * scale  # float: 1e200 gives inf, not an error
        if not math.isfinite(area) or (max_pixels is not None and area > max_pixels):
            raise ScaleError(
                f"--scale {scale:g} would make a {width * scale:.3g}x{height * scale:.3g} output, "
                f"over the limit of {(max_pixels or 0) / 1e6:.1f} MP; use a smaller scale"
                + (" or raise --max-output-pixels" if max_pixels is not None else ""))
        out = (round(height * scale), round(width * scale))
    else:
        out = (int(size[0]), int(size[1]))
        if out[0] < 1 or out[1] < 1:
            raise ScaleError(f"output size must be positive, got {out[1]}x{out[0]}")
        if out[0] < height or out[1] < width:
            raise ScaleError(f"output size {out[1]}x{out[0]} is smaller than the input "
                             f"{width}x{height}; this tool enlarges")
    if max_pixels is not None and out[0] * out[1] > max_pixels:
        raise ScaleError(
            f"output would be {out[1]}x{out[0]} = {out[0] * out[1] / 1e6:,.1f} MP, over the "
            f"limit of {max_pixels / 1e6:.1f} MP; use a smaller scale or raise "
            "--max-output-pixels")
    return out


def _home_cells(n_out: int, n_in: int) -> np.ndarray:
    """LR cell whose area holds each output pixel centre (exact integer arithmetic)."""
    return (2 * np.arange(n_out, dtype=np.int64) + 1) * n_in // (2 * n_out)


def _bands(n_out: int, n_in: int, block: int) -> list[tuple[int, int]]:
    """Output index ranges whose pixel centres fall in consecutive runs of `block` LR cells."""
    homes = _home_cells(n_out, n_in)
    starts = np.searchsorted(homes, np.arange(0, n_in, block))
    ends = list(starts[1:]) + [n_out]
    return [(int(a), int(b)) for a, b in zip(starts, ends) if b > a]


def _cell_span(n_out: int, n_in: int, start: int, stop: int) -> tuple[int, int]:
    """Range of LR cells the local ensemble reads for output pixels start..stop-1."""
    coord = pixel_centres(n_out, torch.tensor([start, stop - 1]))
    lo = nearest_cell((coord[0] - 1 / n_in + EPS_SHIFT).clamp(-1 + 1e-6, 1 - 1e-6), n_in)
    hi = nearest_cell((coord[1] + 1 / n_in + EPS_SHIFT).clamp(-1 + 1e-6, 1 - 1e-6), n_in)
    return int(lo), int(hi) + 1


def _features(model: LIIF, inp: torch.Tensor, rows: tuple[int, int],
              cols: tuple[int, int]) -> torch.Tensor:
    """Projected features of LR cells rows x cols, channels last: (R, S, 256).

    Runs the encoder on the cells plus a one-cell unfold margin plus the receptive-field halo,
    clipped to the image; the margin outside the image is the unfold's zero padding."""
    h, w = inp.shape[-2:]
    halo = model.receptive_radius
    (y0, y1), (x0, x1) = rows, cols
    fy0, fy1, fx0, fx1 = y0 - 1, y1 + 1, x0 - 1, x1 + 1  # cells the unfold reads
    ey0, ey1 = max(fy0 - halo, 0), min(fy1 + halo, h)
    ex0, ex1 = max(fx0 - halo, 0), min(fx1 + halo, w)
    # Channels-last tiles: oneDNN's convolutions run 1.4x faster on them warm; NCHW tiles made a
    # one-shot small upscale ~4 s faster (first-call cost) but the 12 MP x2 photo 1.7x slower
    # (fast 312.7 s vs 180.1 s, encoder 198 vs 74 s): README, Speed.
    feat = model.encode(inp[:, :, ey0:ey1, ex0:ex1].contiguous(memory_format=torch.channels_last))
    # Zero-pad where the unfold margin leaves the image, then keep exactly fy0..fy1, fx0..fx1.
    pad = (max(-fx0, 0), max(fx1 - w, 0), max(-fy0, 0), max(fy1 - h, 0))
    feat = F.pad(feat, pad)
    oy, ox = fy0 + pad[2] - ey0, fx0 + pad[0] - ex0
    feat = feat[:, :, oy:oy + (fy1 - fy0), ox:ox + (fx1 - fx0)]
    proj = model.project(feat, padding=0)  # (1, 256, y1 - y0, x1 - x0)
    return proj[0].permute(1, 2, 0).contiguous()


@torch.no_grad()
def upscale(model: LIIF, lr: torch.Tensor, size: tuple[int, int], *,
            tile_pixels: int | None = None, chunk: int = DEFAULT_CHUNK,
            out_dtype: torch.dtype = torch.float32, progress: bool = False,
            device: torch.device | str = "cpu", precision: str = "exact") -> torch.Tensor:
    """Upscale lr (3, h, w) in [0, 1] to size (H, W) on `device`.

    Returns (3, H, W) on `device`: float32 clamped to [0, 1] (the model's float output), or
    uint8 rounded when out_dtype is torch.uint8 (what image files need, at a quarter of the
    memory). tile_pixels: encoder tile size, halo included (default: the encoder's own).
    precision: exact (float32), fast (bfloat16 encoder and MLP where the device has the
    units, else exact) or auto (fast where measured faster); see cnaps.sr.device."""
    height, width = size
    h, w = lr.shape[-2:]
    device = torch.device(device)
    _keep_freed_memory()
    dtype = resolve_precision(precision, device).dtype
    model = model_in(model.to(device), dtype)
    inp = ((lr.to(device, torch.float32) - 0.5) / 0.5).unsqueeze(0).to(dtype)
    out = torch.empty((3, height, width), dtype=out_dtype, device=device)
    # A square encoder tile of tile_pixels, minus the halo, is the block of LR cells per tile.
    tile_pixels = tile_pixels or model.encoder.default_tile_pixels
    block = max(16, math.isqrt(tile_pixels) - 2 * (model.receptive_radius + 1))
    row_bands, col_bands = _bands(height, h, block), _bands(width, w, block)
    col_coord, row_coord = pixel_centres(width, device=device), pixel_centres(height, device=device)
    cell = (2 / height, 2 / width)
    bar = tqdm(total=height * width, unit="px", unit_scale=True, delay=2, leave=False,
               disable=not progress, desc="upscaling")
    for r0, r1 in row_bands:
        cell_rows = _cell_span(height, h, r0, r1)
        for c0, c1 in col_bands:
            cell_cols = _cell_span(width, w, c0, c1)
            proj = _features(model, inp, cell_rows, cell_cols)
            # Cells, offsets and offset terms of the tile's queries, once; sliced per chunk.
            queries = model.grid_queries(row_coord[r0:r1], col_coord[c0:c1], cell, grid=(h, w),
                                         origin=(cell_rows[0], cell_cols[0]))
            rows_per_chunk = max(1, chunk // (c1 - c0))
            for q0 in range(r0, r1, rows_per_chunk):
                q1 = min(q0 + rows_per_chunk, r1)
                pred = model.query_grid(proj, queries.row_range(q0 - r0, q1 - r0))
                pred = (pred * 0.5 + 0.5).clamp_(0, 1).t().reshape(3, q1 - q0, c1 - c0)
                if out_dtype == torch.uint8:
                    pred = pred.mul_(255).round_()
                out[:, q0:q1, c0:c1] = pred
                bar.update((q1 - q0) * (c1 - c0))
    bar.close()
    return out
