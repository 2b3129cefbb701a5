"""The released checkpoint format (LIIF_SPEC §2):
`{'model': {'name': 'liif', 'args': {...}, 'sd': state_dict}, 'optimizer': ..., 'epoch': ...}`.

Loading is strict (every key and shape must match the spec'd model) and safe
(`torch.load(weights_only=True)`); anything else is a `CheckpointError` that says what is wrong.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from cnaps.errors import CheckpointError
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


def load_model(path: str | Path) -> LIIF:
    """Build the model the checkpoint describes and load its weights strictly (eval mode)."""
    ckpt = read_checkpoint(path)
    try:
        model = make(model_spec(ckpt))
    except (ValueError, TypeError) as exc:
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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
