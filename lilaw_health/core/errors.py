"""Error types and message templates.

Every message names the argument or file, what was expected, what was received and the
fix. Templates are module constants so that tests can assert each one.
"""

from __future__ import annotations


class LilawError(Exception):
    """Base class of every error raised on purpose by lilaw_health."""


class InputError(LilawError, ValueError):
    """An argument, array or file does not have the expected content."""


class ConfigError(LilawError, ValueError):
    """A recipe or override names an unknown key or holds a bad value."""


class UnknownNameError(LilawError, KeyError):
    """A name looked up in a registry does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message and add quotes
        return str(self.args[0]) if self.args else ""


UNKNOWN_NAME = "unknown {kind} {name!r}; valid names are: {valid}. {fix}"
LABELS_DTYPE = (
    "{arg} must hold integer class ids; received dtype {dtype}. "
    "Map labels to 0..n_classes-1 first (e.g. numpy.unique(y, return_inverse=True))."
)
LABELS_RANGE = (
    "{arg} must lie in [0, {n_classes}); received values in [{low}, {high}]. "
    "Check n_classes or remap the labels to contiguous ids."
)
NOT_FINITE = (
    "{arg} contains {count} non-finite values (NaN or inf), first at index {index}. "
    "Clean or impute the data, or lower the learning rate if this comes from training."
)
LENGTH_MISMATCH = (
    "{arg_a} and {arg_b} must have the same length; received {len_a} and {len_b}. "
    "Pass one label per sample."
)
SHAPE = "{arg} must have shape {expected}; received {received}. {fix}"
FILE_MISSING = "{what} not found: {path}. {fix}"


def unknown_name(kind: str, name: object, valid: list[str], fix: str = "") -> UnknownNameError:
    """Build the error for a name missing from a registry, listing the valid names."""
    listed = ", ".join(sorted(valid)) if valid else "(none registered)"
    return UnknownNameError(UNKNOWN_NAME.format(kind=kind, name=name, valid=listed, fix=fix).strip())


BAD_VALUE = "{arg} must be {expected}; received {received}. {fix}"
FILE_EMPTY = "{path} is empty; expected {expected}."
FILE_NOT_NUMBER = "{path}, line {line}, {position}: {value!r} is not a number. {fix}"
FILE_RAGGED = "{path}, line {line}: {count} values, expected {expected} as on line {first}. {fix}"
UNKNOWN_OPTIONS = "unknown {kind} option(s) {names}; valid: {valid}."
