"""Checks shared by the gait models (:mod:`~lilaw_health.domains.gait.models`,
:mod:`~lilaw_health.domains.gait.stgcn`): the inputs a model reads from its sample or batch
dict, and the values of its ``model_args``.

A missing input raises an :class:`~lilaw_health.core.errors.InputError` naming the model, the
input and what the dict holds; a bad option a :class:`~lilaw_health.core.errors.ConfigError`
naming the option, the expected value and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from lilaw_health.core.errors import BAD_VALUE, ConfigError, InputError

NOT_A_SAMPLE = ("gait model {model!r} takes samples that are dicts of tensors (e.g. {{'features': (L, 263), "
                "'mask': (L,)}}); received {received}. Load the data with the gait domain, or build "
                "ArrayDataset({{'features': ..., 'mask': ...}}, labels).")
KEY_MISSING = "gait model {model!r} reads the input {key!r}, which the {where} lacks (it has: {present}). {fix}"
FEATURES_FIX = ("Give every sample 'features' (L, F) and 'mask' (L,), as the gait domain's loader does, "
                "or choose mlp_head for 'embedding' inputs.")
BAD_OPTION_FIX = "Fix the value under model_args in the recipe."


def model_input(inputs: Mapping[str, Tensor], key: str, model: str, *, where: str, fix: str = FEATURES_FIX) -> Tensor:
    """The input ``key`` of ``inputs`` (a sample or batch dict, as ``where`` says), or an InputError."""
    if not isinstance(inputs, Mapping):
        raise InputError(NOT_A_SAMPLE.format(model=model, received=describe(inputs)))
    if key not in inputs:
        present = ", ".join(repr(k) for k in inputs) or "nothing"
        raise InputError(KEY_MISSING.format(model=model, key=key, where=where, present=present, fix=fix))
    return inputs[key]


def input_width(sample: Mapping[str, Tensor], key: str, model: str, *, fix: str = FEATURES_FIX) -> int:
    """The last dimension of the sample's input ``key`` (the width a model's first layer takes)."""
    return int(model_input(sample, key, model, where="sample", fix=fix).shape[-1])


def batch_mask(batch: Mapping[str, Tensor], model: str) -> Tensor:
    """The batch's ``mask`` (batch, L) as float32."""
    return model_input(batch, "mask", model, where="batch").to(torch.float32)


def describe(value: Any) -> str:
    """The type (and shape, if any) of ``value``, for error messages."""
    shape = getattr(value, "shape", None)
    return f"{type(value).__name__} of shape {tuple(shape)}" if shape is not None else type(value).__name__


def require(model: str, option: str, ok: bool, expected: str, received: Any) -> None:
    """Raise a ConfigError naming ``option`` of ``model`` unless ``ok``."""
    if not ok:
        raise ConfigError(BAD_VALUE.format(arg=f"model_args.{option} of gait model {model!r}", expected=expected,
                                           received=repr(received), fix=BAD_OPTION_FIX))


def require_positive_ints(model: str, **values: Any) -> None:
    """Each keyword value must be a positive int (not a bool)."""
    for option, value in values.items():
        require(model, option, isinstance(value, int) and not isinstance(value, bool) and value > 0,
                "a positive integer", value)


def require_dropout(model: str, dropout: Any) -> None:
    """``dropout`` must be a number in [0, 1)."""
    ok = isinstance(dropout, (int, float)) and not isinstance(dropout, bool) and 0 <= dropout < 1
    require(model, "dropout", ok, "a number in [0, 1)", dropout)
