"""PeakMemory sees CPU tensors (which tracemalloc cannot) and says what it measured."""

from __future__ import annotations

import math
import time

import torch

from lilaw_health.core import PeakMemory


def test_peak_memory_sees_a_tensor_held_for_a_while():
    with PeakMemory("cpu", interval=0.001) as memory:
        block = torch.ones(2**22)  # 16 MiB
        time.sleep(0.05)
        del block
        time.sleep(0.01)
    if memory.measure == "unavailable":
        assert math.isnan(memory.peak_mb)
        return
    assert memory.measure in ("heap_in_use", "rss")
    assert 15.5 < memory.peak_mb < 40


def test_nothing_allocated_is_near_zero():
    with PeakMemory("cpu") as memory:
        time.sleep(0.01)
    assert memory.measure == "unavailable" or abs(memory.peak_mb) < 4
