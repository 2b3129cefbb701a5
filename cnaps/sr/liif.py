"""LIIF: a local implicit image function (LIIF_SPEC §1; reference code yinboc/liif).

An encoder turns the LR image into a feature map; an MLP is queried at any continuous coordinate
with the 3x3-unfolded feature of the nearest cell, the offset from that cell's centre and the
output cell size, and four such queries (the local ensemble) are blended with bilinear weights.

The fast path rests on one exact identity: the first MLP layer is linear, so its part that
reads the 576 unfolded feature values is a 3x3 convolution of the feature map, computed once per
LR cell (`project`). A query then costs a row gather plus a rank-4 update instead of a
580x256 matrix product, and the unfolded map (9x the features) is never materialised.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cnaps.sr.registry import ModelSpec, make, register

# The local-ensemble shifts in the reference order: (row, col) signs.
ENSEMBLE_SHIFTS = ((-1, -1), (-1, 1), (1, -1), (1, 1))
EPS_SHIFT = 1e-6


def _fused_linear_available() -> bool:
    """Whether this torch build has oneDNN's fused linear+ReLU (`torch.ops.mkldnn.
    _linear_pointwise`, private to PyTorch's CPU build): tried once on a tiny input and
    checked against the public ops, so another build or version falls back instead of failing."""
    try:
        x, weight, bias = torch.ones(2, 3), torch.ones(4, 3), torch.zeros(4)
        fused = torch.ops.mkldnn._linear_pointwise(x, weight, bias, "relu", [], "")
        return bool(torch.equal(fused, torch.relu(x @ weight.t() + bias)))
    except (AttributeError, RuntimeError, TypeError):
        return False


_FUSED_LINEAR = _fused_linear_available()


def _linear(x: torch.Tensor, layer: nn.Linear, relu: bool) -> torch.Tensor:
    """Linear (+ ReLU). On CPU float32 and bfloat16, oneDNN's fused linear+ReLU: one pass over
    the output instead of two, about 20% faster per layer here than addmm followed by relu_.
    Anywhere else (other devices and dtypes, builds without the op) the public addmm + relu_."""
    if _FUSED_LINEAR and x.device.type == "cpu" and x.dtype in (torch.float32, torch.bfloat16):
        return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias,
                                                  "relu" if relu else "none", [], "")
    out = torch.addmm(layer.bias, x, layer.weight.t())
    return out.relu_() if relu else out


class MLP(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, hidden_list: list[int]):
        super().__init__()
        layers: list[nn.Module] = []
        last = in_dim
        for hidden in hidden_list:
            layers += [nn.Linear(last, hidden), nn.ReLU(inplace=True)]
            last = hidden
        layers.append(nn.Linear(last, out_dim))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


@register("mlp")
def mlp(in_dim: int, out_dim: int = 3, hidden_list: list[int] = (256, 256, 256, 256)) -> MLP:
    return MLP(in_dim, out_dim, list(hidden_list))


def pixel_centres(n: int, index: torch.Tensor | None = None,
                  device: torch.device | str | None = None) -> torch.Tensor:
    """Centres of pixels `index` (default all, on `device`) of a row of n pixels in [-1, 1],
    float32, on the index's device.

    Written with the same float32 operations as the reference `make_coord`, so coordinates,
    and hence the cells the ensemble picks, are bit-identical to it. The one home of pixel
    centres: training, evaluation and inference all take their coordinates from here."""
    v0, v1 = -1, 1
    r = (v1 - v0) / (2 * n)
    index = torch.arange(n, device=device) if index is None else index
    return v0 + r + (2 * r) * index.float()


def nearest_cell(coord: torch.Tensor, n: int) -> torch.Tensor:
    """Index of the cell containing each coordinate (nearest sampling, align_corners=False)."""
    return torch.round(((coord + 1) * n - 1) / 2).long().clamp_(0, n - 1)


# The same shifts as indices into (-1, +1): member t reads rows sign sy, columns sign sx.
ENSEMBLE_SIGNS = tuple(((vy + 1) // 2, (vx + 1) // 2) for vy, vx in ENSEMBLE_SHIFTS)


@dataclass(frozen=True)
class AxisCells:
    """Queries along one image axis, for each ensemble sign (-1, +1): the LR cell each reads,
    counted from the tile's first cell (2, n), and its offset from that cell's centre in cells
    (2, n), float32."""

    index: torch.Tensor
    rel: torch.Tensor

    def __getitem__(self, part: slice) -> AxisCells:
        return AxisCells(self.index[:, part], self.rel[:, part])


def axis_cells(coords: torch.Tensor, n_cells: int, origin: int = 0) -> AxisCells:
    """`AxisCells` of coordinates along an axis of n_cells LR cells (the reference's
    arithmetic: shift by one cell plus EPS_SHIFT, clamp, nearest cell)."""
    indices, rels = [], []
    for sign in (-1, 1):
        index = nearest_cell((coords + (sign / n_cells + EPS_SHIFT)).clamp_(-1 + 1e-6, 1 - 1e-6),
                             n_cells)
        rels.append((coords - pixel_centres(n_cells, index)) * n_cells)
        indices.append(index - origin)
    return AxisCells(torch.stack(indices), torch.stack(rels))


@dataclass(frozen=True)
class GridQueries:
    """A rows x columns grid of queries ready for `LIIF.query_grid` (made by `grid_queries`):
    per axis its `AxisCells`, and the first layer's weights for [rel_row, rel_col, 1] (3, 256),
    float32: the offset columns and, as the third row, the cell term all queries share."""

    rows: AxisCells
    cols: AxisCells
    offset_weight: torch.Tensor

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows.index.shape[1], self.cols.index.shape[1]

    def row_range(self, start: int, stop: int) -> GridQueries:
        """The queries of rows start..stop-1 (a chunk of a tile's rows)."""
        return GridQueries(self.rows[start:stop], self.cols, self.offset_weight)

    def offsets(self) -> torch.Tensor:
        """[rel_row, rel_col, 1] of every query for each ensemble member: (4, nr*nc, 3)."""
        n_rows, n_cols = self.shape
        rel = torch.empty((2, 2, n_rows, n_cols, 3), device=self.rows.rel.device)
        rel[..., 0] = self.rows.rel[:, None, :, None]
        rel[..., 1] = self.cols.rel[None, :, None, :]
        rel[..., 2] = 1
        return rel.view(4, n_rows * n_cols, 3)


class LIIF(nn.Module):
    """encoder + imnet; module names match the released checkpoints (`encoder.*`, `imnet.*`)."""

    def __init__(self, encoder_spec: dict, imnet_spec: dict, local_ensemble: bool = True,
                 feat_unfold: bool = True, cell_decode: bool = True):
        super().__init__()
        if not (local_ensemble and feat_unfold and cell_decode):
            raise ValueError("only the full LIIF (ensemble, unfold, cell decoding) is supported")
        self.encoder_spec = ModelSpec.model_validate(encoder_spec)
        self.imnet_spec = ModelSpec.model_validate(imnet_spec)
        self.encoder = make(self.encoder_spec)
        in_dim = self.encoder.out_dim * 9 + 2 + 2
        self.imnet = make(self.imnet_spec, in_dim=in_dim)
        first = self.imnet.layers[0]
        if not isinstance(first, nn.Linear):
            raise ValueError("imnet must start with a Linear layer")

    @property
    def spec(self) -> dict:
        """The {name, args} spec stored in checkpoints (the reference's format)."""
        return {"name": "liif", "args": {"encoder_spec": self.encoder_spec.model_dump(),
                                         "imnet_spec": self.imnet_spec.model_dump()}}

    @property
    def receptive_radius(self) -> int:
        return self.encoder.receptive_radius

    def encode(self, inp: torch.Tensor) -> torch.Tensor:
        """(B, 3, h, w) normalised to [-1, 1] -> features (B, C, h, w)."""
        return self.encoder(inp)

    def project(self, feat: torch.Tensor, padding: int = 1) -> torch.Tensor:
        """First-layer contribution of each cell's unfolded feature, bias included.

        (B, C, h, w) -> (B, 256, h - 2 + 2*padding, w - 2 + 2*padding). The unfold's channel
        order c*9 + (dy+1)*3 + (dx+1) is exactly a conv weight's (C, 3, 3) layout, and the
        unfold's zero padding is the convolution's. With padding=0 the caller supplies a margin
        of real neighbours (tiled inference)."""
        first = self.imnet.layers[0]
        channels = feat.shape[1]
        weight = first.weight[:, : channels * 9].reshape(-1, channels, 3, 3)
        # In the fast mode the encoder's bfloat16 features meet a float32 first layer.
        return F.conv2d(feat.to(weight.dtype), weight, first.bias, padding=padding)

    def query(self, proj: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor,
              grid: tuple[int, int], origin: tuple[int, int] = (0, 0)) -> torch.Tensor:
        """RGB (normalised) at coordinates, from projected features.

        proj: (B, R, S, 256) channels-last projection of the cells in rows origin[0].. and
        columns origin[1].. of a (h, w) = `grid` feature map; coord, cell: (B, Q, 2) as
        (row, col) in [-1, 1] of the whole image. Returns (B, Q, 3)."""
        h, w = grid
        bsz, rows, cols, hidden = proj.shape
        first = self.imnet.layers[0]
        w_rel = first.weight[:, -4:-2]  # (256, 2): rel (row, col)
        w_cell = first.weight[:, -2:]  # (256, 2): rel_cell (row, col)
        rel_cell = cell.clone()
        rel_cell[..., 0] *= h
        rel_cell[..., 1] *= w
        cell_term = rel_cell @ w_cell.t()  # (B, Q, 256)

        flat = proj.reshape(bsz * rows * cols, hidden)
        batch_offset = (torch.arange(bsz, device=proj.device) * rows * cols).view(bsz, 1)
        preds, areas = [], []
        for vy, vx in ENSEMBLE_SHIFTS:
            shifted = coord.clone()
            shifted[..., 0] += vy / h + EPS_SHIFT
            shifted[..., 1] += vx / w + EPS_SHIFT
            shifted.clamp_(-1 + 1e-6, 1 - 1e-6)
            iy = nearest_cell(shifted[..., 0], h)
            ix = nearest_cell(shifted[..., 1], w)
            rel = torch.stack((coord[..., 0] - pixel_centres(h, iy),
                               coord[..., 1] - pixel_centres(w, ix)), -1)
            rel[..., 0] *= h
            rel[..., 1] *= w
            index = (iy - origin[0]) * cols + (ix - origin[1]) + batch_offset  # (B, Q)
            hid = flat.index_select(0, index.view(-1)).view(bsz, -1, hidden)
            hid = hid + cell_term + rel @ w_rel.t()
            preds.append(self._mlp_after_first(hid))
            areas.append(torch.abs(rel[..., 0] * rel[..., 1]) + 1e-9)
        total = torch.stack(areas).sum(0)
        out = 0
        for pred, area in zip(preds, reversed(areas)):  # weight by the opposite cell's area
            out = out + pred * (area / total).unsqueeze(-1)
        return out

    def grid_queries(self, ys: torch.Tensor, xs: torch.Tensor, cell: tuple[float, float],
                     grid: tuple[int, int], origin: tuple[int, int] = (0, 0)) -> GridQueries:
        """A regular grid of queries, rows `ys` x columns `xs` (float32, [-1, 1]), prepared for
        `query_grid` on a projection whose first cell is `origin` of the (h, w) = `grid` map.

        What depends on one axis only is computed here once (inference makes it once per tile
        and slices it per chunk): the cell each ensemble member reads and its offset, float32
        with the reference's operations, so the cells read are the reference's."""
        h, w = grid
        device = ys.device
        first = self.imnet.layers[0]
        # float32, computed as the reference does; the term is the same for every query: (256,)
        rel_cell = torch.tensor([cell[0], cell[1]], device=device) \
            * torch.tensor([h, w], device=device).float()
        cell_term = rel_cell.to(first.weight.dtype) @ first.weight[:, -2:].t()
        offset_weight = torch.cat((first.weight[:, -4:-2].t(), cell_term.unsqueeze(0)))
        return GridQueries(axis_cells(ys, h, origin[0]), axis_cells(xs, w, origin[1]),
                           offset_weight.contiguous())

    @torch.no_grad()
    def query_grid(self, proj: torch.Tensor, queries: GridQueries) -> torch.Tensor:
        """Inference fast path for a regular grid of queries (see `grid_queries`).

        Same arithmetic as `query` for coord = meshgrid(ys, xs), but the cell choice, offsets
        and bilinear areas are separable (per row and per column), the offset and cell terms of
        the first layer are one rank-3 update of the gathered projections, and the four ensemble
        members go through the MLP as one batch (fused linear+ReLU layers). proj: (R, S, 256)
        channels-last projection, float32. The first layer (gather, offsets, ReLU) is float32
        whatever the model's dtype and is rounded once, when it is stored in the MLP's dtype
        (bfloat16 in the fast mode), from a float32 buffer of one member at a time.
        Returns (nr*nc, 3) float32.
        """
        rows, cols, hidden = proj.shape
        flat = proj.view(rows * cols, hidden)
        n_rows, n_cols = queries.shape
        n = n_rows * n_cols
        linears = [m for m in self.imnet.layers[1:] if isinstance(m, torch.nn.Linear)]
        mlp_dtype = linears[0].weight.dtype
        buf = torch.empty((4 * n, hidden), dtype=mlp_dtype, device=proj.device)
        staging = None if mlp_dtype == proj.dtype else \
            torch.empty((n, hidden), dtype=proj.dtype, device=proj.device)
        offsets = queries.offsets()
        for t, (sy, sx) in enumerate(ENSEMBLE_SIGNS):
            index = (queries.rows.index[sy] * cols).unsqueeze(1) + queries.cols.index[sx].unsqueeze(0)
            member = buf[t * n:(t + 1) * n]
            part = member if staging is None else staging
            torch.index_select(flat, 0, index.view(-1), out=part)
            part.addmm_(offsets[t], queries.offset_weight).relu_()
            if staging is not None:
                member.copy_(part)
        hid = buf
        for layer in linears[:-1]:
            hid = _linear(hid, layer, relu=True)
        pred = _linear(hid, linears[-1], relu=False).view(4, n, -1)
        # Bilinear areas |rel_y * rel_x|, one per member: (4, n)
        areas = (queries.rows.rel.abs()[:, None, :, None] * queries.cols.rel.abs()[None, :, None, :])
        areas = areas.reshape(4, n).add_(1e-9)
        total = areas.sum(0)
        out = torch.zeros((n, pred.shape[-1]), dtype=torch.float32, device=pred.device)
        for t in range(4):  # each member weighted by the area of the diagonally opposite one
            out.add_(pred[t] * (areas[3 - t] / total).unsqueeze(-1))
        return out

    def _mlp_after_first(self, hid: torch.Tensor) -> torch.Tensor:
        """ReLU of the first layer's pre-activation, then the remaining layers."""
        return self.imnet.layers[2:](torch.relu(hid))

    def forward(self, inp: torch.Tensor, coord: torch.Tensor, cell: torch.Tensor):
        """Training/evaluation entry: (B,3,h,w), (B,Q,2), (B,Q,2) -> (B,Q,3), normalised."""
        feat = self.encode(inp)
        proj = self.project(feat).permute(0, 2, 3, 1).contiguous()
        return self.query(proj, coord, cell, grid=feat.shape[-2:])


@register("liif")
def liif(encoder_spec: dict, imnet_spec: dict, **kwargs) -> LIIF:
    return LIIF(encoder_spec, imnet_spec, **kwargs)
