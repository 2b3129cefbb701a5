"""A deliberately plain LIIF query, written straight from LIIF_SPEC §1 the way the reference code
does it: unfold the whole feature map, sample it with grid_sample (nearest) for each ensemble
shift, concatenate [feature, rel, rel_cell] to 580 values and run the full MLP, in batches.

It shares no query code with `cnaps.sr.liif`: it is the yardstick for exactness tests and the
"plain reference algorithm" the speed benchmark compares against.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def make_coord(n: int) -> torch.Tensor:
    r = (1 - (-1)) / (2 * n)
    return -1 + r + (2 * r) * torch.arange(n).float()


def hr_grid(height: int, width: int):
    """Every output pixel centre as (row, col), flattened (H*W, 2), and its cell."""
    ys, xs = make_coord(height), make_coord(width)
    coord = torch.stack(torch.meshgrid(ys, xs, indexing="ij"), -1).view(-1, 2)
    cell = torch.ones_like(coord)
    cell[:, 0] *= 2 / height
    cell[:, 1] *= 2 / width
    return coord, cell


def plain_query(feat, mlp_layers, coord, cell):
    """feat (1, C, h, w); coord, cell (1, Q, 2) -> (1, Q, 3) normalised RGB."""
    h, w = feat.shape[-2:]
    unfolded = F.unfold(feat, 3, padding=1).view(1, feat.shape[1] * 9, h, w)
    centres = torch.stack(torch.meshgrid(make_coord(h), make_coord(w), indexing="ij"), -1)
    centres = centres.permute(2, 0, 1).unsqueeze(0)  # (1, 2, h, w)
    preds, areas = [], []
    for vy in (-1, 1):
        for vx in (-1, 1):
            shifted = coord.clone()
            shifted[:, :, 0] += vy * (2 / h / 2) + 1e-6
            shifted[:, :, 1] += vx * (2 / w / 2) + 1e-6
            shifted.clamp_(-1 + 1e-6, 1 - 1e-6)
            grid = shifted.flip(-1).unsqueeze(1)  # grid_sample wants (x, y)
            q_feat = F.grid_sample(unfolded, grid, mode="nearest", align_corners=False)
            q_feat = q_feat[:, :, 0, :].permute(0, 2, 1)
            q_coord = F.grid_sample(centres, grid, mode="nearest", align_corners=False)
            q_coord = q_coord[:, :, 0, :].permute(0, 2, 1)
            rel = coord - q_coord
            rel[:, :, 0] *= h
            rel[:, :, 1] *= w
            rel_cell = cell.clone()
            rel_cell[:, :, 0] *= h
            rel_cell[:, :, 1] *= w
            x = torch.cat([q_feat, rel, rel_cell], dim=-1)
            for i, layer in enumerate(mlp_layers):
                x = layer(x)
            preds.append(x)
            areas.append(torch.abs(rel[:, :, 0] * rel[:, :, 1]) + 1e-9)
    total = torch.stack(areas).sum(0)
    areas[0], areas[3] = areas[3], areas[0]
    areas[1], areas[2] = areas[2], areas[1]
    out = 0
    for pred, area in zip(preds, areas):
        out = out + pred * (area / total).unsqueeze(-1)
    return out


@torch.no_grad()
def plain_upscale(model, lr, height, width, batch=30000):
    """lr (3, h, w) in [0, 1] -> float output (3, H, W) in [0, 1], the reference way."""
    inp = ((lr - 0.5) / 0.5).unsqueeze(0)
    feat = model.encoder(inp)
    coord, cell = hr_grid(height, width)
    coord, cell = coord.unsqueeze(0), cell.unsqueeze(0)
    outs = []
    for start in range(0, coord.shape[1], batch):
        outs.append(plain_query(feat, list(model.imnet.layers),
                                coord[:, start:start + batch], cell[:, start:start + batch]))
    pred = torch.cat(outs, 1)[0] * 0.5 + 0.5
    return pred.clamp(0, 1).view(height, width, 3).permute(2, 0, 1)
