"""A small name -> object registry, as timm registers models and fairlearn metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from lilaw_health.core.errors import unknown_name

T = TypeVar("T")


class Registry(Generic[T]):
    """Map names to objects; an unknown name raises an error listing the valid ones.

    Parameters
    ----------
    kind : str
        What is registered ("method", "model", ...), used in error messages.
    fix : str, optional
        A hint appended to the unknown-name error.

    Examples
    --------
    >>> losses = Registry("loss")
    >>> @losses.register("double")
    ... def double(x):
    ...     return 2 * x
    >>> losses.get("double")(3)
    6
    """

    def __init__(self, kind: str, *, fix: str = "") -> None:
        self.kind = kind
        self.fix = fix
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that stores the decorated object under ``name``."""

        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        if name in self._items and self._items[name] is not obj:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise unknown_name(self.kind, name, list(self._items), self.fix) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
