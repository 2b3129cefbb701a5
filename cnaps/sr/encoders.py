"""Encoders: LR image (B, 3, h, w) -> feature map (B, 64, h, w), same size, no upsampler.

EDSR-baseline (Lim et al., 2017) and RDN config B (Zhang et al., 2018), as LIIF uses them
(LIIF_SPEC §1). Module names follow the released checkpoints' keys exactly, so those files load
strictly. `receptive_radius` is how far (in LR pixels) a feature can see: tiled inference adds
that much overlap so that tiles give the same features as the whole image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cnaps.sr.registry import register


def conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


class ResBlock(nn.Module):
    """conv3x3 -> ReLU -> conv3x3, plus the input (no batch norm, residual scale 1)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(conv3x3(channels, channels), nn.ReLU(inplace=True),
                                  conv3x3(channels, channels))

    def forward(self, x):
        return x + self.body(x)


class EDSRBaseline(nn.Module):
    """head conv -> 16 residual blocks -> conv, with a global skip from the head."""

    out_dim = 64

    def __init__(self, n_resblocks: int = 16, n_feats: int = 64, no_upsampling: bool = True):
        super().__init__()
        if not no_upsampling:
            raise ValueError("LIIF encoders run without an upsampler (no_upsampling=True)")
        self.out_dim = n_feats
        # Kept only so the released checkpoints load strictly: LIIF never applies them.
        self.sub_mean = nn.Conv2d(3, 3, 1)
        self.add_mean = nn.Conv2d(3, 3, 1)
        for p in (*self.sub_mean.parameters(), *self.add_mean.parameters()):
            p.requires_grad_(False)
        self.head = nn.Sequential(conv3x3(3, n_feats))
        self.body = nn.Sequential(*[ResBlock(n_feats) for _ in range(n_resblocks)],
                                  conv3x3(n_feats, n_feats))
        self.receptive_radius = 2 * n_resblocks + 2
        # Inference tile (halo included): ~1 KB of live activations per pixel, ~0.3 GB a tile.
        self.default_tile_pixels = 512 * 512

    def forward(self, x):  # (B, 3, h, w) -> (B, C, h, w)
        x = self.head(x)
        return self.body(x) + x


class DenseConv(nn.Module):
    """conv3x3 + ReLU whose output is concatenated to its input (growth `growth` channels)."""

    def __init__(self, cin: int, growth: int):
        super().__init__()
        self.conv = nn.Sequential(conv3x3(cin, growth), nn.ReLU(inplace=True))

    def forward(self, x):
        return torch.cat((x, self.conv(x)), 1)


class ResidualDenseBlock(nn.Module):
    def __init__(self, channels: int, growth: int, n_convs: int):
        super().__init__()
        self.convs = nn.Sequential(*[DenseConv(channels + c * growth, growth)
                                     for c in range(n_convs)])
        self.LFF = nn.Conv2d(channels + n_convs * growth, channels, 1)  # local feature fusion

    def forward(self, x):
        return self.LFF(self.convs(x)) + x


class RDN(nn.Module):
    """Residual dense network, config B: 16 blocks of 8 convs, growth 64."""

    def __init__(self, G0: int = 64, n_blocks: int = 16, n_convs: int = 8, growth: int = 64,
                 no_upsampling: bool = True):
        super().__init__()
        if not no_upsampling:
            raise ValueError("LIIF encoders run without an upsampler (no_upsampling=True)")
        self.out_dim = G0
        self.SFENet1 = conv3x3(3, G0)
        self.SFENet2 = conv3x3(G0, G0)
        self.RDBs = nn.ModuleList([ResidualDenseBlock(G0, growth, n_convs)
                                   for _ in range(n_blocks)])
        self.GFF = nn.Sequential(nn.Conv2d(n_blocks * G0, G0, 1), conv3x3(G0, G0))
        self.receptive_radius = 2 + n_blocks * n_convs + 1
        # ~5 KB of live activations per pixel (dense concatenations): ~0.8 GB a tile.
        self.default_tile_pixels = 400 * 400

    def forward(self, x):  # (B, 3, h, w) -> (B, G0, h, w)
        f1 = self.SFENet1(x)
        x = self.SFENet2(f1)
        if not torch.is_grad_enabled():
            return self._forward_lean(x, f1)
        outs = []
        for block in self.RDBs:
            x = block(x)
            outs.append(x)
        return self.GFF(torch.cat(outs, 1)) + f1

    def _forward_lean(self, x, f1):
        """Inference without holding the 16 block outputs (16x64 channels per pixel): the 1x1
        global fusion over their concatenation is a sum of per-block 1x1 convolutions."""
        fuse = self.GFF[0]
        width = x.shape[1]
        fused = None
        for i, block in enumerate(self.RDBs):
            x = block(x)
            part = F.conv2d(x, fuse.weight[:, i * width:(i + 1) * width])
            fused = part if fused is None else fused.add_(part)
        fused += fuse.bias.view(1, -1, 1, 1)
        return self.GFF[1](fused) + f1


@register("edsr-baseline")
def edsr_baseline(no_upsampling: bool = True, **kwargs) -> EDSRBaseline:
    return EDSRBaseline(no_upsampling=no_upsampling, **kwargs)


@register("rdn")
def rdn(no_upsampling: bool = True, **kwargs) -> RDN:
    return RDN(no_upsampling=no_upsampling, **kwargs)
