"""Concept-conditioned residual 3D U-Net.

The image is encoded once into a feature map F (feature_channels per voxel, full patch resolution).
Each concept is a learned embedding; a small MLP turns it into a query vector q (feature_channels) and
a bias b, and its mask logits are q . F + b at every voxel (a 1x1x1 convolution whose weights are the
queries, so an extra prompt costs one C-channel dot product). Presence per concept:
w(q) . [avg-pool, max-pool of the bottleneck] + s * smooth-max of the concept's logits + c.

Tensor layout is the contract's: image [B, 1, Z, Y, X]; strides in configs are given in x, y, z order
and reversed here.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as Fn


def _k(stride_zyx):
    return tuple(3 for _ in stride_zyx)


class ConvNormAct(nn.Sequential):
    def __init__(self, cin, cout, stride=(1, 1, 1), kernel=(3, 3, 3)):
        pad = tuple(k // 2 for k in kernel)
        super().__init__(
            nn.Conv3d(cin, cout, kernel, stride=stride, padding=pad, bias=False),
            nn.InstanceNorm3d(cout, affine=True),
            nn.LeakyReLU(0.01, inplace=True),
        )


class ResBlock(nn.Module):
    def __init__(self, cin, cout, stride=(1, 1, 1), kernel=(3, 3, 3)):
        super().__init__()
        pad = tuple(k // 2 for k in kernel)
        self.conv1 = nn.Conv3d(cin, cout, kernel, stride=stride, padding=pad, bias=False)
        self.norm1 = nn.InstanceNorm3d(cout, affine=True)
        self.conv2 = nn.Conv3d(cout, cout, kernel, padding=pad, bias=False)
        self.norm2 = nn.InstanceNorm3d(cout, affine=True)
        self.act = nn.LeakyReLU(0.01, inplace=True)
        self.skip = None
        if cin != cout or any(s != 1 for s in stride):
            self.skip = nn.Sequential(
                nn.Conv3d(cin, cout, 1, stride=stride, bias=False), nn.InstanceNorm3d(cout, affine=True)
            )

    def forward(self, x):
        y = self.act(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        s = x if self.skip is None else self.skip(x)
        return self.act(y + s)


class MedParseNet(nn.Module):
    def __init__(
        self,
        num_concepts: int,
        channels=(16, 32, 64, 128),
        strides_xyz=((2, 2, 2), (2, 2, 2), (2, 2, 2)),
        feature_channels: int = 32,
        embed_dim: int = 64,
        in_channels: int = 1,
    ):
        super().__init__()
        assert len(strides_xyz) == len(channels) - 1
        strides = [tuple(reversed(s)) for s in strides_xyz]  # to z, y, x
        self.stem = ConvNormAct(in_channels, channels[0])
        self.enc0 = ResBlock(channels[0], channels[0])
        self.down = nn.ModuleList()
        for i, s in enumerate(strides):
            self.down.append(ResBlock(channels[i], channels[i + 1], stride=s))
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in reversed(range(len(strides))):
            self.up.append(nn.ConvTranspose3d(channels[i + 1], channels[i], strides[i], stride=strides[i], bias=False))
            self.dec.append(ResBlock(2 * channels[i], channels[i]))
        self.head = nn.Conv3d(channels[0], feature_channels, 1)
        self.feature_channels = feature_channels
        self.embed = nn.Embedding(num_concepts, embed_dim)
        nn.init.normal_(self.embed.weight, std=1.0)
        self.query = nn.Sequential(nn.Linear(embed_dim, 128), nn.GELU(), nn.Linear(128, feature_channels + 1))
        cb = channels[-1]
        self.presence_q = nn.Sequential(nn.Linear(embed_dim, 128), nn.GELU(), nn.Linear(128, 2 * cb))
        self.presence_scale = nn.Parameter(torch.tensor(0.5))
        self.presence_bias = nn.Parameter(torch.tensor(-2.0))

    def encode(self, image):
        x = self.enc0(self.stem(image))
        skips = [x]
        for d in self.down:
            x = d(x)
            skips.append(x)
        bottleneck = x
        for i, (up, dec) in enumerate(zip(self.up, self.dec)):
            skip = skips[-2 - i]
            x = dec(torch.cat([up(x), skip], dim=1))
        return self.head(x), bottleneck

    def forward(self, image, concept_ids):
        feats, bottleneck = self.encode(image)
        e = self.embed(concept_ids)  # [Q, E]
        qb = self.query(e)  # [Q, C+1]
        q = qb[:, : self.feature_channels]
        b = qb[:, self.feature_channels]
        logits = Fn.conv3d(feats, q[:, :, None, None, None], b)  # [B, Q, Z, Y, X]
        pooled = torch.cat([bottleneck.mean(dim=(2, 3, 4)), bottleneck.amax(dim=(2, 3, 4))], dim=1)  # [B, 2Cb]
        pq = self.presence_q(e)  # [Q, 2Cb]
        ctx = pooled @ pq.t() / (pooled.shape[1] ** 0.5)  # [B, Q]
        # smooth maximum of the logits over the patch (log-mean-exp of the top), bounded for stability
        flat = logits.flatten(2)
        smax = flat.amax(dim=2)
        presence = ctx + self.presence_scale * smax + self.presence_bias
        return logits, presence


def build_model(cfg: dict, num_concepts: int) -> MedParseNet:
    m = cfg["model"]
    return MedParseNet(
        num_concepts,
        channels=tuple(m.get("channels", (16, 32, 64, 128))),
        strides_xyz=tuple(tuple(s) for s in m.get("strides", [[2, 2, 2]] * 3)),
        feature_channels=m.get("feature_channels", 32),
        embed_dim=m.get("embed_dim", 64),
    )


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters())
