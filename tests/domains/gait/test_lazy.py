"""Walks read one file per access (data.lazy): the same training as in memory, bit for bit; no
walk read before it is used; a missing or corrupt walk file named with its fix."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.cli import main
from lilaw_health.core.errors import InputError
from lilaw_health.core.lazy import ITEM_UNREADABLE, LazyDataset
from lilaw_health.domains.gait.data import load_data
from lilaw_health.domains.gait.formats import FEATURES_SHAPE, features_frames
from lilaw_health.domains.gait import gaitgen
from lilaw_health.domains.gait.lazy import NOT_FINITE, NPZ_WALK_FIX, WALK_FIX
from lilaw_health.recipe import load_recipe
from lilaw_health.splits import prepare_splits

SMALL = {"subjects": 6, "walks_per_subject": 3, "synthetic_walks": 12, "max_frames": 60}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return {**SMALL, "root": str(tmp_path_factory.mktemp("gait_lazy"))}


class CountingReader:
    """The dataset's own reader, counting the walks it reads."""

    def __init__(self, reader):
        self.reader, self.reads = reader, []

    def __call__(self, key):
        self.reads.append(key.path)
        return self.reader(key)


def test_lazy_walks_are_the_in_memory_walks_and_are_read_only_on_access(demo):
    eager = load_data("demo", options={**demo, "mirror_files": True})
    lazy = load_data("demo", options={**demo, "mirror_files": True, "lazy": True})
    assert isinstance(lazy.train, LazyDataset) and lazy.input_shape == eager.input_shape
    counter = CountingReader(lazy.train.reader)
    lazy.train.reader = counter
    recipe = load_recipe("gait_demo", overrides=["mix.dataset=", "val_fraction=0.3"])
    splits = prepare_splits(lazy, recipe)
    assert counter.reads == []  # labels, ids, subjects and the split come from the index
    x, _ = splits.train.base[int(splits.train.indices[0])]
    assert counter.reads == [lazy.train.keys[int(splits.train.indices[0])].path]
    for i in range(len(eager.train)):
        ours, theirs = lazy.train[i][0], eager.train[i][0]
        assert list(ours) == list(theirs) and all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_gaitgen_npz_walks_are_read_per_access_as_in_memory(demo):
    eager = load_data("demo_gaitgen", options=demo)
    lazy = load_data("demo_gaitgen", options={**demo, "lazy": True})
    assert isinstance(lazy.train, LazyDataset) and len(lazy.train) == len(eager.train) == SMALL["synthetic_walks"]
    assert all(key.path.endswith("gaitgen.npz") and key.member == f"feat_{i}" for i, key in enumerate(lazy.train.keys))
    counter = CountingReader(lazy.train.reader)
    lazy.train.reader = counter
    assert counter.reads == []
    for i in range(len(eager.train)):
        ours, theirs = lazy.train[i][0], eager.train[i][0]
        assert list(ours) == list(theirs) and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert len(counter.reads) == len(eager.train)


def test_a_bad_walk_in_a_gaitgen_npz_is_named_when_read(tmp_path, caplog):
    walks = [np.zeros((40, 263)), np.full((40, 263), np.nan), np.zeros((10, 263)), np.ones((50, 263))]
    path = gaitgen.write_gaitgen_npz(tmp_path / "walks.npz", ["a", "b", "c", "d"], [0, 1, 2, 3], walks)
    eager = load_data("gaitgen", options={"path": str(path), "max_frames": 60})
    lazy = load_data("gaitgen", options={"path": str(path), "max_frames": 60, "lazy": True})
    assert eager.train.sample_ids == ["a", "d"]  # non-finite and too-short walks dropped at load
    assert lazy.train.sample_ids == ["a", "b", "d"]  # the index sees lengths, not values
    with pytest.raises(InputError) as error:
        lazy.train[1]
    assert str(error.value) == NOT_FINITE.format(path=f"{path} (feat_1)")
    assert torch.equal(lazy.train[2][0]["features"], eager.train[1][0]["features"])
    moved = path.rename(tmp_path / "moved.npz")
    gaitgen._open_npz.cache_clear()  # a file opened before it moved stays readable, as on any system
    with pytest.raises(InputError) as error:
        lazy.train[0]
    assert str(path) in str(error.value) and "feat_0" in str(error.value) and str(error.value).endswith(NPZ_WALK_FIX)
    moved.rename(path)
    broken = gaitgen.write_gaitgen_npz(tmp_path / "broken.npz", ["a"], [0], [np.zeros((40, 12))])
    with pytest.raises(InputError, match=r"broken\.npz: entry 'feat_0' has feat_data of shape \(40, 12\)"):
        load_data("gaitgen", options={"path": str(broken), "lazy": True})


def test_a_gaitgen_pickle_is_read_into_memory_even_when_lazy(tmp_path, caplog):
    import joblib

    path = tmp_path / "walks.pkl"
    joblib.dump({"a": {"feat_data": np.zeros((40, 263)), "updrs_score": 1}}, path)
    with caplog.at_level("INFO"):
        data = load_data("gaitgen", options={"path": str(path), "trust_pickle": True, "lazy": True})
    assert not isinstance(data.train, LazyDataset) and len(data.train) == 1
    assert "was read into memory" in caplog.text


@pytest.mark.parametrize("method", ["erm", "lilaw"])
def test_a_lazy_run_trains_exactly_as_the_in_memory_run(demo, tmp_path, method):
    """Real walks and GAITGen walks read per access (in a DataLoader worker), against both in memory."""
    options = [f"data.{key}={value}" for key, value in demo.items()]
    common = ["--quiet", "--set", *options, f"method={method}", "epochs=2", "lilaw.warmup_epochs=1", "batch_size=8",
              "val_fraction=0.3", "min_steps=0"]
    assert main(["run", "gait_demo", "--out", str(tmp_path / "eager"), *common]) == 0
    assert main(["run", "gait_demo", "--out", str(tmp_path / "lazy"), *common, "data.lazy=true", "workers=1"]) == 0
    tables = [pd.read_csv(tmp_path / run / "difficulty.csv", keep_default_na=False) for run in ("eager", "lazy")]
    assert len(tables[0]) > 0 and set(tables[0]["source"]) == {"real", "gaitgen"}
    # the synthetic walks' distance to the real ones needs every real walk in memory: unknown when lazy
    assert (tables[1]["real_distance"].loc[tables[1]["source"] == "gaitgen"] == "").all()
    same = [column for column in tables[0] if column != "real_distance"]
    pd.testing.assert_frame_equal(tables[0][same], tables[1][same], check_exact=True)


def test_a_missing_or_corrupt_walk_file_is_named_with_its_fix(tmp_path):
    data = load_data("demo", options={**SMALL, "root": str(tmp_path), "lazy": True})  # its own files, to damage
    keys = data.train.keys
    os.remove(keys[0].path)
    with pytest.raises(InputError) as error:
        data.train[0]
    head = ITEM_UNREADABLE.format(index=0, sample_id=data.train.sample_ids[0], key=keys[0], error="", fix="")
    assert str(error.value).startswith(head.rstrip(". ")) and str(error.value).endswith(WALK_FIX)
    assert keys[0].path in str(error.value)
    with open(keys[1].path, "r+b") as handle:
        handle.truncate(60)
    with pytest.raises(InputError) as error:
        data.train[1]
    head, tail = FEATURES_SHAPE.format(path=keys[1].path, shape="SHAPE").split("SHAPE")
    assert str(error.value).startswith(head) and str(error.value).endswith(tail)
    np.save(keys[2].path, np.full((80, 263), np.nan, dtype=np.float32))
    with pytest.raises(InputError) as error:
        data.train[2]
    assert str(error.value) == NOT_FINITE.format(path=keys[2].path)


def _npy(frames: int) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.zeros((frames, 263), dtype=np.float32))
    return buffer.getvalue()


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(st.one_of(st.binary(max_size=300), st.integers(0, 400).map(lambda cut: _npy(5)[:cut]),
                 st.binary(max_size=60).map(lambda tail: _npy(3)[:128] + tail)))
def test_a_broken_npy_header_is_refused_naming_the_file(content):
    """The lazy index reads each walk's .npy header only: a broken file gives its frame count or
    an InputError naming it, never another exception."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "walk.npy"
        path.write_bytes(content)
        try:
            frames = features_frames(path)
        except InputError as error:
            assert str(path) in str(error)
        else:
            assert frames >= 0 and content.startswith(b"\x93NUMPY")
