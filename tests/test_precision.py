"""--precision: exact stays float32; fast rounds only the encoder and the MLP's products; auto
and CPUs without bfloat16 units fall back to exact with one line saying so."""

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from cnaps.cli import main
from cnaps.sr import device as precision
from cnaps.sr.inference import upscale

INTEL_SPR = "processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 amx_bf16 amx_tile\n"
AMD_ZEN2 = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n"
ARM_V9 = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


@pytest.mark.parametrize("cpuinfo,expected", [(INTEL_SPR, True), (AMD_ZEN2, False),
                                              (ARM_V9, True), ("", False)])
def test_bf16_units_from_cpu_flags(cpuinfo, expected):
    assert precision.cpu_has_bf16_units(cpuinfo) is expected


def test_exact_is_float32_without_a_note():
    assert precision.resolve_precision("exact") == precision.Precision("exact", torch.float32)


def test_fast_without_bf16_units_runs_exact_and_says_so(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: False)
    chosen = precision.resolve_precision("fast", "cpu")
    assert chosen.dtype == torch.float32 and chosen.name == "exact"
    assert "no bfloat16 units" in chosen.note and "\n" not in chosen.note


@pytest.mark.parametrize("speedup,dtype", [(3.7, torch.bfloat16), (1.1, torch.float32),
                                           (0.25, torch.float32)])
def test_auto_follows_the_measured_speedup(monkeypatch, speedup, dtype):
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: True)
    monkeypatch.setattr(precision, "measured_speedup", lambda device, half: speedup)
    chosen = precision.resolve_precision("auto", "cpu")
    assert chosen.dtype == dtype and f"{speedup:.1f}x" in chosen.note


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="exact, fast, auto"):
        precision.resolve_precision("double")


def photo(height, width):
    img = skimage.data.chelsea()[100:100 + height, 180:180 + width]
    return torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1).contiguous()


def test_fast_is_close_to_exact_and_leaves_the_model_float32(released_model, monkeypatch):
    """bfloat16 keeps 8 bits of mantissa: outputs move by rounding (a few 1e-3 on [0, 1]),
    the mean by far less; the caller's model keeps its float32 weights."""
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: True)  # emulated if need be
    lr = photo(24, 28)
    exact = upscale(released_model, lr, (72, 84))
    fast = upscale(released_model, lr, (72, 84), precision="fast")
    diff = (fast - exact).abs()
    assert fast.dtype == torch.float32
    assert 0 < diff.max().item() < 0.03 and diff.mean().item() < 2e-3
    assert all(p.dtype == torch.float32 for p in released_model.parameters())


def test_model_in_keeps_the_first_layer_float32(released_model):
    fast = precision.model_in(released_model, torch.bfloat16)
    assert fast.imnet.layers[0].weight.dtype == torch.float32
    # the float32 weights themselves, not float32 copies of their bfloat16 rounding
    assert torch.equal(fast.imnet.layers[0].weight, released_model.imnet.layers[0].weight)
    assert torch.equal(fast.imnet.layers[0].bias, released_model.imnet.layers[0].bias)
    assert fast.imnet.layers[2].weight.dtype == torch.bfloat16
    assert fast.encoder.head[0].weight.dtype == torch.bfloat16
    assert precision.model_in(released_model, torch.float32) is released_model


@pytest.mark.usefixtures("released_model")
def test_cli_fast_on_a_cpu_without_bf16_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: False)
    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.fromarray(skimage.data.chelsea()[80:100, 150:170]).save(src)
    with pytest.raises(SystemExit) as exc:
        main(["upscale", str(src), "-o", str(out), "--scale", "2", "--precision", "fast"])
    err = capsys.readouterr().err
    assert exc.value.code == 0 and Image.open(out).size == (40, 40)
    notes = [line for line in err.splitlines() if "precision" in line]
    assert len(notes) == 1 and notes[0].startswith("precision fast: this CPU")
    assert notes[0].endswith("has no bfloat16 units; running exact")


def test_cli_eval_fast_labels_its_report(released_model, benchmark_dir, tmp_path, monkeypatch):
    """An eval in the fast mode is labelled as such: its figures are not the paper protocol's."""
    import json

    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: True)
    report = tmp_path / "r.json"
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--data", str(benchmark_dir), "--sets", "Set5", "--scales", "4",
              "--limit", "1", "--precision", "fast", "--json", str(report), "--no-progress"])
    assert exc.value.code == 0
    data = json.loads(report.read_text())
    assert data["model"].endswith("(precision fast, bfloat16)")
    # Set5 baby.png x4 scores 33.826 dB exact (PIL LR); the fast mode's goal: within 0.02 dB
    assert data["results"][0]["model"]["psnr"] == pytest.approx(33.826, abs=0.02)
