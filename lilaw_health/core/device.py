"""Where the model computes and in what precision: the ``device`` and ``amp`` keys of
:class:`~lilaw_health.core.trainer.TrainConfig`.

``device``: ``auto`` (the default) trains on CUDA when PyTorch sees a GPU and on the CPU
otherwise; ``cpu``; ``cuda`` or ``cuda:<index>``, refused with a clear error where CUDA is not
available (so a recipe asking for a GPU never falls back silently). Under ``torchrun`` each
process takes the GPU ``LOCAL_RANK`` (:func:`~lilaw_health.core.distributed.local_device`).

``amp``, mixed precision for the model step on CUDA (float16 autocast with a gradient scaler):
``auto`` turns it on for a CUDA device and leaves the CPU in float32; ``on`` asks for it and is
refused on the CPU (CPU autocast would run bfloat16, slower than float32 on most CPUs and a
different computation from the float32 runs every shipped result comes from); ``off`` trains
in float32 everywhere. With it off nothing here runs, so a CPU run executes exactly the float32
code it always did.

What runs in float16: the model's forward passes (training, LiLAW's no-grad forward of the
meta batch, prediction). What stays in float32: the model's outputs are cast back before any
loss is formed, so per-sample losses, LiLAW's weights, the training dynamics and the
validation scores are float32 computations; and LiLAW's meta step (its three scalars, their
gradients and the update) runs with autocast switched off. The scalars cannot live in float16:
a meta update is ``lr * grad`` = 0.005 times a gradient of order 1e-3 to 1, while float16 has
10 bits of mantissa, so near alpha = 10 it resolves steps of 0.0078 only and most updates would
round away; nor do they pass through the gradient scaler, which serves the model optimiser.

The gradient scaler multiplies the model loss before ``backward`` so that small float16
gradients do not underflow, skips a step whose gradients overflowed and adapts the scale.
The model optimiser is fused Adam then, which reads the scaler's overflow flag on the device:
the unfused step would read it on the host every step.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager

import torch
from torch import Tensor

from lilaw_health.core.errors import ConfigError

CUDA_UNAVAILABLE = ("device={name}: CUDA is not available here ({why}). Train on the CPU with device=cpu, or "
                    "device=auto to use a GPU only when there is one.")
BAD_DEVICE = "device must be auto, cpu, cuda or cuda:<index>; received {name!r}."
AMP_MODES = ("auto", "on", "off")
AMP_DTYPE = torch.float16
AMP_NEEDS_CUDA = ("amp=on trains in mixed precision (float16 autocast and a gradient scaler), which needs a CUDA "
                  "device; this run trains on {device}. Use amp=auto (mixed precision on CUDA, float32 on the CPU) "
                  "or amp=off.")
BAD_AMP = "amp must be one of {modes}; received {received!r}. auto: mixed precision on CUDA, float32 on the CPU."


def parse_device(name: str) -> torch.device:
    """The device ``name`` means, without checking that it exists here (``auto`` reads as the CPU)."""
    try:
        return torch.device("cpu" if name == "auto" else name)
    except (RuntimeError, TypeError):
        raise ConfigError(BAD_DEVICE.format(name=name)) from None


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else the CPU; an unavailable CUDA device is refused."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = parse_device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = "this PyTorch has no CUDA support" if torch.version.cuda is None else "no GPU is visible"
            raise ConfigError(CUDA_UNAVAILABLE.format(name=name, why=why))
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(CUDA_UNAVAILABLE.format(name=name, why=f"only {torch.cuda.device_count()} GPU(s)"))
    elif device.type != "cpu":
        raise ConfigError(BAD_DEVICE.format(name=name))
    return device


def check_amp_mode(mode: str) -> None:
    """Refuse an unknown ``amp`` value (before any device is chosen)."""
    if mode not in AMP_MODES:
        raise ConfigError(BAD_AMP.format(modes=", ".join(AMP_MODES), received=mode))


def use_amp(mode: str, device: torch.device) -> bool:
    """Whether the model step on ``device`` runs in mixed precision; ``on`` off CUDA is refused."""
    check_amp_mode(mode)
    if mode == "on" and device.type != "cuda":
        raise ConfigError(AMP_NEEDS_CUDA.format(device=device))
    return device.type == "cuda" and mode != "off"


def autocast(device: torch.device, enabled: bool) -> AbstractContextManager[object]:
    """float16 autocast on ``device`` when ``enabled``; a context that does nothing otherwise."""
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPE)


def without_autocast(device: torch.device) -> AbstractContextManager[object]:
    """Autocast switched off on ``device`` for the enclosed code (float32 maths inside an autocast
    region); a context that does nothing when no autocast is active."""
    if not torch.is_autocast_enabled(device.type):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, enabled=False)


def full_precision(outputs: Tensor) -> Tensor:
    """``outputs`` in float32 if autocast produced them in half precision; themselves otherwise
    (float32 or float64 outputs are never changed)."""
    return outputs.float() if outputs.dtype in (torch.float16, torch.bfloat16) else outputs


def grad_scaler(enabled: bool) -> torch.amp.GradScaler | None:
    """The model optimiser's gradient scaler in mixed precision; None in float32."""
    return torch.amp.GradScaler("cuda") if enabled else None
