"""Options dataclasses from recipe mappings: the one place that checks option names and types.

The recipe (its sections), the ECG domain's ``data:`` options and the tabular domain's use
these two checks, so an unknown key or a value of the wrong type reads the same everywhere.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from lilaw_health.core.errors import BAD_VALUE, UNKNOWN_OPTIONS, InputError

T = TypeVar("T")

SCALAR_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def check_option_names(options: Mapping[Any, Any], cls: type, *, kind: str) -> None:
    """Refuse keys that are not fields of the options dataclass ``cls``, suggesting close names.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Options:
    ...     length: int = 1
    >>> check_option_names({"lenght": 3}, Options, kind="demo")
    Traceback (most recent call last):
    ...
    lilaw_health.core.errors.InputError: unknown demo option(s) ['lenght']; valid: length. Did you mean length?
    """
    valid = [f.name for f in fields(cls)]
    unknown = sorted((key for key in options if key not in valid), key=str)
    if not unknown:
        return
    close = sorted({match for key in unknown for match in difflib.get_close_matches(str(key), valid, n=1)})
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise InputError(UNKNOWN_OPTIONS.format(kind=kind, names=unknown, valid=", ".join(valid)) + hint)


def expected_type(cls: type, name: str, value: Any) -> str | None:
    """The annotation of field ``name`` when ``value`` does not fit it, else None.

    Scalar annotations (int, float, str, bool, and ``X | None``) are checked; a bool is not
    taken for a number, an int is taken for a float. Other annotations are left to the
    dataclass's own checks.
    """
    annotation = str(next(f.type for f in fields(cls) if f.name == name))
    if annotation.endswith(" | None"):
        if value is None:
            return None
        annotation = annotation.removesuffix(" | None")
    expected = SCALAR_TYPES.get(annotation)
    wrong_bool = isinstance(value, bool) and annotation in ("int", "float")
    return annotation if expected and (not isinstance(value, expected) or wrong_bool) else None


def as_annotated(cls: type, name: str, value: Any) -> Any:
    """``value`` converted to field ``name``'s type where YAML reads it otherwise (``lr: 1`` is an int)."""
    annotation = str(next(f.type for f in fields(cls) if f.name == name))
    return float(value) if annotation in ("float", "float | None") and value is not None else value


def options_from_mapping(cls: type[T], options: Mapping[str, Any] | None, *, kind: str) -> T:
    """``cls(**options)`` after checking the names (:func:`check_option_names`) and the scalar types
    (:func:`expected_type`) of a recipe's ``data:`` mapping, every error naming ``data.<key>``."""
    options = dict(options or {})
    check_option_names(options, cls, kind=kind)
    for name, value in options.items():
        expected = expected_type(cls, name, value)
        if expected is not None:
            raise InputError(BAD_VALUE.format(arg=f"data.{name}", expected=expected, received=repr(value), fix=""))
    return cls(**options)
