"""Peak memory of a block of code (a training run), for the cost table of ``compare``.

What is measured depends on where the tensors live, and says so in ``PeakMemory.measure``:

- ``cuda_max_allocated``: on a CUDA device, ``torch.cuda.max_memory_allocated`` (tensor memory
  of the caching allocator, exact), minus what was allocated at entry.
- ``heap_in_use``: on the CPU with glibc, the bytes malloc has handed out and not taken back
  (``mallinfo2``: ``uordblks + hblkhd``), sampled by a background thread, peak minus the
  level at entry. PyTorch allocates CPU tensors with malloc, so this sees them (tracemalloc
  does not); unlike the resident set size it does not keep counting memory that was freed
  but kept by the allocator, so runs in one process do not mask each other. A spike shorter
  than the sampling interval can be missed.
- ``rss``: elsewhere, the process's resident set size from psutil, if installed, sampled
  likewise (it includes memory freed but kept by the allocator).
- ``unavailable``: none of these; ``peak_mb`` is NaN.

A process's first optimiser step imports torch._dynamo and sympy (about 23 MiB of Python
modules); :class:`PeakMemory` takes one tiny Adam step before its first measurement, so the
first run measured in a process is not charged for them.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from types import TracebackType

import torch

MIB = 2**20
_warmed_up = False


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


def _heap_in_use() -> Callable[[], int] | None:
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError, TypeError):  # not glibc >= 2.33 (macOS, Windows, musl)
        return None
    mallinfo2.restype = _MallInfo2

    def read() -> int:
        info = mallinfo2()
        return int(info.uordblks + info.hblkhd)

    return read


def _rss() -> Callable[[], int] | None:
    try:
        import psutil
    except ImportError:
        return None
    process = psutil.Process()
    return lambda: int(process.memory_info().rss)


def _warm_up() -> None:
    """Trigger the lazy imports of a first optimiser step, once per process."""
    global _warmed_up
    if not _warmed_up:
        weight = torch.zeros(1, requires_grad=True)
        weight.sum().backward()
        torch.optim.Adam([weight]).step()
        _warmed_up = True


class PeakMemory:
    """Context manager measuring the peak memory of its block above the level at entry.

    Parameters
    ----------
    device : torch.device or str
        Where the block's tensors live ("cpu", "cuda", "cuda:1", ...).
    interval : float
        Seconds between samples on the CPU (2 ms by default).

    Attributes
    ----------
    peak_mb : float
        Peak minus the level at entry, in MiB (NaN before exit or when unavailable).
    measure : str
        What was measured (see the module docstring).

    Examples
    --------
    >>> with PeakMemory("cpu") as memory:
    ...     block = torch.ones(2**22)  # 16 MiB
    >>> memory.measure in ("heap_in_use", "rss", "unavailable")
    True
    """

    def __init__(self, device: torch.device | str = "cpu", *, interval: float = 0.002) -> None:
        self.device = torch.device(device)
        self.interval = interval
        self.peak_mb = float("nan")
        self.measure = "unavailable"
        self._read: Callable[[], int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = self._peak = 0

    def __enter__(self) -> PeakMemory:
        _warm_up()
        if self.device.type == "cuda":
            self.measure = "cuda_max_allocated"
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
            return self
        for measure, reader in (("heap_in_use", _heap_in_use), ("rss", _rss)):
            self._read = reader()
            if self._read is not None:
                self.measure = measure
                break
        if self._read is not None:
            self._start = self._peak = self._read()
            self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        assert self._read is not None
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, self._read())

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self.measure == "cuda_max_allocated":
            self.peak_mb = (torch.cuda.max_memory_allocated(self.device) - self._start) / MIB
        elif self._read is not None and self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, self._read())
            self.peak_mb = (self._peak - self._start) / MIB
