"""A disk cache of demo results, and the weights loaded once per process.

A demo's result depends only on what the plan says (weights, scale, degradations and their
seed, photo, and the labels the answer shows), on the bytes of the photo and of the installed
weights, on the code that runs it and on the torch version. Those are hashed into one key; the
entry holds the `DemoResult` and the pictures as PNG bytes, so an answer made from the cache is
byte-identical to one made by running the demo (answer.json's `demo.seconds` then keeps the
time the demo took when it ran).

Entries are single JSON files written through a temporary sibling and `os.replace`, so
concurrent workers (local processes or Ray tasks on a shared folder) never see half an entry.
An entry that does not parse, whose checksum or key does not match, or whose pictures do not
decode is recomputed and overwritten, never trusted.

The cache is off for library callers until `configure()` is called; `cnaps answer` turns it on
(default folder `$CNAPS_HOME/cache/demos`) unless `--no-cache` is given.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import platformdirs
from PIL import Image

from cnaps.answer.figure import png_bytes
from cnaps.fingerprint import code_version, digest, file_sha256, installed_weights
from cnaps.output import write_text_atomic

FORMAT = 1  # bump when the entry layout changes


def default_dir() -> Path:
    """`$CNAPS_HOME/cache/demos`, else the platform's user cache folder (as the weights)."""
    root = os.environ.get("CNAPS_HOME")
    base = Path(root) if root else Path(platformdirs.user_cache_dir("cnaps"))
    return base / "cache" / "demos"


def demo_key(plan) -> str | None:
    """The cache key of a `DemoPlan`, or None when it cannot be cached (an unreadable photo:
    the demo itself then reports the error)."""
    import torch

    photo = None
    if plan.image is not None:
        photo = file_sha256(plan.image)
        if photo is None:
            return None
    material = {"format": FORMAT, "plan": plan.model_dump(mode="json"), "photo_sha256": photo,
                "weights": installed_weights(), "code": code_version(),
                "torch": torch.__version__}
    return digest(material)


class DemoCache:
    """Demo results on disk under `root`, one file per key."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def load(self, key: str):
        """The cached `DemoRun`, or None when absent or not trustworthy."""
        from cnaps.answer.records import DemoResult, DemoRun

        path = self.path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            payload = entry["payload"]
            if entry.get("sha256") != digest(payload) or payload.get("key") != key:
                return None
            result = DemoResult.model_validate(payload["result"])
            pictures = {}
            for name, data in payload["pictures"].items():
                with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as im:
                    im.load()
                    pictures[name] = im.copy()
            return DemoRun(result=result, pictures=pictures)
        except FileNotFoundError:
            return None
        except Exception:  # corrupt in any way: recompute, never trust
            return None

    def store(self, key: str, run) -> None:
        payload = {"key": key, "result": run.result.model_dump(mode="json"),
                   "pictures": {name: base64.b64encode(png_bytes(img)).decode("ascii")
                                for name, img in run.pictures.items()}}
        text = json.dumps({"format": FORMAT, "sha256": digest(payload), "payload": payload})
        write_text_atomic(self.path(key), text)

_active: DemoCache | None = None


def configure(root: str | Path | None) -> DemoCache | None:
    """Turn the cache on at `root` (None: off) for this process; returns it."""
    global _active
    _active = DemoCache(root) if root is not None else None
    return _active


def active() -> DemoCache | None:
    return _active


def cached_run_demo(plan, cache: DemoCache | None = None):
    """`cnaps.answer.stage6_demo.run_demo(plan)`, answered from the cache when an entry matches."""
    from cnaps.answer import stage6_demo as demo

    cache = cache if cache is not None else _active
    key = demo_key(plan) if cache is not None else None
    if key is None:
        return demo.run_demo(plan)
    run = cache.load(key)
    if run is not None:
        cache.hits += 1
        return run
    cache.misses += 1
    run = demo.run_demo(plan)
    cache.store(key, run)
    # Answer from what was stored, so a cold run and a warm one give the very same pictures.
    return cache.load(key) or run
