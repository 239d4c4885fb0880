"""Atomic writes and checkpoints that load without running code.

A crash never leaves a half-written file behind: every file is written to a temporary file
beside its target and renamed into place. The file gets the permissions a plain ``open``
would give it (``0666`` less the umask), so colleagues can read a shared run folder.

Checkpoints are loaded with ``torch.load(weights_only=True)``: a crafted ``.pt`` in a run
folder cannot execute code. They therefore hold only tensors and plain Python values; NumPy
arrays are stored as tagged tensors and restored as arrays on load (:func:`to_plain`,
:func:`from_plain`).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from lilaw_health.core.errors import InputError

NUMPY_TAG = "__numpy_array__"
CHECKPOINT_UNSAFE = (
    "checkpoint {path} holds objects other than tensors and plain values; lilaw_health refuses to unpickle "
    "it because that could run code. If you did not write it, delete it; to start this run over, rerun "
    "with --no-resume (or delete {folder})."
)
CHECKPOINT_UNREADABLE = (
    "checkpoint {path} cannot be read ({reason}); it is truncated or not a lilaw_health checkpoint. "
    "Rerun with --no-resume to start over, or delete {folder}."
)


def _file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _file_mode())  # mkstemp creates 0600 whatever the umask
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def to_plain(value: Any) -> Any:
    """``value`` with NumPy arrays as tagged tensors and NumPy scalars as Python scalars, so that
    ``torch.load(weights_only=True)`` can read it back."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"a checkpoint stores numeric arrays only; received dtype {value.dtype}")
        return {NUMPY_TAG: torch.from_numpy(np.ascontiguousarray(value))}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return _same_mapping(value, {key: to_plain(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return type(value)(to_plain(item) for item in value)
    return value


def _same_mapping(original: dict, items: dict) -> dict:
    """``items`` in ``original``'s mapping type, keeping a state dict's ``_metadata`` (module versions)."""
    out = type(original)(items)
    if hasattr(original, "_metadata"):
        out._metadata = original._metadata  # type: ignore[attr-defined]
    return out


def from_plain(value: Any) -> Any:
    """Inverse of :func:`to_plain`."""
    if isinstance(value, dict):
        if set(value) == {NUMPY_TAG}:
            return value[NUMPY_TAG].numpy()
        return _same_mapping(value, {key: from_plain(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return type(value)(from_plain(item) for item in value)
    return value


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    plain = to_plain(state)
    return atomic_write(path, lambda handle: torch.save(plain, handle))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`; never unpickles arbitrary objects."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "unsupported global" in str(error).lower():  # torch refused a callable outside its allow-list
            raise InputError(CHECKPOINT_UNSAFE.format(path=path, folder=path.parent.parent)) from None
        raise InputError(CHECKPOINT_UNREADABLE.format(path=path, reason="not a pickle torch can read",
                                                      folder=path.parent.parent)) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(CHECKPOINT_UNREADABLE.format(path=path, reason=reason, folder=path.parent.parent)) from None
    if not isinstance(state, dict):
        raise InputError(CHECKPOINT_UNREADABLE.format(path=path, reason=f"holds a {type(state).__name__}, not a "
                                                      "mapping", folder=path.parent.parent))
    return from_plain(state)
