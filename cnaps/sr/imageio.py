"""Reading and writing images for the SR engine, safely.

Reads what Pillow reads (RGB, RGBA, grayscale, palette, 16-bit, with the EXIF orientation
applied), refuses decompression bombs by looking at the declared size before decoding, and
writes atomically: a failed or interrupted write leaves no partial file behind.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from cnaps.errors import InputImageError

# Largest input we decode (pixels). Pillow's own bomb guard is disabled in favour of this
# explicit, configurable one, checked on the header before any pixel is decoded.
DEFAULT_MAX_INPUT_PIXELS = 100_000_000
# File suffixes taken as images when a folder is read (training data, benchmark sets, photos).
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


@dataclass
class LoadedImage:
    """An image ready for the model: RGB float (3, h, w) in [0, 1], plus what to restore."""

    rgb: torch.Tensor
    alpha: np.ndarray | None  # (h, w) float in [0, 1], or None
    grayscale: bool
    sixteen_bit: bool

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)"""
        return tuple(self.rgb.shape[-2:])


def read_image(path: str | Path, max_pixels: int = DEFAULT_MAX_INPUT_PIXELS) -> LoadedImage:
    path = Path(path)
    if not path.exists():
        raise InputImageError(f"input image {path} does not exist")
    if not path.is_file():
        raise InputImageError(f"input {path} is not a file")
    if path.stat().st_size == 0:
        raise InputImageError(f"input image {path} is empty (0 bytes)")
    Image.MAX_IMAGE_PIXELS = None  # our check below replaces Pillow's
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > max_pixels:
                raise InputImageError(
                    f"{path} declares {width}x{height} = {width * height / 1e6:.0f} MP, over the "
                    f"input limit of {max_pixels / 1e6:.0f} MP (a decompression bomb, or raise "
                    "--max-input-pixels)")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                img.load()
                img = ImageOps.exif_transpose(img)
            return _to_loaded(img)
    except InputImageError:
        raise
    except UnidentifiedImageError:
        raise InputImageError(f"{path} is not an image Pillow can read (PNG, JPEG, TIFF, "
                              "WebP, BMP, ...)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputImageError(f"cannot decode {path}: {exc}; the file may be corrupt or "
                              "truncated") from None


def _to_loaded(img: Image.Image) -> LoadedImage:
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    alpha = None
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        gray = np.asarray(img, dtype=np.float64)
        scale = 65535.0 if mode.startswith("I;16") or gray.max() > 255 else 255.0
        gray = np.clip(gray / scale, 0, 1).astype(np.float32)
        rgb = np.repeat(gray[None], 3, axis=0)
        return LoadedImage(torch.from_numpy(rgb), None, True, scale == 65535.0)
    if mode in ("L", "LA", "1"):
        if mode == "LA":
            alpha = np.asarray(img.getchannel("A"), dtype=np.float32) / 255
        gray = np.asarray(img.convert("L"), dtype=np.float32) / 255
        return LoadedImage(torch.from_numpy(np.repeat(gray[None], 3, axis=0)), alpha, True, False)
    if mode in ("RGBA", "RGBa", "PA", "LA"):
        alpha = np.asarray(img.getchannel("A"), dtype=np.float32) / 255
    if mode == "F":
        raise InputImageError("32-bit float images are not supported; save as 8- or 16-bit")
    rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / 255
    return LoadedImage(torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))), alpha,
                       False, False)


def resize_alpha(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Alpha is not a colour: enlarge it with plain bicubic, which keeps edges where they were."""
    height, width = size
    img = Image.fromarray(alpha.astype(np.float32), mode="F")
    return np.clip(np.asarray(img.resize((width, height), Image.BICUBIC)), 0, 1)


def to_pil(rgb_u8: np.ndarray, alpha: np.ndarray | None = None, grayscale: bool = False,
           sixteen_bit_gray: np.ndarray | None = None) -> Image.Image:
    """rgb_u8 (H, W, 3) uint8 -> a Pillow image in the mode the input had."""
    if sixteen_bit_gray is not None:
        return Image.fromarray(sixteen_bit_gray.astype(np.uint16))
    img = Image.fromarray(rgb_u8, "RGB")
    if grayscale:
        img = img.convert("L")
    if alpha is not None:
        img.putalpha(Image.fromarray(np.round(alpha * 255).astype(np.uint8), "L"))
    return img


def save_atomic(img: Image.Image, path: str | Path, **params) -> None:
    """Save next to the target under a temporary name, then rename: never a partial file."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise InputImageError(f"cannot write {path}: unknown image extension "
                              f"{path.suffix!r} (use .png, .jpg, .tif, .webp)")
    if not path.parent.is_dir():
        raise InputImageError(f"output folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        if fmt == "JPEG" and img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        img.save(tmp, format=fmt, **params)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_rgb(path: str | Path, max_pixels: int = DEFAULT_MAX_INPUT_PIXELS) -> np.ndarray:
    """(H, W, 3) uint8 RGB of any image `read_image` reads (grayscale repeated, alpha dropped,
    16-bit rounded to 8): the one reader of training, evaluation and benchmark images."""
    rgb = read_image(path, max_pixels=max_pixels).rgb
    return np.ascontiguousarray((rgb * 255).round_().to(torch.uint8).permute(1, 2, 0).numpy())
