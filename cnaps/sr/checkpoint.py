"""The released checkpoint format (LIIF_SPEC §2):
`{'model': {'name': 'liif', 'args': {...}, 'sd': state_dict}, 'optimizer': ..., 'epoch': ...}`.

Loading is strict (every key and shape must match the spec'd model) and safe
(`torch.load(weights_only=True)`); anything else is a `CheckpointError` that says what is wrong.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from cnaps.errors import CheckpointError
from cnaps.output import atomic_file
from cnaps.sr.liif import LIIF
from cnaps.sr.registry import ModelSpec, make


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint dict, validated to hold a LIIF model spec and a state dict."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file {path} does not exist")
    if path.stat().st_size == 0:
        raise CheckpointError(f"weights file {path} is empty (0 bytes); download it again")
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path} is not a PyTorch checkpoint (expected a zip-format .pth file); "
            "it may be truncated or another kind of file")
    try:
        # torch.load does not check the zip's CRCs: flipped bytes inside a tensor would load
        # silently and give garbage output, so every member is verified first.
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise CheckpointError(f"{path} is not a readable zip checkpoint ({exc}); it may be "
                              "truncated or damaged: download or copy it again") from None
    if damaged is not None:
        raise CheckpointError(f"{path} is damaged: {damaged} fails its CRC check (flipped or "
                              "truncated bytes); download or copy it again")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, OSError,
            ValueError, KeyError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot read {path} as a checkpoint: {first_line}") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        raise CheckpointError(
            f"{path} is not a LIIF checkpoint: expected a dict with a 'model' entry "
            "{'name', 'args', 'sd'} (the reference repository's format)")
    model = ckpt["model"]
    missing = [k for k in ("name", "args", "sd") if k not in model]
    if missing:
        raise CheckpointError(f"{path}: the 'model' entry lacks {', '.join(missing)}")
    if model["name"] != "liif":
        raise CheckpointError(f"{path} holds a {model['name']!r} model, expected 'liif'")
    return ckpt


def model_spec(ckpt: dict[str, Any]) -> ModelSpec:
    return ModelSpec(name=ckpt["model"]["name"], args=ckpt["model"]["args"])


def encoder_name(ckpt: dict[str, Any]) -> str:
    try:
        return ckpt["model"]["args"]["encoder_spec"]["name"]
    except (KeyError, TypeError):
        raise CheckpointError("checkpoint args lack encoder_spec.name") from None


# Bounds on the architecture a checkpoint (or a train config) may ask for, checked before
# anything is built: a spec is data, and `n_feats=1e7` would otherwise try to allocate
# terabytes. The released RDN-LIIF, the largest known, has 22 M parameters.
MAX_PARAMETERS = 200_000_000
WIDTH_RANGE = (1, 4096)  # n_feats, G0, growth, MLP hidden widths
DEPTH_RANGE = (1, 512)  # n_resblocks, n_blocks, n_convs, MLP layers
ENCODER_ARGS = {"edsr-baseline": {"n_resblocks": 16, "n_feats": 64},
                "rdn": {"G0": 64, "n_blocks": 16, "n_convs": 8, "growth": 64}}
DEPTH_ARGS = {"n_resblocks", "n_blocks", "n_convs"}


def _bounded_int(value: Any, where: str, bounds: tuple[int, int]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CheckpointError(f"{where} must be a whole number, got {value!r}")
    low, high = bounds
    if not low <= value <= high:
        raise CheckpointError(f"{where} = {value} is outside {low}..{high}")
    return value


def _encoder_parameters(name: str, a: dict[str, int]) -> tuple[int, int]:
    """(parameter count, output channels) of an encoder, without building it."""
    if name == "edsr-baseline":
        n = a["n_feats"]
        return 3 * n * 9 + (2 * a["n_resblocks"] + 1) * n * n * 9, n
    g0, g, c = a["G0"], a["growth"], a["n_convs"]
    block = sum((g0 + i * g) * g * 9 for i in range(c)) + (g0 + c * g) * g0
    return 3 * g0 * 9 + g0 * g0 * 9 + a["n_blocks"] * (block + g0 * g0) + g0 * g0 * 9, g0


def check_architecture(args: Any) -> int:
    """Raise CheckpointError unless a LIIF spec's args name a known encoder and an MLP of sane
    sizes, at most MAX_PARAMETERS in all (counted arithmetically, nothing is allocated).
    Returns the parameter count (conv biases left out: under 1 %)."""
    if not isinstance(args, dict):
        raise CheckpointError(f"model args must be a mapping, got {type(args).__name__}")
    encoder, imnet = args.get("encoder_spec"), args.get("imnet_spec")
    if not isinstance(encoder, dict) or encoder.get("name") not in ENCODER_ARGS:
        got = encoder.get("name") if isinstance(encoder, dict) else encoder
        raise CheckpointError(f"encoder_spec.name must be one of {', '.join(ENCODER_ARGS)}, "
                              f"got {got!r}")
    enc_args = encoder.get("args", {})
    if not isinstance(enc_args, dict):
        raise CheckpointError("encoder_spec.args must be a mapping")
    sizes = dict(ENCODER_ARGS[encoder["name"]])
    for key, default in sizes.items():
        bounds = DEPTH_RANGE if key in DEPTH_ARGS else WIDTH_RANGE
        sizes[key] = _bounded_int(enc_args.get(key, default), f"encoder_spec.args.{key}", bounds)
    count, channels = _encoder_parameters(encoder["name"], sizes)
    if not isinstance(imnet, dict) or imnet.get("name") != "mlp":
        raise CheckpointError("imnet_spec must be {'name': 'mlp', 'args': {...}}")
    mlp_args = imnet.get("args", {})
    hidden = mlp_args.get("hidden_list", [256, 256, 256, 256]) if isinstance(mlp_args, dict) \
        else None
    if not isinstance(hidden, (list, tuple)) or not DEPTH_RANGE[0] <= len(hidden) <= 64:
        raise CheckpointError(f"imnet_spec.args.hidden_list must be a list of 1..64 widths, "
                              f"got {hidden!r}")
    last = channels * 9 + 4  # unfolded features + relative coordinate + cell
    for i, width in enumerate(hidden):
        width = _bounded_int(width, f"imnet_spec.args.hidden_list[{i}]", WIDTH_RANGE)
        count, last = count + last * width + width, width
    count += last * 3 + 3
    if count > MAX_PARAMETERS:
        raise CheckpointError(f"the architecture has {count / 1e6:.0f} M parameters, over the "
                              f"limit of {MAX_PARAMETERS / 1e6:.0f} M (the released RDN-LIIF "
                              "has 22 M)")
    return count


def load_model(path: str | Path) -> LIIF:
    """Build the model the checkpoint describes and load its weights strictly (eval mode)."""
    ckpt = read_checkpoint(path)
    try:
        check_architecture(ckpt["model"]["args"])
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: invalid model spec: {exc}") from None
    try:
        model = make(model_spec(ckpt))
    except (ValueError, TypeError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: invalid model spec: {exc}") from None
    state = ckpt["model"]["sd"]
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: 'sd' is not a state dict")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match the {encoder_name(ckpt)} LIIF architecture: "
            f"{len(missing)} missing keys (e.g. {missing[:2]}), "
            f"{len(unexpected)} unexpected keys (e.g. {unexpected[:2]})")
    wrong = [k for k, v in state.items() if tuple(v.shape) != tuple(expected[k].shape)]
    if wrong:
        k = wrong[0]
        raise CheckpointError(
            f"{path}: {len(wrong)} tensors have the wrong shape, e.g. {k}: "
            f"{tuple(state[k].shape)} instead of {tuple(expected[k].shape)}")
    if any(not torch.isfinite(v).all() for v in state.values() if v.is_floating_point()):
        raise CheckpointError(f"{path}: weights contain NaN or infinity")
    model.load_state_dict(state, strict=True)
    return model.eval()


def save_checkpoint(model: LIIF, path: str | Path, optimizer: dict | None = None,
                    epoch: int | None = None, **extra: Any) -> None:
    """Write `model` in the released format, atomically (no half-written file on failure)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = model.spec
    payload: dict[str, Any] = {"model": {**spec, "sd": model.state_dict()}}
    if optimizer is not None:
        payload["optimizer"] = optimizer
    if epoch is not None:
        payload["epoch"] = epoch
    payload.update(extra)
    with atomic_file(path) as tmp:  # the user's umask, not mkstemp's 0600
        torch.save(payload, tmp)
