"""Reading and writing images for the SR engine, safely.

Reads what Pillow reads (RGB, RGBA, grayscale, palette, 16-bit, with the EXIF orientation
applied), refuses decompression bombs by looking at the declared size before decoding, and
writes atomically: a failed or interrupted write leaves no partial file behind.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from cnaps.errors import InputImageError
from cnaps.output import atomic_file

# Largest input we decode (pixels). Pillow's own bomb guard is disabled in favour of this
# explicit, configurable one, checked on the header before any pixel is decoded (by
# `read_image` and `rgb8`, which every reader of photos in cnaps goes through).
DEFAULT_MAX_INPUT_PIXELS = 100_000_000
Image.MAX_IMAGE_PIXELS = None

# Modes whose samples are not 8-bit: 16-bit grayscale (PNG, TIFF), 32-bit integer and float.
# Pillow's convert("RGB"/"L") clips them to 255 instead of scaling, so they are scaled here.
HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
# Formats that store 16-bit grayscale; the others get an 8-bit version (see `fit_to_format`).
SIXTEEN_BIT_FORMATS = ("PNG", "TIFF")

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
    try:
        with Image.open(path) as img:
            check_declared_size(img, path, max_pixels, hint=" or raise --max-input-pixels")
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


def check_declared_size(img: Image.Image, path: str | Path,
                        max_pixels: int = DEFAULT_MAX_INPUT_PIXELS, hint: str = "") -> None:
    """Refuse a decompression bomb from its header, before any pixel is decoded."""
    width, height = img.size
    if width * height > max_pixels:
        raise InputImageError(
            f"{path} declares {width}x{height} = {width * height / 1e6:.0f} MP, over the "
            f"input limit of {max_pixels / 1e6:.0f} MP (a decompression bomb?{hint})")


def gray_unit(img: Image.Image) -> tuple[np.ndarray, float]:
    """A high-bit-depth grayscale image (HIGH_DEPTH_MODES) as (H, W) float32 in [0, 1], and the
    full-scale value it was divided by: 65535 for 16-bit; for 32-bit integer and float images
    the smallest of 1 (float only), 255, 65535 that holds the values."""
    values = np.asarray(img, dtype=np.float64)
    if not np.isfinite(values).all():
        raise InputImageError("the image holds NaN or infinite values; expected finite pixels")
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if low < 0:
        raise InputImageError(f"the image holds negative values (down to {low:g}); expected "
                              "8-bit, 16-bit or [0, 1] float pixels")
    if img.mode.startswith("I;16"):
        full = 65535.0
    elif img.mode == "F" and high <= 1:
        full = 1.0
    elif high <= 255:
        full = 255.0
    elif high <= 65535:
        full = 65535.0
    else:
        raise InputImageError(f"the image holds values up to {high:g}; expected 8-bit, 16-bit "
                              "or [0, 1] float pixels")
    return (values / full).astype(np.float32), full


def rgb8(img: Image.Image, path: str | Path = "image",
         max_pixels: int = DEFAULT_MAX_INPUT_PIXELS) -> np.ndarray:
    """Any Pillow image -> (H, W, 3) uint8, high bit depths scaled (not clipped) to 8 bits;
    decompression bombs refused from the header first."""
    check_declared_size(img, path, max_pixels)
    if img.mode in HIGH_DEPTH_MODES:
        gray, _ = gray_unit(img)
        gray8 = np.round(gray * 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray8[..., None], 3, axis=2))
    return np.asarray(img.convert("RGB"))


def _to_loaded(img: Image.Image) -> LoadedImage:
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        mode = img.mode
    alpha = None
    if mode in HIGH_DEPTH_MODES:
        gray, full = gray_unit(img)
        rgb = np.repeat(gray[None], 3, axis=0)
        return LoadedImage(torch.from_numpy(rgb), None, True, full != 255.0)
    if mode in ("L", "LA", "1"):
        if mode == "LA":
            alpha = np.asarray(img.getchannel("A"), dtype=np.float32) / 255
        gray = np.asarray(img.convert("L"), dtype=np.float32) / 255
        return LoadedImage(torch.from_numpy(np.repeat(gray[None], 3, axis=0)), alpha, True, False)
    if mode in ("RGBA", "RGBa", "PA", "LA"):
        alpha = np.asarray(img.getchannel("A"), dtype=np.float32) / 255
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


def output_format(path: str | Path) -> str:
    """Pillow's format name for an output file's extension, or InputImageError."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise InputImageError(f"cannot write {path}: unknown image extension {path.suffix!r}, "
                              "or one Pillow cannot write (use .png, .jpg, .tif, .webp)")
    return fmt


def saved_mode(mode: str, fmt: str) -> tuple[str, str | None]:
    """The mode an image of `mode` is stored in as `fmt`, and a note when that loses something.
    16-bit keeps 16 bits only in PNG/TIFF, else becomes 8-bit gray (scaled, not clipped);
    transparency is dropped where the format cannot hold it (found by a trial save of a
    2x2 image); OutputError when not even that can be stored."""
    from cnaps.errors import OutputError

    steps = []
    if mode.startswith("I;16") and fmt not in SIXTEEN_BIT_FORMATS:
        mode = "L"
        steps.append(f"{fmt} holds 8 bits per sample, so the 16-bit result is saved as 8-bit "
                     f"(use {' or '.join(SIXTEEN_BIT_FORMATS)} to keep 16 bits)")
    if not _can_save(mode, fmt):
        flat = {"RGBA": "RGB", "LA": "L"}.get(mode)
        if flat is None or not _can_save(flat, fmt):
            raise OutputError(f"{fmt} cannot store a {mode} image; use .png or .tif")
        steps.append(f"{fmt} cannot store transparency, so the alpha channel is dropped "
                     "(use .png, .tif or .webp to keep it)")
        mode = flat
    return mode, "; ".join(steps) or None


def _can_save(mode: str, fmt: str) -> bool:
    try:
        Image.new(mode, (2, 2)).save(io.BytesIO(), format=fmt)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True


def fit_to_format(img: Image.Image, fmt: str) -> Image.Image:
    """`img` converted to the mode `saved_mode` chose for `fmt`."""
    mode, _ = saved_mode(img.mode, fmt)
    if mode == img.mode:
        return img
    if img.mode.startswith("I;16"):  # scale 0..65535 to 0..255; convert() would clip
        img = Image.fromarray(np.round(np.asarray(img, np.float64) / 257).astype(np.uint8))
    return img.convert(mode)


def save_atomic(img: Image.Image, path: str | Path, **params) -> None:
    """Save next to the target under a temporary name, then rename: never a partial file."""
    path = Path(path)
    fmt = output_format(path)
    if not path.parent.is_dir():
        raise InputImageError(f"output folder {path.parent} does not exist")
    img = fit_to_format(img, fmt)
    with atomic_file(path) as tmp:
        img.save(tmp, format=fmt, **params)


def read_rgb(path: str | Path, max_pixels: int = DEFAULT_MAX_INPUT_PIXELS) -> np.ndarray:
    """(H, W, 3) uint8 RGB of any image `read_image` reads (grayscale repeated, alpha dropped,
    16-bit rounded to 8): the one reader of training, evaluation and benchmark images."""
    rgb = read_image(path, max_pixels=max_pixels).rgb
    return np.ascontiguousarray((rgb * 255).round_().to(torch.uint8).permute(1, 2, 0).numpy())
