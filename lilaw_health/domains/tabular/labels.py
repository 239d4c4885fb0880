"""Matching a value written in the options to the text values of a column, as the user wrote it.

``data.positive_label`` and the groups of ``data.reference`` name values of the data. YAML
(recipes and ``--set key=value``) reads unquoted yes/no, on/off, true/false as booleans and
digits as numbers, while a column holds text ("yes", "Yes", "y") or numbers ("1", "1.0").
So a boolean matches its YAML 1.1 spellings (y/n, yes/no, true/false, on/off) in any case, a
number matches every value equal to it as a number, and text matches itself (or, in a column
pandas read as booleans, the boolean it spells).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

TRUE_SPELLINGS = frozenset({"y", "yes", "true", "on"})
FALSE_SPELLINGS = frozenset({"n", "no", "false", "off"})
BOOLEAN_TEXTS = frozenset({"True", "False"})  # how a column pandas read as booleans is written
YAML_BOOLEAN_NOTE = " (YAML reads unquoted yes/no, on/off and true/false as booleans)"
LISTED = 10


def spellings(value: Any, texts: Iterable[str]) -> list[str]:
    """The distinct values of ``texts`` (sorted) that spell ``value``; see the module docstring."""
    distinct = sorted(set(texts))
    if isinstance(value, (bool, np.bool_)):
        wanted = TRUE_SPELLINGS if value else FALSE_SPELLINGS
        return [t for t in distinct if t.lower() in wanted]
    if isinstance(value, (int, float, np.integer, np.floating)):
        return [t for t in distinct if _number(t) == float(value)]
    text = str(value)
    if text in distinct:
        return [text]
    if set(distinct) <= BOOLEAN_TEXTS and text.lower() in TRUE_SPELLINGS | FALSE_SPELLINGS:
        return spellings(text.lower() in TRUE_SPELLINGS, distinct)
    number = _number(text)
    if number is not None and all(_number(t) is not None for t in distinct):
        return [t for t in distinct if _number(t) == number]
    return []


def boolean_note(value: Any) -> str:
    """Said after a boolean value in a message: the user probably wrote yes/no or on/off."""
    return YAML_BOOLEAN_NOTE if isinstance(value, (bool, np.bool_)) else ""


def example(value: Any, texts: Sequence[str]) -> str:
    """The value of ``texts`` the user most likely meant: same text in another case, else the last."""
    folded = [t for t in texts if t.lower() == str(value).lower()]
    return folded[0] if folded else texts[-1]


def listing(values: Sequence[Any], limit: int = LISTED) -> str:
    """``values`` as a list for a message: the first ``limit``, then how many more."""
    shown = repr(list(values[:limit]))
    return shown if len(values) <= limit else f"{shown} and {len(values) - limit} more"


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return None if math.isnan(number) else number
