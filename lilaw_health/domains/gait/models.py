"""Gait encoders that return UPDRS-gait logits, by name.

Every registered factory is ``factory(sample, n_classes, **options)``: ``sample`` is one
training input, a dict of tensors, from which the factory reads the widths it needs. The
module's ``forward`` takes a batch dict (each key stacked with a leading batch dimension):

- ``features`` (batch, L, 263): HumanML3D features, normalised per feature;
- ``mask`` (batch, L): 1 for real frames, 0 for padding; the real frames come first;
- ``joints`` (batch, L, 22, 3), optional: root-relative joint positions (read by ``stgcn``);
- ``embedding`` (batch, D): a frozen encoder's output (read by ``mlp_head`` only).

The sequence models (``tcn``, ``transformer``, ``gru``, ``stgcn``) never let padded frames into
their output: the inputs of padded frames are zeroed (or left out by packing and attention
masks) and every pooling averages real frames only, so changing padded frames changes nothing.
``stgcn`` is defined in :mod:`~lilaw_health.domains.gait.stgcn`; the input and option checks
all models share are in :mod:`~lilaw_health.domains.gait.model_checks`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from itertools import pairwise
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from lilaw_health.core.data import TaskData
from lilaw_health.core.errors import ConfigError, InputError
from lilaw_health.core.registry import Registry
from lilaw_health.domains.gait.model_checks import (
    NOT_A_SAMPLE,
    batch_mask,
    describe,
    input_width,
    model_input,
    require,
    require_dropout,
    require_positive_ints,
)
from lilaw_health.domains.gait.stgcn import STGCN

MODELS: Registry[Callable[..., nn.Module]] = Registry("gait model")

UNKNOWN_OPTION = ("unknown option(s) {bad} for gait model {model!r}; accepted: {accepted}. "
                  "Fix the keys under model_args in the recipe.")
EMBEDDING_FIX = ("mlp_head classifies embeddings from your frozen motion encoder: give every sample an "
                 "'embedding' (D,) float32 array, e.g. ArrayDataset({'embedding': embeddings}, labels) with "
                 "embeddings of shape (n_samples, D), or choose a sequence model (tcn, transformer, gru, stgcn).")
MASK_NOT_PREFIX = ("{arg} must be 1 for the real frames followed by 0 for the padding, in every sample; "
                   "sample {index} is not. Pad sequences at the end (the gait domain's loader does).")


def build_model(name: str, *, data: TaskData, options: Mapping[str, Any] | None = None) -> nn.Module:
    """Build a registered gait model for ``data``'s input widths and number of classes.

    Parameters
    ----------
    name : str
        A name of :data:`MODELS`: ``tcn``, ``transformer``, ``gru``, ``stgcn`` or ``mlp_head``.
    data : TaskData
        Its first training input (a dict of tensors) gives the widths; ``n_classes`` the logits.
    options : mapping, optional
        Keyword options of the model (``model_args`` in the recipe).

    Raises
    ------
    UnknownNameError
        If ``name`` is not registered.
    ConfigError
        If an option is unknown or has a bad value.
    InputError
        If the samples lack an input the model reads.
    """
    factory = MODELS.get(name)
    options = dict(options or {})
    accepted = _accepted_options(factory)
    bad = sorted(set(options) - accepted)
    if bad:
        raise ConfigError(UNKNOWN_OPTION.format(bad=bad, model=name, accepted=", ".join(sorted(accepted))))
    sample = data.train[0][0]  # type: ignore[index]
    if not isinstance(sample, Mapping):
        raise InputError(NOT_A_SAMPLE.format(model=name, received=describe(sample)))
    return factory(sample, data.n_classes, **options)


@MODELS.register("tcn")
class TemporalCNN(nn.Module):
    """Residual dilated temporal convolutions over the features, then a masked mean over time.

    About 100k weights at the defaults: a 1x1 stem to ``width`` channels, one residual block
    (Conv1d-BatchNorm-ReLU-Dropout) per dilation, receptive field
    ``1 + (kernel_size - 1) * sum(dilations)`` frames (61 at the defaults, about 2 s at 30 fps:
    two gait cycles).

    Parameters
    ----------
    sample : dict of Tensor
        One input; ``features`` (L, F) gives the input width.
    n_classes : int
    width : int, default 64
    kernel_size : int, odd, default 5
    dilations : sequence of int, default (1, 2, 4, 8)
    dropout : float in [0, 1), default 0.1
    """

    def __init__(self, sample: Mapping[str, Tensor], n_classes: int, *, width: int = 64, kernel_size: int = 5,
                 dilations: Iterable[int] = (1, 2, 4, 8), dropout: float = 0.1) -> None:
        super().__init__()
        dilations = tuple(dilations)
        require_positive_ints("tcn", width=width, **{f"dilations[{i}]": d for i, d in enumerate(dilations)})
        require("tcn", "kernel_size", isinstance(kernel_size, int) and kernel_size % 2 == 1 and kernel_size > 0,
                "an odd positive integer", kernel_size)
        require_dropout("tcn", dropout)
        self.stem = nn.Conv1d(input_width(sample, "features", "tcn"), width, 1)
        self.blocks = nn.ModuleList(nn.Sequential(
            nn.Conv1d(width, width, kernel_size, dilation=d, padding=d * (kernel_size - 1) // 2),
            nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout)) for d in dilations)
        self.head = nn.Linear(width, n_classes)

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        features, mask = _sequence_inputs(batch, "tcn")
        keep = mask.unsqueeze(1)  # (batch, 1, L)
        hidden = self.stem(features.transpose(1, 2)) * keep
        for block in self.blocks:
            hidden = (hidden + block(hidden)) * keep
        return self.head(masked_mean(hidden.transpose(1, 2), mask))


@MODELS.register("transformer")
class GaitTransformer(nn.Module):
    """A small transformer encoder (2 layers, d_model 64 by default) with sinusoidal positions.

    The mask is the attention's key padding mask, so real frames never attend to padding, and
    the output is the mean of the real frames' encodings.

    Parameters
    ----------
    sample : dict of Tensor
        One input; ``features`` (L, F) gives the input width.
    n_classes : int
    d_model : int, default 64
    n_heads : int dividing d_model, default 4
    n_layers : int, default 2
    dim_feedforward : int, default 128
    dropout : float in [0, 1), default 0.1
    """

    def __init__(self, sample: Mapping[str, Tensor], n_classes: int, *, d_model: int = 64, n_heads: int = 4,
                 n_layers: int = 2, dim_feedforward: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        require_positive_ints("transformer", d_model=d_model, n_heads=n_heads, n_layers=n_layers,
                              dim_feedforward=dim_feedforward)
        require("transformer", "n_heads", d_model % n_heads == 0, f"a divisor of d_model={d_model}", n_heads)
        require_dropout("transformer", dropout)
        self.embed = nn.Linear(input_width(sample, "features", "transformer"), d_model)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward, dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, n_classes)

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        features, mask = _sequence_inputs(batch, "transformer")
        hidden = self.embed(features)
        hidden = hidden + _sinusoids(hidden.shape[1], hidden.shape[2], like=hidden)
        padding = mask == 0
        padding[:, 0] &= ~padding.all(dim=1)  # an all-padding sample would turn the softmax into NaN
        return self.head(masked_mean(self.encoder(hidden, src_key_padding_mask=padding), mask))


@MODELS.register("gru")
class GaitGRU(nn.Module):
    """A (bidirectional) GRU over packed sequences; classifies from the last layer's final states.

    Packing hands the GRU the real frames only, so padding is never read.

    Parameters
    ----------
    sample : dict of Tensor
        One input; ``features`` (L, F) gives the input width.
    n_classes : int
    hidden_size : int, default 64
    num_layers : int, default 2
    bidirectional : bool, default True
    dropout : float in [0, 1), default 0.1
        Between GRU layers (unused with one layer).
    """

    def __init__(self, sample: Mapping[str, Tensor], n_classes: int, *, hidden_size: int = 64, num_layers: int = 2,
                 bidirectional: bool = True, dropout: float = 0.1) -> None:
        super().__init__()
        require_positive_ints("gru", hidden_size=hidden_size, num_layers=num_layers)
        require_dropout("gru", dropout)
        self.gru = nn.GRU(input_width(sample, "features", "gru"), hidden_size, num_layers, batch_first=True,
                          bidirectional=bidirectional, dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), n_classes)

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        features, mask = _sequence_inputs(batch, "gru")
        lengths = real_lengths(mask).clamp_min(1).cpu()
        _, final = self.gru(pack_padded_sequence(features, lengths, batch_first=True, enforce_sorted=False))
        directions = 2 if self.gru.bidirectional else 1
        last_layer = final[-directions:]  # (directions, batch, hidden)
        return self.head(last_layer.transpose(0, 1).reshape(len(features), -1))


MODELS.add("stgcn", STGCN)


@MODELS.register("mlp_head")
class EmbeddingMLP(nn.Module):
    """The GAITGen downstream head: an MLP over frozen motion-encoder embeddings.

    With GAITGen's 512-d embeddings the defaults give its 512 -> 128 -> 64 -> n_classes head
    (Linear-ReLU-Dropout per hidden layer). The embeddings are the user's: give every sample an
    ``embedding`` (D,) input.

    Parameters
    ----------
    sample : dict of Tensor
        One input; ``embedding`` (D,) gives the input width.
    n_classes : int
    hidden_sizes : sequence of int, default (128, 64)
    dropout : float in [0, 1), default 0.1
    """

    def __init__(self, sample: Mapping[str, Tensor], n_classes: int, *, hidden_sizes: Iterable[int] = (128, 64),
                 dropout: float = 0.1) -> None:
        super().__init__()
        hidden_sizes = tuple(hidden_sizes)
        require_positive_ints("mlp_head", **{f"hidden_sizes[{i}]": h for i, h in enumerate(hidden_sizes)})
        require_dropout("mlp_head", dropout)
        widths = (input_width(sample, "embedding", "mlp_head", fix=EMBEDDING_FIX), *hidden_sizes)
        layers: list[nn.Module] = []
        for w_in, w_out in pairwise(widths):
            layers += [nn.Linear(w_in, w_out), nn.ReLU(), nn.Dropout(dropout)]
        self.body = nn.Sequential(*layers, nn.Linear(widths[-1], n_classes))

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self.body(model_input(batch, "embedding", "mlp_head", where="batch", fix=EMBEDDING_FIX))


def _sequence_inputs(batch: Mapping[str, Tensor], model: str) -> tuple[Tensor, Tensor]:
    """``features`` (batch, L, F) with padded frames zeroed, and ``mask`` (batch, L)."""
    features, mask = model_input(batch, "features", model, where="batch"), batch_mask(batch, model)
    return features.masked_fill(mask.unsqueeze(-1) == 0, 0.0), mask


def masked_mean(values: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``values`` (batch, L, C) over the frames where ``mask`` (batch, L) is 1."""
    kept = values.masked_fill(mask.unsqueeze(-1) == 0, 0.0)
    return kept.sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp_min(1.0)


def real_lengths(mask: Tensor, *, arg: str = "mask") -> Tensor:
    """Number of real frames per sample, (batch,) int64; the mask must be a prefix of ones."""
    binary = mask > 0
    grows = binary[:, 1:] & ~binary[:, :-1]
    if grows.any():
        raise InputError(MASK_NOT_PREFIX.format(arg=arg, index=int(grows.any(dim=1).nonzero()[0])))
    return binary.sum(dim=1)


def _sinusoids(length: int, width: int, *, like: Tensor) -> Tensor:
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10_000.0) / width))
    table = torch.zeros(length, width)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)[:, : width // 2]
    return table.to(device=like.device, dtype=like.dtype)


def _accepted_options(factory: Callable[..., Any]) -> set[str]:
    parameters = inspect.signature(factory).parameters.values()
    return {p.name for p in parameters if p.kind is p.KEYWORD_ONLY}


__all__ = ["MODELS", "EmbeddingMLP", "GaitGRU", "GaitTransformer", "TemporalCNN", "build_model", "masked_mean",
           "real_lengths"]
