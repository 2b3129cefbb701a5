"""Encoders match LIIF_SPEC §1-2: key names, shapes, parameter counts, receptive field."""

import re

import pytest
import torch

from cnaps.sr.encoders import RDN, EDSRBaseline
from cnaps.sr.registry import make

MLP_SPEC = {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [256, 256, 256, 256]}}


def liif_spec(encoder):
    return {"name": "liif", "args": {"encoder_spec": {"name": encoder,
                                                      "args": {"no_upsampling": True}},
                                     "imnet_spec": MLP_SPEC}}


def test_edsr_liif_keys_shapes_and_count():
    model = make(liif_spec("edsr-baseline"))
    sd = model.state_dict()
    assert sum(v.numel() for v in sd.values()) == 1_567_323
    assert sd["encoder.head.0.weight"].shape == (64, 3, 3, 3)
    for i in range(16):
        for j in (0, 2):
            assert sd[f"encoder.body.{i}.body.{j}.weight"].shape == (64, 64, 3, 3)
    assert sd["encoder.body.16.weight"].shape == (64, 64, 3, 3)
    assert sd["encoder.sub_mean.weight"].shape == (3, 3, 1, 1)
    assert sd["encoder.add_mean.weight"].shape == (3, 3, 1, 1)
    assert sd["imnet.layers.0.weight"].shape == (256, 580)
    assert [k for k in sd if k.startswith("imnet")] == [
        f"imnet.layers.{i}.{p}" for i in (0, 2, 4, 6, 8) for p in ("weight", "bias")]
    assert sd["imnet.layers.8.weight"].shape == (3, 256)


def test_rdn_liif_keys_shapes_and_count():
    model = make(liif_spec("rdn"))
    sd = model.state_dict()
    assert sum(v.numel() for v in sd.values()) == 22_320_835
    assert sd["encoder.SFENet1.weight"].shape == (64, 3, 3, 3)
    assert sd["encoder.SFENet2.weight"].shape == (64, 64, 3, 3)
    for c in range(8):
        assert sd[f"encoder.RDBs.15.convs.{c}.conv.0.weight"].shape == (64, 64 + 64 * c, 3, 3)
    assert sd["encoder.RDBs.0.LFF.weight"].shape == (64, 576, 1, 1)
    assert sd["encoder.GFF.0.weight"].shape == (64, 1024, 1, 1)
    assert sd["encoder.GFF.1.weight"].shape == (64, 64, 3, 3)
    pattern = re.compile(r"encoder\.(SFENet[12]|RDBs\.\d+\.(convs\.\d\.conv\.0|LFF)|GFF\.[01])\.(weight|bias)|imnet\.layers\.[02468]\.(weight|bias)")
    assert all(pattern.fullmatch(k) for k in sd)


@pytest.mark.parametrize("encoder", [EDSRBaseline(n_resblocks=3), RDN(n_blocks=2, n_convs=2)],
                         ids=["edsr", "rdn"])
def test_features_same_size_and_receptive_radius(encoder):
    """A pixel change reaches exactly `receptive_radius` pixels away, no further: the halo
    tiled inference adds is sufficient and not wasteful."""
    torch.manual_seed(0)
    encoder.eval()
    radius = encoder.receptive_radius
    size = 2 * radius + 9
    x = torch.rand(1, 3, size, size)
    centre = size // 2
    y = x.clone()
    y[0, :, centre, centre] += 1.0
    with torch.no_grad():
        fx, fy = encoder(x), encoder(y)
    assert fx.shape == (1, 64, size, size)
    changed = (fx - fy).abs().amax(dim=(0, 1)) > 0
    rows = changed.any(1).nonzero().flatten()
    assert rows.min().item() == centre - radius and rows.max().item() == centre + radius


def test_edsr_ignores_mean_shift_convs():
    torch.manual_seed(0)
    enc = EDSRBaseline(n_resblocks=2).eval()
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        before = enc(x)
        enc.sub_mean.weight.fill_(7.0)
        enc.add_mean.bias.fill_(-3.0)
        assert torch.equal(before, enc(x))


def test_unknown_encoder_is_an_error():
    from cnaps.errors import CheckpointError

    with pytest.raises(CheckpointError, match="unknown model part 'swinir'"):
        make(liif_spec("swinir"))


def test_rdn_lean_inference_equals_training_forward():
    torch.manual_seed(0)
    rdn = RDN(n_blocks=3, n_convs=2).eval()
    x = torch.rand(1, 3, 12, 10)
    with torch.no_grad():
        lean = rdn(x)
    full = rdn(x).detach()  # grad enabled: the concatenating path
    assert (lean - full).abs().max().item() < 1e-5
