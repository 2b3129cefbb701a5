"""A training folder from photos a user can install: scikit-image's sample photos and Debian
wallpaper packages (`apt-get download` + `dpkg -x`, never installed), each image's source and
license recorded in `manifest.json` (licenses read from the packages' DEP-5 copyright files).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict

from cnaps.errors import CnapsError, DataError
from cnaps.sr.imageio import IMAGE_SUFFIXES, read_rgb
from cnaps.sr.resize import resize_pil

SKIMAGE_PHOTOS = {  # scikit-image's bundled colour photos (no network needed)
    "astronaut": "public domain (NASA), via scikit-image",
    "coffee": "CC0 (Rachel Michetti), via scikit-image",
    "chelsea": "CC0 (Stefan van der Walt), via scikit-image",
    "rocket": "public domain (NASA/SpaceX), via scikit-image",
    "stereo_motorcycle": "Middlebury stereo data, free for research use, via scikit-image",
}
DEBIAN_PACKAGES = ["mate-backgrounds", "plasma-workspace-wallpapers", "lomiri-wallpapers-16.04",
                   "lomiri-wallpapers-20.04", "lxqt-themes", "palapeli-data"]
# Drawn graphics (logos, flat shapes) teach nothing about photos; skip them by name.
SKIP_NAMES = re.compile(r"logo|origami|stripes|triangles|debug|arc-colors|simple_blue|"
                        r"float-into|kde-plasma|waves|plasma_arch|konqui", re.IGNORECASE)


class ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str
    source: str
    origin: str
    license: str
    sha256: str
    width: int
    height: int


def dep5_licenses(copyright_text: str) -> list[tuple[list[str], str]]:
    """(file patterns, license) stanzas of a machine-readable Debian copyright file."""
    stanzas = []
    for block in re.split(r"\n\s*\n", copyright_text):
        files = re.search(r"^Files:\s*(.+(?:\n[ \t]+.+)*)", block, re.MULTILINE)
        lic = re.search(r"^License:\s*(\S.*)$", block, re.MULTILINE)
        if files and lic:
            stanzas.append((files.group(1).split(), lic.group(1).strip()))
    return stanzas


def license_for(path: str, stanzas: list[tuple[list[str], str]]) -> str:
    """DEP-5: the last stanza whose pattern matches wins. Installed paths differ from source
    paths, so a pattern matches by path suffix, or by its exact file name."""
    found = "unknown (see the package's copyright file)"
    name = Path(path).name
    for patterns, lic in stanzas:
        for pattern in patterns:
            base = Path(pattern).name
            if fnmatch.fnmatch(path, "*/" + pattern) or (
                    not any(c in base for c in "*?[") and base == name):
                found = lic
    return found


def _save(img: np.ndarray, out: Path, max_side: int) -> tuple[np.ndarray, str]:
    """Downscale (antialiased) so the long side is at most max_side; save as PNG."""
    h, w = img.shape[:2]
    if max(h, w) > max_side:
        f = max_side / max(h, w)
        img = resize_pil(img, (round(h * f), round(w * f)))
    Image.fromarray(img).save(out)
    return img, hashlib.sha256(out.read_bytes()).hexdigest()


def fetch_debian(packages: list[str], cache: Path) -> dict[str, Path]:
    """`apt-get download` + `dpkg -x` each package into cache (never installing it)."""
    roots = {}
    cache.mkdir(parents=True, exist_ok=True)
    for pkg in packages:
        root = cache / "x" / pkg
        if not root.is_dir():
            debs = list(cache.glob(f"{pkg}_*.deb"))
            if not debs:
                proc = subprocess.run(["apt-get", "download", pkg], cwd=cache,
                                      capture_output=True, text=True)
                debs = list(cache.glob(f"{pkg}_*.deb"))
                if proc.returncode != 0 or not debs:
                    last = (proc.stderr.strip().splitlines() or ["no .deb"])[-1]
                    raise DataError(f"apt-get download {pkg} failed ({last}); check apt's "
                                    "sources or leave the package out with --no-debian")
            tmp = Path(tempfile.mkdtemp(dir=cache))
            proc = subprocess.run(["dpkg", "-x", str(debs[0]), str(tmp)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                shutil.rmtree(tmp, ignore_errors=True)
                last = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
                raise DataError(f"dpkg -x {debs[0].name} failed ({last}); delete it from "
                                f"{cache} and run again to download it anew")
            root.parent.mkdir(parents=True, exist_ok=True)
            tmp.rename(root)  # only a complete extraction gets the package's name
        roots[pkg] = root
    return roots


def assemble(out: str | Path, cache: str | Path, debian: list[str] = DEBIAN_PACKAGES,
             skimage: bool = True, min_side: int = 256, max_side: int = 2048,
             progress: bool = False) -> list[ManifestEntry]:
    """Write a training folder of PNG photos plus manifest.json (source, license, sha256)."""
    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries: list[ManifestEntry] = []
    seen: set[str] = set()

    def add(img: np.ndarray, stem: str, source: str, origin: str, lic: str) -> None:
        digest = hashlib.sha256(img.tobytes()).hexdigest()
        if digest in seen or min(img.shape[:2]) < min_side:
            return
        seen.add(digest)
        path = out / f"{stem}.png"
        img, file_digest = _save(img, path, max_side)
        entries.append(ManifestEntry(file=path.name, source=source, origin=origin, license=lic,
                                     sha256=file_digest, width=img.shape[1],
                                     height=img.shape[0]))

    if skimage:
        import skimage.data

        for name, lic in SKIMAGE_PHOTOS.items():
            img = getattr(skimage.data, name)()
            img = img[0] if isinstance(img, tuple) else img  # the stereo pair: left view
            add(np.ascontiguousarray(img[..., :3]), f"skimage-{name}", "scikit-image",
                f"skimage.data.{name}()", lic)
    for pkg, root in fetch_debian(list(debian), Path(cache)).items():
        copyright_file = next(root.glob("usr/share/doc/*/copyright"), None)
        stanzas = dep5_licenses(copyright_file.read_text()) if copyright_file else []
        files = [p for p in sorted(root.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES
                 and p.is_file() and not SKIP_NAMES.search(str(p.relative_to(root)))]
        for path in tqdm(files, desc=pkg, disable=not progress):
            rel = str(path.relative_to(root))
            try:
                img = read_rgb(path)
            except CnapsError:  # an unreadable file in a package: skip it
                continue
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{pkg}-{rel}".rsplit(".", 1)[0])[-120:]
            add(img, stem, f"debian:{pkg}", "/" + rel, license_for(rel, stanzas))
    (out / "manifest.json").write_text(
        json.dumps([e.model_dump() for e in entries], indent=2) + "\n")
    return entries
