"""What a result depends on, as digests: the one home for the keys of every skip-if-done and
cache check (the demo cache, collections, folder upscaling).

A key hashes the inputs' bytes, the options that change the output, the weights (by sha256)
and `code_version()`, so any change to the code that could change a result invalidates it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


@functools.cache
def code_version() -> str:
    """cnaps's version plus a hash of every source and shipped-weights file of the package
    but the command line (which only parses options; those that matter are in the key)."""
    from cnaps import __version__

    digest = hashlib.sha256(__version__.encode())
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.relative_to(PACKAGE_DIR).parts[0] == "cli":
            continue
        if path.is_file() and path.suffix in (".py", ".pt", ".json", ".toml"):
            digest.update(str(path.relative_to(PACKAGE_DIR)).encode())
            digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def installed_weights() -> dict[str, str]:
    """name -> sha256 of every installed weights file (an answer's demo may swap weights, e.g.
    for noisy inputs, so all of them count). Read from the weights index: nothing re-hashed."""
    from cnaps.sr.weights import installed

    return {name: entry.sha256 for name, entry in sorted(installed().items())}


def weights_sha256(name_or_path: str | Path) -> str:
    """sha256 of one weights name (recorded) or checkpoint file (hashed)."""
    from cnaps.sr.weights import identity

    return identity(name_or_path)[1]


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | Path) -> str | None:
    """The file's sha256, or None when it cannot be read."""
    try:
        return bytes_sha256(Path(path).read_bytes())
    except OSError:
        return None


def digest(material: dict) -> str:
    """One key for a JSON-able description of what a result depends on."""
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
