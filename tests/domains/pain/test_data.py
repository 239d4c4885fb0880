"""The pain domain end to end: rendered frames in the clinical CSV and SynPAIN layouts -> real
MediaPipe faces -> subject-wise task data -> a mixed run with LiLAW's meta step on real frames."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lilaw_health.cli import main
from lilaw_health.core.errors import InputError, UnknownNameError
from lilaw_health.domains.pain.data import NEEDS, load_data

def test_demo_frames_become_structured_samples_split_by_subject(demo_root):
    data = load_data("demo", options=demo_root)
    x, y = data.train[0]
    assert x["image"].shape == (1, 112, 112) and x["landmarks"].shape == (468, 3) and y in (0, 1)
    assert 0 <= float(x["image"].min()) and float(x["image"].max()) <= 1
    assert not set(data.groups) & set(data.test_groups)  # no subject on both sides
    assert len(data.train) + len(data.test) <= 24 and set(data.sources) == {"real"}
    assert set(data.sensitive_test.columns) == {"age", "gender", "cohort"}
    assert {"identity", "age"} <= set(data.train_attributes.columns)
    assert any("faces:" in note for note in data.extras["notes"])


def test_pspi_target_is_a_regression_on_the_0_16_scale(demo_root):
    data = load_data("demo", options={**demo_root, "target": "pspi"})
    assert data.task == "regression" and data.target_range == (0.0, 16.0)
    targets = data.train.targets
    assert targets.dtype == np.float32 and targets.min() >= 0 and targets.max() <= 16


def test_reference_modes_pair_each_frame_with_a_neutral_face(demo_root):
    paired = load_data("demo", options={**demo_root, "reference": "neutral"})
    assert {"reference_image", "reference_landmarks"} <= set(paired.train[0][0])
    synpain = load_data("demo_synpain", options=demo_root)  # packed pairs: neutral left half as reference
    assert set(synpain.sources) == {"synpain"} and "reference_image" in synpain.train[0][0]
    single = load_data("demo_synpain", options={**demo_root, "reference": "none"})
    assert set(single.train[0][0]) == {"image", "landmarks"}


def test_bad_pain_data_options_are_named(demo_root):
    with pytest.raises(UnknownNameError, match="unknown pain dataset 'unbc_v2'"):
        load_data("unbc_v2", options={})
    with pytest.raises(InputError) as error:
        load_data("frames_csv", options={})
    assert str(error.value) == NEEDS.format(dataset="frames_csv", key="csv", what="the CSV describing the frames",
                                            example="frames.csv")
    with pytest.raises(InputError, match="data.fold must be a split index in 0..2"):
        load_data("demo", options={**demo_root, "fold": 7})
    with pytest.raises(InputError, match="unknown pain data option"):
        load_data("demo", options={**demo_root, "max_yawn": 10})


def test_a_mixed_pain_run_validates_on_real_frames_and_values_synthetic_identities(demo_root, tmp_path):
    out = tmp_path / "run"
    data = [f"data.{key}={value}" for key, value in demo_root.items()]
    code = main(["run", "pain_demo", "--out", str(out), "--quiet", "--set", *data, "epochs=2", "lilaw.warmup_epochs=1",
                 "model=landmarks", "batch_size=8", "data.reference=neutral", "augment=[]"])
    assert code == 0
    difficulty = pd.read_csv(out / "difficulty.csv", keep_default_na=False)
    assert set(difficulty["source"]) == {"real", "synpain"}
    assert set(difficulty.loc[difficulty["split"] == "val", "source"]) == {"real"}
    value = pd.read_csv(out / "synthetic_value.csv")
    assert {"identity", "gender", "race"} <= set(value.columns)
    metrics = json.loads((out / "metrics.json").read_text())
    assert "auroc" in metrics["test"] and metrics["groups"]
    assert "Data preparation" in (out / "report.md").read_text()


def test_unusable_frames_are_counted_and_reported_never_dropped_silently(demo_root, tmp_path):
    import shutil

    load_data("demo", options=demo_root)  # renders the clinical frames once (reused by the other tests)
    clinical = next(p for p in Path(demo_root["root"]).iterdir() if p.name.startswith("clinical"))
    copy = tmp_path / "frames"
    shutil.copytree(clinical, copy)
    table = pd.read_csv(copy / "frames.csv")
    truncated, blank = copy / table["path"][1], copy / table["path"][2]
    truncated.write_bytes(truncated.read_bytes()[:200])  # a cut-off download
    blank.write_bytes((copy / table["path"][3]).read_bytes())
    from PIL import Image

    Image.new("RGB", (160, 160), (128, 128, 128)).save(blank)  # no face in it
    data = load_data("frames_csv", options={"csv": str(copy / "frames.csv"), "k": 3, "cache": demo_root["cache"]})
    notes = " ".join(data.extras["notes"])
    assert "1 unreadable" in notes and "no_face" in notes
    assert len(data.train) + len(data.test) <= len(table) - 2
