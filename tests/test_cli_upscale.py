"""`cnaps upscale` end to end: real weights, every image kind, one clean line for bad input."""

import numpy as np
import pytest
import skimage.data
from PIL import Image

from test_imageio import decompression_bomb

from cli_run import run


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "cat.png"
    Image.fromarray(skimage.data.chelsea()[80:120, 150:200]).save(path)
    return path


@pytest.mark.usefixtures("released_model")
def test_upscale_rgb_by_scale_and_size(tmp_path, photo, capsys):
    out = tmp_path / "big.png"
    code, _, err = run(["upscale", str(photo), "-o", str(out), "--scale", "2.5", "-q"], capsys)
    assert code == 0, err
    assert Image.open(out).size == (125, 100) and Image.open(out).mode == "RGB"
    out2 = tmp_path / "exact.png"
    code, _, _ = run(["upscale", str(photo), "-o", str(out2), "--size", "77x61", "-q"], capsys)
    assert code == 0 and Image.open(out2).size == (77, 61)


@pytest.mark.usefixtures("released_model")
@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "P"])
def test_upscale_keeps_image_kind(tmp_path, photo, capsys, mode):
    src = tmp_path / f"in_{mode.replace(';', '')}.png"
    img = Image.open(photo)
    if mode == "I;16":
        Image.fromarray(np.asarray(img.convert("L"), np.uint16) * 257).save(src)
    elif mode == "RGBA":
        rgba = img.convert("RGBA")
        rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 50, dtype=np.uint8), (40, 1))))
        rgba.save(src)
    else:
        img.convert(mode).save(src)
    out = tmp_path / "out.png"
    code, _, err = run(["upscale", str(src), "-o", str(out), "--scale", "2", "-q"], capsys)
    assert code == 0, err
    result = Image.open(out)
    assert result.size == (100, 80)
    expected = {"L": "L", "RGBA": "RGBA", "I;16": ("I;16", "I"), "P": "RGB"}[mode]
    assert result.mode in expected
    if mode == "RGBA":
        alpha = np.asarray(result.getchannel("A"), np.float32)
        assert alpha[:, :10].mean() < 40 and alpha[:, -10:].mean() > 215  # gradient kept


@pytest.mark.parametrize("args,message", [
    (["--scale", "abc"], "not a valid float"),
    (["--scale", "1"], "greater than 1"),
    (["--scale", "0.5"], "greater than 1"),
    (["--scale", "nan"], "finite number"),
    (["--scale", "-3"], "greater than 1"),
    (["--scale", "100000"], "over the limit"),
    (["--size", "banana"], "WIDTHxHEIGHT"),
    (["--scale", "2", "--size", "100x100"], "not both"),
    ([], "either a scale"),
    (["--scale", "2", "--weights", "WRONG"], "not a PyTorch checkpoint"),
])
def test_bad_arguments_one_line_exit_2(tmp_path, photo, capsys, args, message):
    out = tmp_path / "out.png"
    if "WRONG" in args:
        wrong = tmp_path / "wrong.pth"
        wrong.write_text("not weights")
        args = [str(wrong) if a == "WRONG" else a for a in args]
    code, _, err = run(["upscale", str(photo), "-o", str(out), *args], capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("kind,message", [
    ("missing", "does not exist"), ("zero", "empty"), ("text", "not an image"),
    ("truncated", "corrupt"), ("bomb", "over the input limit")])
def test_bad_images_one_line_exit_2(tmp_path, photo, capsys, kind, message):
    src = tmp_path / f"{kind}.png"
    if kind == "zero":
        src.write_bytes(b"")
    elif kind == "text":
        src.write_text("hello")
    elif kind == "truncated":
        src.write_bytes(photo.read_bytes()[:200])
    elif kind == "bomb":
        decompression_bomb(src)
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    code, _, err = run(["upscale", str(src), "-o", str(out), "--scale", "2"], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert out.read_bytes() == b"keep me"  # an existing file is not clobbered


def test_weights_list_shows_rdn_not_installed(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("CNAPS_HOME", str(tmp_path))
    code, out, _ = run(["weights", "list"], capsys)
    assert code == 0
    assert "liif-rdn" in out and "not installed" in out and "cnaps weights add" in out
