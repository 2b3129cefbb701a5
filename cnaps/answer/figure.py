"""The demo's pictures: PNG bytes, and the comparison figure: input, bicubic, model output and ground truth side by side,
full view on top and a zoomed crop below, each panel captioned.

Drawing only; `cnaps.answer.stage6_demo` decides what the panels are. Captions are wrapped to their panel's
width so a long model name never runs into its neighbour.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont


def png_bytes(image: Image.Image) -> bytes:
    """A picture as PNG file bytes (the answer's images and the demo cache's entries)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


LINE_H = 22  # one caption line at font size 18
GAP = 8


def short(label: str) -> str:
    """'LIIF with the EDSR-baseline encoder' -> 'LIIF, EDSR-baseline' (panel captions)."""
    return label.replace("LIIF with the ", "LIIF, ").replace(" encoder", "")


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Float (H, W, 3) in [0, 1] -> 8-bit, rounded."""
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def wrap(label: str, font, width: int) -> list[str]:
    """Break a caption into lines no wider than `width` pixels (at word boundaries)."""
    lines: list[str] = []
    for word in label.split(" "):
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def comparison(panels: list[tuple[str, Image.Image]], zoom: tuple[int, int, int]) -> Image.Image:
    """Panels side by side (each resized to the last panel's size with nearest neighbour), the
    zoom box outlined on the full views and its crop enlarged below them."""
    width, height = panels[-1][1].size
    top, left, side = zoom
    font = ImageFont.load_default(size=18)
    n = len(panels)
    captions = [(wrap(label, font, width), wrap(f"{label}, zoom", font, width))
                for label, _ in panels]
    label_h = LINE_H * max(len(lines) for pair in captions for lines in pair) + 4
    canvas = Image.new("RGB", (n * width + (n + 1) * GAP,
                               2 * (height + label_h) + 3 * GAP), "white")
    draw = ImageDraw.Draw(canvas)
    for i, ((_, img), (full_lines, zoom_lines)) in enumerate(zip(panels, captions)):
        full = img.resize((width, height), Image.NEAREST) if img.size != (width, height) else img
        x = GAP + i * (width + GAP)
        draw.multiline_text((x, GAP), "\n".join(full_lines), fill="black", font=font,
                            spacing=LINE_H - 18)
        canvas.paste(full, (x, GAP + label_h))
        draw.rectangle([x + left, GAP + label_h + top, x + left + side - 1,
                        GAP + label_h + top + side - 1], outline=(255, 32, 32), width=2)
        crop = full.crop((left, top, left + side, top + side))
        crop = crop.resize((width, height), Image.NEAREST)
        y = 2 * GAP + label_h + height
        draw.multiline_text((x, y), "\n".join(zoom_lines), fill="black", font=font,
                            spacing=LINE_H - 18)
        canvas.paste(crop, (x, y + label_h))
    return canvas
