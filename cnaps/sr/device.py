"""Where and how precisely the engine runs: the device (`auto`, `cpu`, `cuda`) and the numeric
precision, `exact` (float32, the paper's numbers) or `fast` (bfloat16).

`fast` runs the encoder convolutions and the MLP's matrix products in bfloat16, which recent
CPUs execute on dedicated units (x86 `avx512_bf16` / `amx_bf16`, Arm `bf16`) at 2-4x their
float32 rate; on a GPU, bfloat16 (float16 where the GPU lacks bfloat16). Coordinates, the
choice of LR cell and the local-ensemble weights stay float32 in both modes, so `fast` changes
pixel values by rounding only (measured: benchmarks/precision.py), never which cells are read.

`auto` picks `fast` only where a short timing on this machine shows the bfloat16 matrix product
clearly faster than float32 (a CPU can advertise bf16 yet run it slower), else `exact`.
Evaluation and the answer's demo stay `exact`: their numbers follow the paper's protocol.
"""

from __future__ import annotations

import copy
import functools
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnaps.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("exact", "fast", "auto")
# `auto` takes bfloat16 when its matrix product is at least this much faster than float32:
# below it, rounding is not worth it (the MLP is ~70-90% of the time, the rest does not speed up).
AUTO_MIN_SPEEDUP = 1.5
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")  # x86 AVX-512 / AMX, Arm (cpuinfo "bf16")


def pick_device(name: str) -> torch.device:
    """`auto` (CUDA when this PyTorch sees a GPU, else the CPU), `cpu` or `cuda`."""
    if name not in DEVICES:
        raise ConfigError(f"--device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but this PyTorch sees no CUDA GPU; "
                          "use --device cpu or auto")
    return torch.device(name)


@dataclass(frozen=True)
class Precision:
    """What the engine will run: the dtype, and one line for the user when it is not what
    they asked for (or why `auto` chose as it did)."""

    requested: str
    dtype: torch.dtype
    note: str | None = None

    @property
    def name(self) -> str:
        return "exact" if self.dtype == torch.float32 else "fast"


def cpu_has_bf16_units(cpuinfo: str | None = None) -> bool:
    """Whether the CPU's flags list bfloat16 instructions (Linux /proc/cpuinfo)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.split(":", 1)[0].strip() in ("flags", "Features"):
            flags.update(line.split(":", 1)[1].split())
    return any(flag in flags for flag in CPU_BF16_FLAGS)


def _half_dtype(device: torch.device) -> torch.dtype | None:
    """The reduced-precision dtype `fast` uses on this device, or None where there is none."""
    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_bf16_units() else None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return None


@functools.cache
def measured_speedup(device_type: str, dtype: torch.dtype) -> float:
    """float32 time / `dtype` time of an MLP-sized matrix product (4096x256 by 256x256), best
    of 5 after a warm-up, on the current thread count. Cached per process (~0.1 s once)."""
    device = torch.device(device_type)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def best(dt: torch.dtype) -> float:
        x = torch.randn(4096, 256, device=device).to(dt)
        w = torch.randn(256, 256, device=device).to(dt)
        times = []
        for _ in range(6):
            sync()
            start = time.perf_counter()
            for _ in range(4):
                x @ w
            sync()
            times.append(time.perf_counter() - start)
        return min(times[1:])

    return best(torch.float32) / best(dtype)


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> Precision:
    """The dtype for `exact`, `fast` or `auto` on `device`, with a note for the user."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    device = torch.device(device)
    if precision == "exact":
        return Precision(precision, torch.float32)
    half = _half_dtype(device)
    if half is None:
        where = (f"this CPU ({platform.machine()}) has no bfloat16 units" if device.type == "cpu"
                 else f"no reduced precision is set up for device {device.type}")
        return Precision(precision, torch.float32, f"precision {precision}: {where}; running exact")
    if precision == "fast":
        return Precision(precision, half)
    speedup = measured_speedup(device.type, half)
    if speedup >= AUTO_MIN_SPEEDUP:
        return Precision(precision, half, f"precision auto: fast ({str(half).split('.')[-1]} "
                                          f"matrix products measured {speedup:.1f}x float32 here)")
    return Precision(precision, torch.float32,
                     f"precision auto: exact ({str(half).split('.')[-1]} measured only "
                     f"{speedup:.1f}x float32 here)")


def model_in(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """The model itself for float32; otherwise a copy with its weights in `dtype` except the
    MLP's first layer (the caller's model is left as it is, so one model runs exact and fast).

    The first layer stays float32 because LIIF adds small per-query terms (offset, cell) to a
    large per-cell projection there; it costs a rank-4 update per query, not a matrix product,
    so float32 is free and keeps the offsets' effect unrounded."""
    if dtype == torch.float32:
        return model
    fast = copy.deepcopy(model).to(dtype)
    # The caller's float32 layer itself (a copy): `.float()` of the converted one would keep
    # its weights rounded to `dtype`.
    fast.imnet.layers[0] = copy.deepcopy(model.imnet.layers[0])
    return fast
