"""Training data for LIIF (Chen et al., CVPR 2021; reference code yinboc/liif): HR image
folders and random (LR, query) batches with the paper's sampling, plus noise/JPEG degradation
of the LR input (the same functions evaluation uses, `cnaps.sr.degrade`).
Building a folder of installable photos is `cnaps.sr.photos`.

Per sample (the paper's recipe): scale s ~ U(scale_min, scale_max); a random square HR crop of
side round(lr_size * s); LR = PIL bicubic (antialiased) resize of the 8-bit crop to
lr_size x lr_size; random h-flip, v-flip and transpose; `queries` HR pixels sampled without
replacement, each with its centre coordinate, the cell 2/side and its RGB value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from cnaps.errors import DataError
from cnaps.sr.degrade import add_gaussian_noise, jpeg_compress
from cnaps.sr.imageio import IMAGE_SUFFIXES
from cnaps.sr.liif import pixel_centres
from cnaps.sr.resize import resize_pil


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


def degrade_lr(lr: np.ndarray, cfg: SamplerConfig, rng: np.random.Generator) -> np.ndarray:
    """Apply the configured noise and JPEG augmentation to one uint8 LR crop."""
    if rng.random() >= cfg.noise.p_clean:
        lr = add_gaussian_noise(lr, rng.uniform(cfg.noise.sigma_min, cfg.noise.sigma_max), rng)
    if cfg.jpeg.p > 0 and rng.random() < cfg.jpeg.p:
        lr = jpeg_compress(lr, int(rng.integers(cfg.jpeg.q_min, cfg.jpeg.q_max + 1)))
    return lr


def to_input(img: np.ndarray) -> torch.Tensor:
    """uint8 (H, W, 3) -> normalised (3, H, W) float in [-1, 1]."""
    return (torch.from_numpy(np.array(img)).permute(2, 0, 1).float() / 255 - 0.5) / 0.5


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
        lr = degrade_lr(resize_pil(hr, (cfg.lr_size, cfg.lr_size)), cfg, rng)
        pick = rng.choice(side * side, size=min(cfg.queries, side * side), replace=False)
        rows, cols = pick // side, pick % side
        centres = pixel_centres(side)
        coord = torch.stack((centres[torch.from_numpy(rows)], centres[torch.from_numpy(cols)]),
                            -1)  # (Q, 2)
        cell = torch.full_like(coord, 2.0 / side)
        gt = (torch.from_numpy(hr[rows, cols]).float() / 255 - 0.5) / 0.5  # (Q, 3)
        return to_input(lr), coord, cell, gt

    def batch(self, size: int) -> Batch:
        items = [self.sample() for _ in range(size)]
        return Batch(*(torch.stack(parts) for parts in zip(*items)))
