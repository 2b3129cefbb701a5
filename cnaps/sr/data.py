"""Training data for LIIF (LIIF_SPEC §3): HR image folders, random (LR, query) batches with the
paper's sampling, noise/JPEG degradation of the LR input, and `assemble`, which builds a training
folder from photos a user can install (scikit-image's sample photos and Debian wallpaper
packages), recording each image's source and license in `manifest.json`.

Per sample (the paper's recipe): scale s ~ U(scale_min, scale_max); a random square HR crop of
side round(lr_size * s); LR = PIL bicubic (antialiased) resize of the 8-bit crop to
lr_size x lr_size; random h-flip, v-flip and transpose; `queries` HR pixels sampled without
replacement, each with its centre coordinate, the cell 2/side and its RGB value.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from cnaps.errors import DataError
from cnaps.sr import imageio

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


class NoiseAug(BaseModel):
    """Gaussian noise on the 8-bit LR input: clean with probability p_clean, else
    sigma ~ U(sigma_min, sigma_max) in 8-bit units (the result is rounded to 8 bits)."""

    model_config = ConfigDict(extra="forbid")
    p_clean: float = Field(1.0, ge=0, le=1, description="share of samples left noise-free")
    sigma_min: float = Field(0.0, ge=0, le=100)
    sigma_max: float = Field(0.0, ge=0, le=100)


class JpegAug(BaseModel):
    """JPEG compression of the (noisy) LR input with probability p, quality ~ U(q_min, q_max)."""

    model_config = ConfigDict(extra="forbid")
    p: float = Field(0.0, ge=0, le=1)
    q_min: int = Field(30, ge=1, le=100)
    q_max: int = Field(95, ge=1, le=100)


class SamplerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lr_size: int = Field(48, ge=8, description="side of the square LR input crop")
    scale_min: float = Field(1.0, ge=1.0)
    scale_max: float = Field(4.0, ge=1.0)
    queries: int = Field(2304, ge=1, description="HR pixels sampled per crop")
    noise: NoiseAug = NoiseAug()
    jpeg: JpegAug = JpegAug()


def list_images(folder: str | Path) -> list[Path]:
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist; make one with `cnaps data`")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{folder} holds no images (expected {', '.join(sorted(IMAGE_SUFFIXES))})")
    return files


def read_rgb(path: Path) -> np.ndarray:
    """(H, W, 3) uint8."""
    try:
        with Image.open(path) as img:
            return imageio.rgb8(img, path)  # 16-bit and float scaled, bombs refused
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from None


def add_noise_u8(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of std `sigma` (8-bit units), rounded and clipped back to uint8."""
    if sigma <= 0:
        return img
    noisy = img.astype(np.float32) + rng.normal(0.0, sigma, img.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def jpeg_u8(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as out:
        return np.asarray(out.convert("RGB"))


def degrade_lr(lr: np.ndarray, cfg: SamplerConfig, rng: np.random.Generator) -> np.ndarray:
    """Apply the configured noise and JPEG augmentation to one uint8 LR crop."""
    if rng.random() >= cfg.noise.p_clean:
        lr = add_noise_u8(lr, rng.uniform(cfg.noise.sigma_min, cfg.noise.sigma_max), rng)
    if cfg.jpeg.p > 0 and rng.random() < cfg.jpeg.p:
        lr = jpeg_u8(lr, int(rng.integers(cfg.jpeg.q_min, cfg.jpeg.q_max + 1)))
    return lr


def to_input(img: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> normalised (3, H, W) float in [-1, 1]."""
    return (torch.from_numpy(np.array(img)).permute(2, 0, 1).float() / 255 - 0.5) / 0.5


def bicubic_u8(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """PIL bicubic (antialiased) resize of uint8 (H, W, 3) to (height, width) = size."""
    return np.asarray(Image.fromarray(img).resize((size[1], size[0]), Image.BICUBIC))


def pixel_centres(n: int) -> np.ndarray:
    return (-1 + (2 * np.arange(n) + 1) / n).astype(np.float32)


@dataclass
class Batch:
    inp: torch.Tensor  # (B, 3, h, w) normalised LR
    coord: torch.Tensor  # (B, Q, 2) (row, col) in [-1, 1]
    cell: torch.Tensor  # (B, Q, 2)
    gt: torch.Tensor  # (B, Q, 3) normalised HR values

    def to(self, device) -> "Batch":
        return Batch(*(t.to(device) for t in (self.inp, self.coord, self.cell, self.gt)))


class Sampler:
    """Random training batches from in-memory HR images; all randomness comes from `rng`, whose
    state is saved in training checkpoints so a resumed run draws the same batches."""

    def __init__(self, images: list[np.ndarray], cfg: SamplerConfig, rng: np.random.Generator):
        max_side = round(cfg.lr_size * cfg.scale_max)
        self.images = [im for im in images if min(im.shape[:2]) >= max_side]
        if not self.images:
            raise DataError(f"no training image is at least {max_side}px on its short side "
                            f"(lr_size {cfg.lr_size} x scale_max {cfg.scale_max})")
        self.cfg, self.rng = cfg, rng

    def sample(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        cfg, rng = self.cfg, self.rng
        img = self.images[int(rng.integers(len(self.images)))]
        scale = rng.uniform(cfg.scale_min, cfg.scale_max)
        side = round(cfg.lr_size * scale)
        top = int(rng.integers(img.shape[0] - side + 1))
        left = int(rng.integers(img.shape[1] - side + 1))
        hr = img[top:top + side, left:left + side]
        if rng.random() < 0.5:
            hr = hr[:, ::-1]
        if rng.random() < 0.5:
            hr = hr[::-1]
        if rng.random() < 0.5:
            hr = hr.transpose(1, 0, 2)
        hr = np.ascontiguousarray(hr)
        lr = degrade_lr(bicubic_u8(hr, (cfg.lr_size, cfg.lr_size)), cfg, rng)
        pick = rng.choice(side * side, size=min(cfg.queries, side * side), replace=False)
        rows, cols = pick // side, pick % side
        centres = pixel_centres(side)
        coord = torch.from_numpy(np.stack((centres[rows], centres[cols]), -1))  # (Q, 2)
        cell = torch.full_like(coord, 2.0 / side)
        gt = (torch.from_numpy(hr[rows, cols]).float() / 255 - 0.5) / 0.5  # (Q, 3)
        return to_input(lr), coord, cell, gt

    def batch(self, size: int) -> Batch:
        items = [self.sample() for _ in range(size)]
        return Batch(*(torch.stack(parts) for parts in zip(*items)))


# ---------------------------------------------------------------------------------------------
# Assembling a training folder from installable photos.

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
        img = bicubic_u8(img, (round(h * f), round(w * f)))
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
            except DataError:
                continue
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{pkg}-{rel}".rsplit(".", 1)[0])[-120:]
            add(img, stem, f"debian:{pkg}", "/" + rel, license_for(rel, stanzas))
    (out / "manifest.json").write_text(
        json.dumps([e.model_dump() for e in entries], indent=2) + "\n")
    return entries
