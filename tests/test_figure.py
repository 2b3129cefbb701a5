"""The comparison figure: one column per panel, captions wrapped inside their column, and the
zoom box on the detailed part of the picture."""

from __future__ import annotations

import numpy as np
from PIL import Image

from cnaps.answer import figure


def test_comparison_has_one_column_per_panel_and_two_rows():
    img = Image.new("RGB", (200, 200), "white")
    out = figure.comparison([("a", img.resize((16, 16))), ("b", img), ("c", img)], (8, 8, 16))
    label_h = figure.LINE_H + 4  # every caption fits on one line
    assert out.size == (3 * 200 + 4 * figure.GAP, 2 * (200 + label_h) + 3 * figure.GAP)


def test_comparison_wraps_long_captions_inside_their_panel():
    from PIL import ImageFont

    font = ImageFont.load_default(size=18)
    long = "LIIF, EDSR-baseline (liif-edsr-baseline-noise weights, fine-tuned here)"
    lines = figure.wrap(long, font, 200)
    assert len(lines) > 1 and " ".join(lines) == long
    assert all(font.getlength(line) <= 200 for line in lines)
    img = Image.new("RGB", (200, 200), "white")
    out = figure.comparison([(long, img), ("ground truth", img)], (8, 8, 16))
    label_h = figure.LINE_H * len(figure.wrap(long + ", zoom", font, 200)) + 4
    assert out.size == (2 * 200 + 3 * figure.GAP, 2 * (200 + label_h) + 3 * figure.GAP)
    # the caption's ink stays inside its own column (nothing drawn in the gap between panels)
    gap = np.asarray(out)[:, 200 + figure.GAP:200 + 2 * figure.GAP]
    assert (gap == 255).all()
