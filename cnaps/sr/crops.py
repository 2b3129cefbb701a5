"""Where an image has the most detail: the demo's zoom box and the validation crops of training.

Detail is gradient energy, |vertical difference| + |horizontal difference| of the grey image
summed over a square; squares are scored from one integral image, so any number of candidate
positions costs one pass over the image. (Wallpapers and portraits have smooth centres: a
centre crop would show or score little.)
"""

from __future__ import annotations

import numpy as np


def _best_square(img: np.ndarray, side: int, tops, lefts) -> tuple[int, int]:
    """(top, left) among the candidates of the side x side square with the most energy
    (the first candidate, in row-major order, wins a tie)."""
    gray = img.astype(np.float64).mean(-1) if img.ndim == 3 else img.astype(np.float64)
    energy = np.abs(np.diff(gray, axis=0))[:, :-1] + np.abs(np.diff(gray, axis=1))[:-1, :]
    integral = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    span = side - 1  # energy has one row and column fewer than the image
    best, where = -1.0, (0, 0)
    for top in tops:
        for left in lefts:
            score = (integral[top + span, left + span] - integral[top, left + span]
                     - integral[top + span, left] + integral[top, left])
            if score > best:
                best, where = float(score), (int(top), int(left))
    return where


def busiest_box(img: np.ndarray) -> tuple[int, int, int]:
    """(top, left, side) of the most detailed square a quarter of the short side wide, on a
    grid of a quarter of that side: the demo's zoom."""
    h, w = img.shape[:2]
    side = max(8, min(h, w) // 4)
    step = max(1, side // 4)
    top, left = _best_square(img, side, range(0, max(h - side, 1), step),
                             range(0, max(w - side, 1), step))
    return top, left, side


def busiest_crop(img: np.ndarray, crop: int) -> np.ndarray:
    """The most detailed crop x crop square of a 3x3 grid of candidates spanning the image."""
    h, w = img.shape[:2]
    top, left = _best_square(img, crop, np.linspace(0, h - crop, 3).astype(int),
                             np.linspace(0, w - crop, 3).astype(int))
    return np.ascontiguousarray(img[top:top + crop, left:left + crop])
