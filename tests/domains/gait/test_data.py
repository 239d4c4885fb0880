"""The gait domain end to end: generated PD-GaM and GAITGen layouts -> subject-wise task data ->
a mixed run with LiLAW's meta step on real walks, per-subject results and severity valuation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lilaw_health.cli import main
from lilaw_health.core.errors import InputError, UnknownNameError
from lilaw_health.domains.gait.data import NEEDS, load_data
from lilaw_health.domains.gait.evaluate import per_subject

SMALL = {"subjects": 6, "walks_per_subject": 3, "synthetic_walks": 12, "max_frames": 60}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return {**SMALL, "root": str(tmp_path_factory.mktemp("gait_demo"))}


def test_demo_walks_become_masked_sequences_split_by_subject(demo):
    data = load_data("demo", options=demo)
    x, y = data.train[0]
    assert x["features"].shape == (60, 263) and x["mask"].shape == (60,) and x["joints"].shape == (60, 22, 3)
    assert float(x["mask"][0]) == 1 and y in (0, 1, 2, 3)
    assert float((x["joints"] * (1 - x["mask"])[:, None, None]).abs().sum()) == 0  # padding stays zero
    assert not set(data.groups) & set(data.test_groups)
    assert set(data.sources) == {"real"} and "severity" in data.train_attributes
    assert any("too_short" in note for note in data.extras["notes"])  # the generator's short walks, counted


def test_gaitgen_walks_are_training_walks_normalised_like_the_real_ones(demo):
    synthetic = load_data("demo_gaitgen", options=demo)
    assert len(synthetic.test) == 0 and set(synthetic.sources) == {"gaitgen"}
    features = np.stack([synthetic.train[i][0]["features"].numpy() for i in range(len(synthetic.train))])
    assert abs(float(features.mean())) < 1.0  # normalised with the real set's Mean/Std, not raw metres


def test_loso_never_puts_a_subject_on_both_sides(demo):
    for fold in range(3):
        data = load_data("demo", options={**demo, "scheme": "loso", "fold": fold})
        assert set(data.test_groups) and len(set(data.test_groups)) == 1
        assert not set(data.groups) & set(data.test_groups)


def test_bad_gait_options_are_named(demo):
    with pytest.raises(UnknownNameError, match="unknown gait dataset 'pdgam'"):
        load_data("pdgam", options={})
    with pytest.raises(InputError) as error:
        load_data("gaitgen", options={})
    assert str(error.value) == NEEDS.format(dataset="gaitgen", key="path", what="the file to read",
                                            example="walks.npz")
    with pytest.raises(InputError, match="data.scheme must be one of given, kfold, loso"):
        load_data("demo", options={**demo, "scheme": "random"})


def test_per_subject_results_average_a_subjects_walks():
    proba = np.array([[0.6, 0.4, 0, 0], [0.2, 0.8, 0, 0], [0, 0, 0.9, 0.1]])
    table = per_subject(np.array([1, 1, 2]), proba, np.array(["a", "a", "b"]))
    assert table["predicted"].tolist() == [1, 2] and table["walks"].tolist() == [2, 1]


def test_a_mixed_gait_run_validates_on_real_walks(demo, tmp_path):
    out = tmp_path / "run"
    data = [f"data.{key}={value}" for key, value in demo.items()]
    code = main(["run", "gait_demo", "--out", str(out), "--quiet", "--set", *data, "epochs=2",
                 "lilaw.warmup_epochs=1", "batch_size=8", "val_fraction=0.3"])
    assert code == 0
    difficulty = pd.read_csv(out / "difficulty.csv", keep_default_na=False)
    assert set(difficulty["source"]) == {"real", "gaitgen"}
    assert set(difficulty.loc[difficulty["split"] == "val", "source"]) == {"real"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"macro_f1_0_2", "subject_macro_f1"} <= set(metrics["domain"]["summary"])
    assert (out / "subjects.csv").exists()
    value = pd.read_csv(out / "synthetic_value.csv")
    assert "severity" in value and any(row["attribute"] == "severity" for row in metrics["synthetic"]["by_attribute"])


def test_user_embeddings_feed_the_mlp_head(demo, tmp_path):
    from lilaw_health.domains.gait.data import EMBEDDINGS
    from lilaw_health.domains.gait.models import build_model

    walks = load_data("demo", options=demo)
    ids = [*walks.train.sample_ids, *walks.test.sample_ids]
    path = tmp_path / "emb.npz"
    np.savez(path, ids=np.array(ids), embedding=np.random.default_rng(0).normal(size=(len(ids), 16)))
    data = load_data("demo", options={**demo, "embeddings": str(path)})
    assert data.train[0][0]["embedding"].shape == (16,)
    model = build_model("mlp_head", data=data, options={})
    batch = {key: value[None] for key, value in data.train[0][0].items()}
    assert model(batch).shape == (1, 4)
    np.savez(path, ids=np.array(ids[:-1]), embedding=np.zeros((len(ids) - 1, 16)))
    with pytest.raises(InputError) as error:
        load_data("demo", options={**demo, "embeddings": str(path)})
    assert str(error.value) == EMBEDDINGS.format(path=path, problem=f"1 walks have no embedding (first {ids[-1]!r})")


def test_mirror_files_give_each_walk_its_mirrored_copy(demo):
    import torch

    from lilaw_health.domains.gait.augment import mirror

    data = load_data("demo", options={**demo, "mirror_files": True})
    x, _ = data.train[0]
    assert x["mirror_features"].shape == x["features"].shape
    batch = {k: v[None] for k, v in x.items() if k in ("features", "mask")}
    computed = mirror(batch, generator=torch.Generator(), p=1.0, feature_mean=data.extras["feature_mean"],
                      feature_std=data.extras["feature_std"])["features"][0]
    real = x["mask"].bool()
    # the generator's _M file is the mirrored joints re-encoded; the computed mirror agrees with it
    assert np.allclose(computed[real].numpy(), x["mirror_features"][real].numpy(), atol=1e-3)
