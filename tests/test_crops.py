"""The most detailed square of an image: the demo's zoom box and training's validation crops."""

import numpy as np

from cnaps.sr.crops import busiest_box, busiest_crop


def test_busiest_box_finds_the_detailed_corner():
    gt = np.zeros((64, 64, 3), np.uint8)
    gt[40:, 40:] = (np.indices((24, 24)).sum(0)[..., None] % 2) * 255  # a checkerboard corner
    top, left, side = busiest_box(gt)
    assert side == 16 and top >= 32 and left >= 32


def test_busiest_crop_picks_the_textured_third():
    img = np.full((90, 90, 3), 128, np.uint8)
    img[:30, 60:] = (np.indices((30, 30)).sum(0)[..., None] % 2) * 255  # texture top right
    crop = busiest_crop(img, 30)
    assert crop.shape == (30, 30, 3)
    assert crop.std() > 100  # the checkerboard, not a flat grey square
