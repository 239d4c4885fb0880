"""Checkpoints: load without running code, round-trip NumPy state exactly, honour the umask."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from lilaw_health.core.checkpoint import (
    CHECKPOINT_UNREADABLE, CHECKPOINT_UNSAFE, atomic_write_text, load_checkpoint, save_checkpoint,
)
from lilaw_health.core.errors import InputError


class _RunsCode:
    """Unpickling this touches a file: what a crafted checkpoint could do with any function."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_crafted_checkpoint_is_refused_without_running_its_code(tmp_path):
    marker, path = tmp_path / "pwned", tmp_path / "checkpoints" / "last.pt"
    path.parent.mkdir()
    torch.save({"model": _RunsCode(marker)}, path)
    with pytest.raises(InputError) as error:
        load_checkpoint(path)
    assert str(error.value) == CHECKPOINT_UNSAFE.format(path=path, folder=tmp_path)
    assert "--no-resume" in str(error.value)
    assert not marker.exists()


def test_numpy_state_round_trips_exactly(tmp_path):
    state = {"model": {"w": torch.randn(3, 2)}, "dynamics": {"w_alpha": [np.array([0.5, np.nan])],
                                                           "forgetting": np.arange(4), "seen": np.array([True, False])},
             "history": [{"epoch": 0, "score": np.float64(0.75)}], "keep": None, "pair": (1, "a")}
    save_checkpoint(tmp_path / "c.pt", state)
    loaded = load_checkpoint(tmp_path / "c.pt")
    torch.testing.assert_close(loaded["model"]["w"], state["model"]["w"])
    np.testing.assert_array_equal(loaded["dynamics"]["w_alpha"][0], [0.5, np.nan])
    assert loaded["dynamics"]["forgetting"].dtype == np.int64 and loaded["dynamics"]["seen"].dtype == bool
    assert loaded["history"] == [{"epoch": 0, "score": 0.75}] and type(loaded["history"][0]["score"]) is float
    assert loaded["keep"] is None and loaded["pair"] == (1, "a")


def test_a_model_state_dict_keeps_its_metadata(tmp_path):
    model = torch.nn.BatchNorm1d(3)
    save_checkpoint(tmp_path / "m.pt", {"model": model.state_dict()})
    loaded = load_checkpoint(tmp_path / "m.pt")["model"]
    assert loaded._metadata == model.state_dict()._metadata
    torch.nn.BatchNorm1d(3).load_state_dict(loaded)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated", b"not a checkpoint at all"])
def test_a_truncated_checkpoint_names_the_file_and_the_fix(tmp_path, content):
    path = tmp_path / "checkpoints" / "last.pt"
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"checkpoint .*last.pt cannot be read .*--no-resume"):
        load_checkpoint(path)
    assert CHECKPOINT_UNREADABLE.startswith("checkpoint {path} cannot be read")


def test_a_cut_off_real_checkpoint_is_named(tmp_path):
    path = tmp_path / "checkpoints" / "last.pt"
    save_checkpoint(path, {"model": {"w": torch.randn(50, 50)}})
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(InputError, match=r"last.pt cannot be read"):
        load_checkpoint(path)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_honour_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        written = [atomic_write_text(tmp_path / "a.txt", "x"), save_checkpoint(tmp_path / "b.pt", {"x": 1})]
    finally:
        os.umask(previous)
    for path in written:
        assert path.stat().st_mode & 0o777 == mode
    assert not list(tmp_path.glob(".*.tmp"))
