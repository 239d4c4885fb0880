"""Frames read from the face cache per access (data.lazy): the in-memory samples bit for bit, the
same training, and a missing face cache file named with its fix."""

from __future__ import annotations

import os

import pandas as pd
import pytest
import torch

from lilaw_health.cli import main
from lilaw_health.core.errors import InputError
from lilaw_health.core.lazy import LazyDataset
from lilaw_health.domains.pain.data import load_data
from lilaw_health.domains.pain.lazy import FACE_RECORD

def test_lazy_frames_are_the_in_memory_frames(demo_root):
    for dataset in ("demo", "demo_synpain"):  # single frames; packed pairs with a neutral reference
        eager = load_data(dataset, options=demo_root)
        lazy = load_data(dataset, options={**demo_root, "lazy": True})
        assert isinstance(lazy.train, LazyDataset) and lazy.input_shape == eager.input_shape
        assert lazy.train.sample_ids == eager.train.sample_ids and (lazy.train.targets == eager.train.targets).all()
        counted = [[note for note in data.extras["notes"] if "read from the cache" not in note] for data in (eager, lazy)]
        assert counted[0] == counted[1]  # the same frames left out, for the same reasons
        for split in ("train", "test"):
            for i in range(len(getattr(eager, split))):
                ours, theirs = getattr(lazy, split)[i][0], getattr(eager, split)[i][0]
                assert list(ours) == list(theirs) and all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_a_lazy_pain_run_trains_exactly_as_the_in_memory_run(demo_root, tmp_path):
    options = [f"data.{key}={value}" for key, value in demo_root.items()]
    common = ["--quiet", "--set", *options, "epochs=2", "lilaw.warmup_epochs=1", "model=landmarks", "batch_size=8",
              "data.reference=neutral", "augment=[]", "min_steps=0"]
    assert main(["run", "pain_demo", "--out", str(tmp_path / "eager"), *common]) == 0
    assert main(["run", "pain_demo", "--out", str(tmp_path / "lazy"), *common, "data.lazy=true"]) == 0
    tables = [pd.read_csv(tmp_path / run / "difficulty.csv", keep_default_na=False) for run in ("eager", "lazy")]
    assert set(tables[0]["source"]) == {"real", "synpain"}
    same = [column for column in tables[0] if column != "real_distance"]  # unknown for data not in memory
    pd.testing.assert_frame_equal(tables[0][same], tables[1][same], check_exact=True)


def test_a_missing_face_cache_file_is_named_with_its_fix(demo_root, tmp_path):
    options = {**demo_root, "cache": str(tmp_path / "faces"), "lazy": True}
    data = load_data("demo", options=options)
    path = data.train.keys[0].record
    os.remove(path)
    with pytest.raises(InputError) as error:
        data.train[0]
    assert str(error.value) == FACE_RECORD.format(path=path, problem="no such file")
