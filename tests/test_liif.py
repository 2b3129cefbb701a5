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


def _unsplit_first_layer(model, feat, ys, xs, cell):
    """Every ensemble member's first-layer pre-activation the reference way: the 580-wide input
    [unfolded 3x3 feature, rel, rel_cell] at the cell grid_sample picks, through the whole
    nn.Linear. (4, nr, nc, 256) float32, members in the reference order, and each member's
    bilinear area |rel_y * rel_x| (4, nr, nc)."""
    h, w = feat.shape[-2:]
    unfolded = torch.nn.functional.unfold(feat, 3, padding=1).view(1, -1, h, w)
    centres = torch.stack(torch.meshgrid(pixel_centres(h), pixel_centres(w), indexing="ij"), 0)
    coord = torch.stack(torch.meshgrid(ys, xs, indexing="ij"), -1)  # (nr, nc, 2)
    members, areas = [], []
    for vy in (-1, 1):
        for vx in (-1, 1):
            shifted = coord.clone()
            shifted[..., 0] += vy / h + 1e-6
            shifted[..., 1] += vx / w + 1e-6
            grid = shifted.clamp(-1 + 1e-6, 1 - 1e-6).flip(-1).unsqueeze(0)
            q_feat = torch.nn.functional.grid_sample(unfolded, grid, mode="nearest",
                                                     align_corners=False)[0].permute(1, 2, 0)
            q_centre = torch.nn.functional.grid_sample(centres.unsqueeze(0), grid, mode="nearest",
                                                       align_corners=False)[0].permute(1, 2, 0)
            rel = (coord - q_centre) * torch.tensor([h, w])
            rel_cell = torch.tensor([cell[0] * h, cell[1] * w]).expand_as(rel)
            members.append(model.imnet.layers[0](torch.cat([q_feat, rel, rel_cell], -1)))
            areas.append((rel[..., 0] * rel[..., 1]).abs() + 1e-9)
    return torch.stack(members), torch.stack(areas)


def _split_first_layer(model, feat, ys, xs, cell):
    """The same from the split: per-cell projection gathered, plus the per-axis offset terms."""
    proj = model.project(feat)[0].permute(1, 2, 0)
    queries = model.grid_queries(ys, xs, cell, grid=feat.shape[-2:])
    members = []
    offsets = queries.offsets()
    for t, (sy, sx) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
        rows, cols = queries.rows.index[sy], queries.cols.index[sx]
        members.append(proj[rows][:, cols]
                       + (offsets[t] @ queries.offset_weight).view(len(rows), len(cols), -1))
    return torch.stack(members)


@pytest.mark.parametrize("lr_size,out_size", [((9, 11), (27, 33)), ((6, 7), (50, 13))])
def test_split_first_layer_equals_the_whole_linear(released_model, lr_size, out_size):
    """The first layer split into a per-cell 3x3 projection and per-query offset terms gives
    the 580-wide layer's pre-activations to float32 rounding, at the cells the reference reads."""
    torch.manual_seed(0)
    with torch.no_grad():
        feat = released_model.encode(torch.rand(1, 3, *lr_size) * 2 - 1)
        ys, xs = pixel_centres(out_size[0]), pixel_centres(out_size[1])
        cell = (2 / out_size[0], 2 / out_size[1])
        split = _split_first_layer(released_model, feat, ys, xs, cell)
        whole = _unsplit_first_layer(released_model, feat, ys, xs, cell)[0]
    scale = whole.abs().max().item()
    assert scale > 1 and (split - whole).abs().max().item() < 1e-5 * scale


def test_fast_grid_query_rounds_the_float32_first_layer_once(released_model):
    """In the fast mode the first layer's sum stays float32 and is rounded to bfloat16 once
    (then ReLU and the bfloat16 layers): the grid path gives what that recipe gives from the
    unsplit 580-wide layer, to bfloat16 noise (the bfloat16 layers here are torch's public
    ones, not oneDNN's fused ones, so a rare output differs by a step)."""
    from cnaps.sr.device import model_in

    fast = model_in(released_model, torch.bfloat16)
    torch.manual_seed(1)
    lr = torch.rand(1, 3, 8, 10) * 2 - 1
    out_size = (24, 31)
    ys, xs = pixel_centres(out_size[0]), pixel_centres(out_size[1])
    cell = (2 / out_size[0], 2 / out_size[1])
    with torch.no_grad():
        feat = released_model.encode(lr)  # float32 features: the MLP is what is compared
        proj = fast.project(feat)[0].permute(1, 2, 0).contiguous()
        grid = fast.query_grid(proj, fast.grid_queries(ys, xs, cell, grid=(8, 10)))
        pre, areas = _unsplit_first_layer(released_model, feat, ys, xs, cell)
        pred = fast.imnet.layers[2:](pre.relu().bfloat16()).float()  # (4, nr, nc, 3)
    weights = areas.flip(0) / areas.sum(0)  # each member weighted by the opposite one's area
    recipe = (pred * weights.unsqueeze(-1)).sum(0).view(-1, 3)
    assert grid.dtype == torch.float32 and grid.shape == recipe.shape
    diff = (grid - recipe).abs()  # normalised [-1, 1]; a bfloat16 step near 1 is 0.0078
    # Rounding the projection to bfloat16 before the offsets are added, or first-layer weights
    # rounded to bfloat16, gives a mean of ~2e-3 here.
    assert diff.max().item() < 0.01 and diff.mean().item() < 1e-4
