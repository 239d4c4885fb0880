"""Test-wide settings: the tests train tiny networks, which run faster on one thread (and much
faster than two threads per process on a busy 2-core machine).

Some tests need a fresh interpreter (what importing a module pulls in; mypy), each spending
seconds importing torch. A module lists those commands in ``FRESH_INTERPRETERS`` (argument
tuples for ``python``, with an optional working directory); once collection is done they start
one at a time on a background thread, so they run on the second core while the in-process tests
run, and the ``fresh_interpreter`` fixture hands each test its command's finished result.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

Command = tuple[tuple[str, ...], str | None]


class FreshInterpreters:
    """``python <args>`` commands, each run once in its own interpreter, one at a time."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fresh-interpreter")
        self._runs: dict[Command, Future[subprocess.CompletedProcess[str]]] = {}

    def start(self, args: Sequence[str], cwd: str | Path | None = None) -> Future[subprocess.CompletedProcess[str]]:
        key = (tuple(args), None if cwd is None else str(cwd))
        if key not in self._runs:
            self._runs[key] = self._pool.submit(subprocess.run, [sys.executable, *key[0]], cwd=key[1],
                                                capture_output=True, text=True, check=False)
        return self._runs[key]

    def run(self, args: Sequence[str], cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
        """The finished command (started now if no module listed it)."""
        return self.start(args, cwd).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


_INTERPRETERS = FreshInterpreters()


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    for module in dict.fromkeys(getattr(item, "module", None) for item in session.items):
        for command in getattr(module, "FRESH_INTERPRETERS", ()):
            _INTERPRETERS.start(*command)


def pytest_sessionfinish(session: pytest.Session) -> None:
    _INTERPRETERS.close()


@pytest.fixture(scope="session")
def fresh_interpreter() -> FreshInterpreters:
    return _INTERPRETERS


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
