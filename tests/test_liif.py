"""The fast query paths equal the plain reference algorithm (tests/plain_liif.py)."""

import pytest
import torch
from plain_liif import hr_grid, plain_upscale

from cnaps.sr.liif import pixel_centres
from cnaps.sr.registry import make

TOLERANCE = 1e-4  # on [0, 1], before 8-bit rounding (issue 2)


@pytest.fixture(scope="module")
def small_model():
    torch.manual_seed(1)
    spec = {"name": "liif", "args": {
        "encoder_spec": {"name": "edsr-baseline", "args": {"no_upsampling": True, "n_resblocks": 2}},
        "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [64, 64]}}}}
    return make(spec).eval()


def test_pixel_centres_match_spec():
    assert torch.allclose(pixel_centres(4), torch.tensor([-0.75, -0.25, 0.25, 0.75]))
    assert torch.allclose(pixel_centres(7, torch.tensor([2, 5])),
                          torch.tensor([-1 + 5 / 7, -1 + 11 / 7]), atol=1e-7)
    assert pixel_centres(3, device="meta").device.type == "meta"


@pytest.mark.parametrize("lr_size,out_size", [((9, 11), (27, 33)), ((8, 8), (12, 12)),
                                              ((7, 5), (61, 19)), ((6, 6), (180, 180))])
def test_forward_matches_plain_random_weights(small_model, lr_size, out_size):
    torch.manual_seed(0)
    lr = torch.rand(3, *lr_size)
    ref = plain_upscale(small_model, lr, *out_size)
    coord, cell = hr_grid(*out_size)
    with torch.no_grad():
        out = small_model(((lr - 0.5) / 0.5)[None], coord[None], cell[None])[0]
    out = (out * 0.5 + 0.5).clamp(0, 1).view(*out_size, 3).permute(2, 0, 1)
    assert (out - ref).abs().max().item() < TOLERANCE


def test_forward_random_coordinates_match_plain(released_model):
    """Training queries arbitrary coordinates (not a grid): same numbers as the plain path."""
    from plain_liif import plain_query

    torch.manual_seed(0)
    lr = torch.rand(1, 3, 10, 13)
    coord = torch.rand(1, 500, 2) * 2 - 1
    cell = torch.full((1, 500, 2), 2 / 40)
    with torch.no_grad():
        fast = released_model((lr - 0.5) / 0.5, coord, cell)
        feat = released_model.encoder((lr - 0.5) / 0.5)
        plain = plain_query(feat, list(released_model.imnet.layers), coord, cell)
    assert (fast - plain).abs().max().item() < TOLERANCE / 2


def test_gradients_flow_through_fast_forward(small_model):
    lr = torch.rand(2, 3, 8, 8)
    coord = torch.rand(2, 64, 2) * 2 - 1
    cell = torch.full((2, 64, 2), 0.1)
    small_model.train()
    loss = small_model(lr, coord, cell).abs().mean()
    loss.backward()
    small_model.eval()
    grads = [p.grad for p in small_model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert small_model.imnet.layers[0].weight.grad.abs().sum() > 0
    small_model.zero_grad(set_to_none=True)


def test_public_fallback_of_the_fused_linear(released_model, monkeypatch):
    """Without torch's private oneDNN op (other builds, devices, versions) the public
    addmm + relu path gives the plain reference's numbers too."""
    from plain_liif import plain_upscale

    from cnaps.sr import liif
    from cnaps.sr.inference import upscale

    monkeypatch.setattr(liif, "_FUSED_LINEAR", False)
    torch.manual_seed(0)
    lr = torch.rand(3, 10, 12)
    assert (upscale(released_model, lr, (31, 37)) - plain_upscale(released_model, lr, 31, 37)
            ).abs().max().item() < TOLERANCE


def test_fused_linear_check_sees_a_missing_op(monkeypatch):
    from cnaps.sr import liif

    class NoMkldnn:
        def __getattr__(self, name):
            raise AttributeError(name)

    monkeypatch.setattr(torch.ops, "mkldnn", NoMkldnn())
    assert liif._fused_linear_available() is False
