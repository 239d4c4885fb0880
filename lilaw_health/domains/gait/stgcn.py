"""A light ST-GCN over the 22-joint SMPL skeleton: the gait model named ``stgcn``.

:mod:`~lilaw_health.domains.gait.models` registers :class:`STGCN` in its ``MODELS``; the
inputs and options are checked as every gait model's
(:mod:`~lilaw_health.domains.gait.model_checks`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import Tensor, nn

from lilaw_health.core.errors import SHAPE, InputError
from lilaw_health.domains.gait.features import RIC
from lilaw_health.domains.gait.model_checks import (
    batch_mask,
    model_input,
    require,
    require_dropout,
    require_positive_ints,
)
from lilaw_health.domains.gait.skeleton import PARENTS

JOINTS_FIX = "stgcn's graph is SMPL's 22 body joints in HumanML3D order (the gait domain's 'joints')."


class STGCN(nn.Module):
    """A light ST-GCN (Yan et al. 2018) over the 22-joint SMPL skeleton.

    Each block is a graph convolution (1x1 convolution, then mixing over the normalised
    adjacency ``D^-1/2 (I + A) D^-1/2``, A the parent/child bones) and a temporal convolution,
    with a residual path; blocks with a temporal stride of 2 halve the frame rate (and the
    mask with it). The output is the mean over real frames and joints.

    The joints come from the ``joints`` key (batch, L, 22, 3), root-relative positions that the
    gait domain provides; prefer it. Without it they are read from the features' ric slice
    (joint 0, the root, at the origin, then joints 1..21); since the features are normalised per
    feature, those positions are in normalised units, not metres.

    Parameters
    ----------
    sample : dict of Tensor
        One input; ``joints`` (L, 22, 3), or ``features`` (L, 263) without it.
    n_classes : int
    channels : sequence of int, default (32, 64, 64)
        Width of each block.
    strides : sequence of int, default (1, 2, 2)
        Temporal stride of each block (same length as ``channels``).
    temporal_kernel : int, odd, default 9
    dropout : float in [0, 1), default 0.1
    """

    def __init__(self, sample: Mapping[str, Tensor], n_classes: int, *, channels: Iterable[int] = (32, 64, 64),
                 strides: Iterable[int] = (1, 2, 2), temporal_kernel: int = 9, dropout: float = 0.1) -> None:
        super().__init__()
        channels, strides = tuple(channels), tuple(strides)
        require_positive_ints("stgcn", **{f"channels[{i}]": c for i, c in enumerate(channels)},
                              **{f"strides[{i}]": s for i, s in enumerate(strides)})
        require("stgcn", "channels", len(channels) > 0, "a non-empty sequence of widths", channels)
        require("stgcn", "strides", len(strides) == len(channels), f"{len(channels)} strides, one per block",
                strides)
        require("stgcn", "temporal_kernel", isinstance(temporal_kernel, int) and temporal_kernel % 2 == 1
                and temporal_kernel > 0, "an odd positive integer", temporal_kernel)
        require_dropout("stgcn", dropout)
        joints = _stgcn_joints(sample, "stgcn", batched=False)
        if tuple(joints.shape[-2:]) != (len(PARENTS), 3):
            raise InputError(SHAPE.format(arg="the samples' joints", expected="(L, 22, 3)",
                                          received=tuple(joints.shape), fix=JOINTS_FIX))
        self.register_buffer("adjacency", normalised_adjacency(PARENTS))
        self.input_norm = nn.BatchNorm1d(joints.shape[-2] * joints.shape[-1])
        widths = (joints.shape[-1], *channels)
        self.blocks = nn.ModuleList(_GraphTemporalBlock(c_in, c_out, temporal_kernel, stride, dropout)
                                    for c_in, c_out, stride in zip(widths[:-1], widths[1:], strides))
        self.head = nn.Linear(widths[-1], n_classes)

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        joints, mask = _stgcn_joints(batch, "stgcn", batched=True), batch_mask(batch, "stgcn")
        n, length, n_joints, dims = joints.shape
        keep = mask.view(n, 1, length, 1)
        flat = joints.masked_fill(keep.view(n, length, 1, 1) == 0, 0.0).reshape(n, length, n_joints * dims)
        hidden = self.input_norm(flat.transpose(1, 2)).view(n, n_joints, dims, length).permute(0, 2, 3, 1) * keep
        for block in self.blocks:
            strided = keep[:, :, :: block.stride]  # output frame t is centred on input frame t * stride
            hidden, keep = block(hidden, self.adjacency, keep, strided), strided
        pooled = hidden.sum(dim=(2, 3)) / (keep.sum(dim=(1, 2, 3)).clamp_min(1.0) * n_joints).unsqueeze(1)
        return self.head(pooled)


class _GraphTemporalBlock(nn.Module):
    """Graph convolution, BatchNorm-ReLU, temporal convolution, BatchNorm, residual, ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.stride = stride
        self.spatial = nn.Conv2d(c_in, c_out, 1)
        self.spatial_norm = nn.Sequential(nn.BatchNorm2d(c_out), nn.ReLU())
        self.temporal = nn.Sequential(nn.Conv2d(c_out, c_out, (kernel, 1), stride=(stride, 1),
                                                padding=(kernel // 2, 0)), nn.BatchNorm2d(c_out), nn.Dropout(dropout))
        same = c_in == c_out and stride == 1
        self.residual = nn.Identity() if same else nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=(stride, 1)),
                                                                 nn.BatchNorm2d(c_out))

    def forward(self, x: Tensor, adjacency: Tensor, keep: Tensor, strided: Tensor) -> Tensor:
        """x (batch, c_in, L, joints), zero on padded frames; keep (batch, 1, L, 1) and its strided
        copy (batch, 1, ceil(L / stride), 1) mark the real frames of the input and the output."""
        spatial = torch.einsum("nctv,vw->nctw", self.spatial(x), adjacency)
        hidden = self.temporal(self.spatial_norm(spatial) * keep)
        return torch.relu(hidden + self.residual(x)) * strided


def _stgcn_joints(inputs: Mapping[str, Tensor], model: str, *, batched: bool) -> Tensor:
    """``joints`` (..., L, 22, 3), or the features' ric slice with the root at the origin."""
    if "joints" in inputs:
        return inputs["joints"]
    features = model_input(inputs, "features", model, where="batch" if batched else "sample",
                           fix="Give the samples 'joints' (L, 22, 3) (preferred) or 'features' (L, 263).")
    ric = features[..., RIC].unflatten(-1, (-1, 3))
    return torch.cat([torch.zeros_like(ric[..., :1, :]), ric], dim=-2)


def normalised_adjacency(parents: Iterable[int]) -> Tensor:
    """``D^-1/2 (I + A) D^-1/2`` for the bones (joint, parent); shape (joints, joints)."""
    parents = [int(parent) for parent in parents]
    adjacency = torch.eye(len(parents))
    for joint, parent in enumerate(parents):
        if parent >= 0:
            adjacency[joint, parent] = adjacency[parent, joint] = 1.0
    scale = adjacency.sum(dim=1).rsqrt()
    return scale[:, None] * adjacency * scale[None, :]


__all__ = ["STGCN", "normalised_adjacency"]
