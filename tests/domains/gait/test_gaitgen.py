"""The GAITGen loader: its pickle behind the opt-in, the pickle-free .npz export, and every bad entry."""

from __future__ import annotations

import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest

from lilaw_health.core.errors import InputError
from lilaw_health.domains.gait import gaitgen
from lilaw_health.domains.gait.formats import PICKLE_REFUSED
from lilaw_health.domains.gait.generate import write_gaitgen


def _error(call, *args, **kwargs) -> str:
    with pytest.raises(InputError) as error:
        call(*args, **kwargs)
    return str(error.value)


class _TouchesAFile:
    """Unpickling this creates ``marker``: the stand-in for code a pickle could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_gaitgen_npz_and_pickle_hold_the_same_walks(tmp_path):
    truth = write_gaitgen(tmp_path / "a" / "gaitgen.npz", n_walks=6, seed=1, min_len=30, max_len=50)
    write_gaitgen(tmp_path / "b" / "gaitgen.pkl", n_walks=6, seed=1, min_len=30, max_len=50, format="pickle")
    from_npz = gaitgen.load_gaitgen(tmp_path / "a" / "gaitgen.npz")
    from_pickle = gaitgen.load_gaitgen(tmp_path / "b" / "gaitgen.pkl", trust_pickle=True, source="gg")
    assert from_npz.table["seq_id"].tolist() == truth["name"].tolist() == from_pickle.table["seq_id"].tolist()
    assert from_npz.table["score"].tolist() == truth["given_score"].tolist()
    assert from_pickle.table["subject"].iloc[0] == f"gg/{truth['name'][0]}"
    assert set(from_npz.table["split"]) == {"train"}
    assert all(np.array_equal(a, b) for a, b in zip(from_npz.sequences, from_pickle.sequences))
    converted = gaitgen.convert_gaitgen(tmp_path / "b" / "gaitgen.pkl", tmp_path / "b" / "converted.npz")
    assert all(np.array_equal(a, b) for a, b in zip(gaitgen.load_gaitgen(converted).sequences, from_npz.sequences))


def test_a_pickle_is_refused_without_the_opt_in_and_runs_nothing(tmp_path):
    marker, path = tmp_path / "pwned.txt", tmp_path / "gaitgen.pkl"
    path.write_bytes(pickle.dumps({"walk": {"feat_data": _TouchesAFile(marker), "updrs_score": 1}}))
    fix = gaitgen.GAITGEN_PICKLE_FIX.format(path=str(path), npz=str(tmp_path / "gaitgen.npz"))
    assert _error(gaitgen.load_gaitgen, path) == PICKLE_REFUSED.format(path=path, fix=fix)
    assert "convert_gaitgen(" in fix and not marker.exists()
    with pytest.raises(InputError):  # trusted, it runs (the payload is live), then the entry is refused
        gaitgen.load_gaitgen(path, trust_pickle=True)
    assert marker.exists()


def test_a_list_of_entries_is_read_and_bad_entries_are_refused(tmp_path):
    path = tmp_path / "list.pkl"
    joblib.dump([{"feat_data": np.zeros((40, 263)), "updrs_score": np.int64(2)}] * 2, path)
    walks = gaitgen.load_gaitgen(path, trust_pickle=True)
    assert walks.table["seq_id"].tolist() == ["entry_0", "entry_1"] and walks.table["score"].tolist() == [2, 2]
    joblib.dump({"w": {"feat_data": np.zeros((40, 263)), "updrs_score": 5}}, path)
    assert _error(gaitgen.load_gaitgen, path, trust_pickle=True) == gaitgen.GAITGEN_ENTRY.format(
        path=path, name="w", problem="has updrs_score 5")
    joblib.dump({"w": {"feat_data": np.zeros((40, 66)), "updrs_score": 1}}, path)
    assert _error(gaitgen.load_gaitgen, path, trust_pickle=True) == gaitgen.GAITGEN_ENTRY.format(
        path=path, name="w", problem="has feat_data of shape (40, 66) (float64)")


def test_npz_is_read_without_pickle_and_checked(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, names=np.array(["a"], dtype=object), score=np.array([1]), feat_0=np.zeros((40, 263)))
    message = _error(gaitgen.load_gaitgen, path)
    assert message.startswith(f"{path}: it cannot be read without pickle (") and "convert_gaitgen" in message
    np.savez(path, names=np.array(["a", "b"]), score=np.array([1, 2]), feat_0=np.zeros((40, 263)))
    assert _error(gaitgen.load_gaitgen, path) == gaitgen.GAITGEN_NPZ.format(path=path, problem="no array feat_1")
    short = gaitgen.write_gaitgen_npz(tmp_path / "short.npz", ["a", "b"], [0, 3], [np.zeros((40, 263)),
                                                                                   np.zeros((10, 263))])
    assert gaitgen.load_gaitgen(short).report.too_short == ["b"]
