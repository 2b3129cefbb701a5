"""High-bit-depth images (issue 10): 16-bit gray, 16-bit RGB, 32-bit and float TIFFs are scaled
to 8 bits on every path (upscale to any format, the demo photo, eval sets) instead of clipped to
white or truncated to black; formats are checked before the model runs; bombs in eval sets and
absurd scales are one line."""

import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from cnaps.errors import InputImageError
from cnaps.sr.imageio import read_image, rgb8, saved_mode
from test_imageio import decompression_bomb

from cli_run import run

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"

# An 8-bit grayscale photo and the same photo at 16 bits (x257: identical after scaling).
PHOTO8 = skimage.data.camera()[200:264, 200:264]


def png16(array: np.ndarray) -> bytes:
    """A 16-bit PNG (gray or RGB) written by hand: Pillow cannot write 16-bit RGB."""
    height, width = array.shape[:2]
    colour = 0 if array.ndim == 2 else 2
    rows = b"".join(b"\x00" + array[y].astype(">u2").tobytes() for y in range(height))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, colour, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def write_variant(path, kind):
    wide = PHOTO8.astype(np.uint16) * 257
    if kind == "gray16":
        Image.fromarray(wide).save(path)
    elif kind == "rgb16":
        path.write_bytes(png16(np.stack([wide] * 3, axis=-1)))
    elif kind == "float32 [0,1]":
        Image.fromarray((PHOTO8 / 255).astype(np.float32)).save(path)
    elif kind == "int32":
        Image.fromarray(wide.astype(np.int32), "I").save(path)
    elif kind == "gray8":
        Image.fromarray(PHOTO8).save(path)
    return path


VARIANTS = {"gray16": "g16.png", "rgb16": "rgb16.png", "float32 [0,1]": "f.tif",
            "int32": "i32.tif"}


@pytest.mark.parametrize("kind", list(VARIANTS))
def test_every_high_depth_kind_reads_as_the_8bit_photo(tmp_path, kind):
    path = write_variant(tmp_path / VARIANTS[kind], kind)
    with Image.open(path) as img:
        assert np.array_equal(rgb8(img, path), np.stack([PHOTO8] * 3, axis=-1))
    loaded = read_image(path)
    assert np.abs(loaded.rgb[0].numpy() * 255 - PHOTO8).max() < 0.51


@pytest.mark.parametrize("values, message", [
    (np.full((4, 4), np.nan, np.float32), "NaN or infinite"),
    (np.full((4, 4), -3.0, np.float32), "negative values"),
    (np.full((4, 4), 1e7, np.float32), "values up to 1e+07"),
])
def test_float_images_outside_any_known_range_are_refused(tmp_path, values, message):
    path = tmp_path / "bad.tif"
    Image.fromarray(values).save(path)
    with pytest.raises(InputImageError, match=re.escape(message)):
        read_image(path)


@pytest.mark.usefixtures("released_model")
@pytest.mark.parametrize("suffix", [".jpg", ".webp", ".gif", ".bmp", ".tga", ".png", ".tif"])
def test_upscaled_16bit_gray_keeps_its_brightness_in_every_format(tmp_path, capsys, suffix):
    src = write_variant(tmp_path / "g16.png", "gray16")
    out = tmp_path / f"out{suffix}"
    code, _, err = run(["upscale", str(src), "--scale", "2", "-o", str(out)], capsys)
    assert code == 0, err
    with Image.open(out) as img:
        values = np.asarray(img, np.float64)
        if img.mode.startswith("I"):
            values = values / 257
        elif values.ndim == 3:
            values = values[..., 0]
        elif img.mode == "P":
            values = np.asarray(img.convert("L"), np.float64)
    # Clipping made 99.7 % of pixels 255 (issue 10); the photo's own mean is about 128.
    assert (values >= 254.5).mean() < 0.05
    assert abs(values.mean() - PHOTO8.mean()) < 3
    if suffix not in (".png", ".tif"):
        assert "saved as 8-bit" in err


@pytest.mark.parametrize("mode, suffix, kept", [("RGBA", ".eps", "RGB"), ("LA", ".eps", "L"),
                                               ("RGBA", ".jpg", "RGB"), ("I;16", ".bmp", "L"),
                                               ("I;16", ".pdf", "L"), ("I;16", ".png", "I;16")])
def test_output_mode_is_planned_for_the_format(mode, suffix, kept):
    fmt = Image.registered_extensions()[suffix]
    chosen, note = saved_mode(mode, fmt)
    assert chosen == kept and (note is None) == (kept == mode)


def test_format_problem_is_found_before_the_model_runs(tmp_path, capsys, monkeypatch):
    src = tmp_path / "in.png"
    Image.fromarray(PHOTO8).save(src)

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the output format was checked")

    monkeypatch.setattr("cnaps.cli.upscale.load_weights", no_model)
    code, _, err = run(["upscale", str(src), "--scale", "2", "-o", str(tmp_path / "o.xyz")],
                       capsys)
    assert code == 2 and "unknown image extension" in err


def demo_psnr(image) -> float:
    from cnaps.answer.records import AnswerOptions
    from cnaps.answer.pipeline import make_report

    liif = [p for p in sorted(SEEDS.glob("*.txt")) if "liif" in p.read_text().lower()]
    if not liif:
        pytest.skip(f"no LIIF seed prompt in {SEEDS}")
    report = make_report(liif[0], AnswerOptions(image=str(image), scale=2, seed=0))
    return report.record.model_dump(mode="json")["demo"]["psnr"]["model"]


@pytest.fixture(scope="module")
def reference_demo_psnr(released_model, tmp_path_factory):
    return demo_psnr(write_variant(tmp_path_factory.mktemp("ref") / "p8.png", "gray8"))


@pytest.mark.parametrize("kind", list(VARIANTS))
def test_answer_demo_on_high_depth_photo_matches_the_8bit_photo(tmp_path, kind,
                                                                reference_demo_psnr):
    """The demo once ran on a white (16-bit) or black (float) ground truth."""
    variant = write_variant(tmp_path / VARIANTS[kind], kind)
    assert demo_psnr(variant) == pytest.approx(reference_demo_psnr, abs=1e-6)


@pytest.mark.usefixtures("released_model")
def test_eval_on_16bit_hr_scores_like_the_8bit_set(tmp_path, capsys):
    """A 16-bit HR image once scored 92.93 dB (clipped to white); it must score what the
    same photo at 8 bits scores."""
    results = {}
    for kind in ("gray16", "gray8"):
        (tmp_path / kind / "S" / "HR").mkdir(parents=True)
        write_variant(tmp_path / kind / "S" / "HR" / "a.png", kind)
        code, out, err = run(["eval", "--data", str(tmp_path / kind), "--sets", "S",
                              "--scales", "2", "--no-progress"], capsys)
        assert code == 0, err
        results[kind] = out.strip().splitlines()[-1]
    assert results["gray16"] == results["gray8"]


def test_decompression_bomb_in_an_eval_set_is_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "S" / "HR").mkdir(parents=True)
    decompression_bomb(tmp_path / "S" / "HR" / "bomb.png", 20_000, 20_000)  # 400 MP declared
    monkeypatch.setattr("cnaps.sr.inference.load_weights", lambda name: None)
    code, _, err = run(["eval", "--data", str(tmp_path), "--sets", "S", "--scales", "2",
                        "--no-progress"], capsys)
    assert code == 2 and "decompression bomb" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("scale", ["1e200", "1e400", "inf", "nan", "-inf", "1e20"])
def test_absurd_scales_are_one_line(tmp_path, capsys, scale):
    src = tmp_path / "in.png"
    Image.fromarray(PHOTO8).save(src)
    code, _, err = run(["upscale", str(src), "--scale", scale, "-o", str(tmp_path / "o.png")],
                       capsys)
    assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.png").exists()
