"""Synthetic samples given as data: a loader's source column (tabular CSV), a synthetic dataset of
the same domain (``mix.dataset``: a UCR folder of generated beats beside the real ECG5000),
subject-wise validation splits, and the refusals (classes, shape, ratio, unknown source)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.cli import main
from lilaw_health.core.data import ArrayDataset, TaskData, group_split
from lilaw_health.core.errors import InputError
from lilaw_health.core.sources import MISMATCH, join_synthetic, train_sources
from lilaw_health.core.synthetic import ClassPCAGenerator
from lilaw_health.domains.ecg.data import load_data as load_ucr
from lilaw_health.domains.tabular.data import SYNTHETIC_IN_TEST

FAST = ["epochs=2", "min_steps=0", "lilaw.warmup_epochs=1", "val_fraction=0.2", "seeds=[0]"]


@given(st.lists(st.integers(0, 6), min_size=2, max_size=40), st.floats(0.05, 0.9), st.integers(0, 5))
@settings(max_examples=60, deadline=None, derandomize=True)
def test_group_split_never_puts_a_subject_on_both_sides(subjects, fraction, seed):
    if len(set(subjects)) < 2:
        with pytest.raises(InputError, match="a validation split by subject needs at least 2 subjects"):
            group_split(subjects, fraction=fraction, seed=seed)
        return
    train, val = group_split(subjects, fraction=fraction, seed=seed)
    groups = np.asarray(subjects)
    assert len(train) and len(val) and len(train) + len(val) == len(subjects)
    assert not set(groups[train]) & set(groups[val])


def _task(n: int, *, shape=(1, 8), classes=("a", "b"), name="real", seed=0) -> TaskData:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(classes)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    return TaskData(train=ArrayDataset(x, labels), test=ArrayDataset(x[:4], labels[:4]), n_classes=len(classes),
                    class_names=list(classes), input_shape=shape, name=name)


def test_join_synthetic_adds_every_synthetic_sample_with_its_source():
    joined = join_synthetic(_task(10), _task(6, name="fake", seed=1), source="gen", dataset="fake")
    assert len(joined.train) == 10 + 6 + 4  # the synthetic set's train and test parts
    assert list(train_sources(joined)) == ["real"] * 10 + ["gen"] * 10
    assert joined.train.sample_ids[10] == "gen:0" and len(joined.test) == 4  # the real test set is untouched


@pytest.mark.parametrize("other, what", [(dict(classes=("a", "b", "c")), "classes"),
                                         (dict(shape=(1, 9)), "input shape")])
def test_join_synthetic_refuses_other_classes_or_shapes(other, what):
    with pytest.raises(InputError) as error:
        join_synthetic(_task(10), _task(6, name="fake", **other), dataset="fake")
    assert str(error.value).startswith(MISMATCH.split("{what}")[0].format(dataset="fake", real="real"))
    assert f"its {what} is" in str(error.value)


def _beats_folder(tmp_path, *, n_per_class=30, length=140, classes=5, name="BeatsSyn"):
    """A UCR tsv folder of generated beats (a class-PCA generator fitted on real ECG5000 training beats)."""
    real = load_ucr("ECG5000")
    x, y = real.train.inputs.numpy(), real.train.targets
    keep = np.isin(y, np.arange(classes))
    model = ClassPCAGenerator().fit(x[keep], y[keep], n_classes=5)
    rng = np.random.default_rng(0)
    rows = []
    for label in range(classes):
        if label not in model.models_:
            continue
        for beat in model.sample(label, n_per_class, rng):
            series = np.interp(np.linspace(0, 139, length), np.arange(140), beat[0])
            rows.append("\t".join([str(label + 1), *(f"{v:.5f}" for v in series)]))
    folder = tmp_path / "synthetic"
    folder.mkdir(exist_ok=True)
    for split in ("TRAIN", "TEST"):
        (folder / f"{name}_{split}.tsv").write_text("\n".join(rows) + "\n")
    return folder


def _ecg(out, *extra):
    return main(["run", "ecg5000", "--out", str(out), "--quiet", "--set", *FAST, "mix.real_train=100",
                 "model_args.widths=[8,16,8]", *extra])


def test_a_synthetic_ucr_folder_trains_beside_real_ecg5000(tmp_path):
    folder = _beats_folder(tmp_path, n_per_class=20)
    out = tmp_path / "run"
    assert _ecg(out, "mix.dataset=BeatsSyn", f"mix.data.root={folder}", "mix.source=pca_beats", "mix.ratio=0.5") == 0
    difficulty = pd.read_csv(out / "difficulty.csv", keep_default_na=False)
    train = difficulty[difficulty["split"] == "train"]
    assert set(train["source"]) == {"real", "pca_beats"}
    assert set(difficulty.loc[difficulty["split"] == "val", "source"]) == {"real"}
    real_counts = difficulty.loc[difficulty["source"] == "real", "clean_label"].value_counts()
    synthetic_counts = difficulty.loc[difficulty["source"] == "pca_beats", "label"].value_counts()
    expected = {c: round(0.5 * n) for c, n in real_counts.items()}  # ratio 0.5 in the real class proportions
    assert all(synthetic_counts[c] <= expected[c] for c in synthetic_counts.index)
    # their validation share (val_fraction 0.2) is held out, as with every source, and unused with meta_val=real
    assert 0.75 * sum(expected.values()) <= synthetic_counts.sum() <= 0.85 * sum(expected.values())
    value = pd.read_csv(out / "synthetic_value.csv")
    assert value["real_distance"].notna().all() and (value["real_distance"] > 0).all()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["synthetic"]["mix"]["dataset"] == "BeatsSyn"
    assert sum(row["support"] for row in metrics["per_class"]) == 4500


@pytest.mark.parametrize("folder_args, extra, message", [
    (dict(classes=2), [], "its classes is ['1', '2'], the real data's ['1', '2', '3', '4', '5']"),
    (dict(length=100), [], "its input shape is (1, 100), the real data's (1, 140)"),
    (dict(n_per_class=5), ["mix.ratio=1.0"], "mix.ratio=1.0 asks for 58 synthetic samples of class '1', but the "
                                              "synthetic data has 10; lower mix.ratio (at most 0.17)"),
    (dict(), ["mix.meta_val=gan"], "mix.meta_val=gan names no source of the training data (sources: real, synthetic)"),
])
def test_bad_synthetic_data_is_refused_before_training(tmp_path, capsys, folder_args, extra, message):
    folder = _beats_folder(tmp_path, **folder_args)
    out = tmp_path / "bad"
    assert _ecg(out, "mix.dataset=BeatsSyn", f"mix.data.root={folder}", *extra) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def _csv(tmp_path, *, synthetic_in_test=False):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(160):
        source = "real" if i < 100 else "ctgan"
        x1, x2 = rng.normal(size=2)
        target = 3 * x1 - x2 + rng.normal(scale=0.3)
        if source == "ctgan" and i % 4 == 0:
            target = rng.uniform(-8, 8)  # a share of the generated rows is wrong
        rows.append({"x1": x1, "x2": x2, "y": target, "source": source, "subject": f"s{i // 4}",
                     "sex": "fm"[i % 2]})
    frame = pd.DataFrame(rows)
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    test = frame.iloc[:20].assign(source="ctgan" if synthetic_in_test else "real")
    test_path = tmp_path / "test.csv"
    test.to_csv(test_path, index=False)
    return path, test_path


def _tabular(out, path, *extra):
    recipe = out.parent / "mixed.yaml"
    recipe.write_text("domain: tabular\ndataset: csv\nloss: mse\nmonitor: mae\nbatch_size: 16\n")
    return main(["run", str(recipe), "--out", str(out), "--quiet", "--set", *FAST, f"data.path={path}",
                 "data.target=y", "data.task=regression", "data.source_column=source", "data.sensitive=[sex]", *extra])


def test_a_csv_source_column_mixes_a_regression_and_keeps_subjects_apart(tmp_path):
    path, _ = _csv(tmp_path)
    out = tmp_path / "run"
    assert _tabular(out, path, "data.subject_column=subject") == 0
    difficulty = pd.read_csv(out / "difficulty.csv")
    assert set(difficulty["source"]) == {"real", "ctgan"}
    assert set(difficulty.loc[difficulty["split"] == "val", "source"]) == {"real"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["synthetic"]["n_synthetic"] == 48 and "mae" in metrics["test"]  # 60, less their val share
    subject = pd.read_csv(path)["subject"]
    row = difficulty["sample_id"].str.rpartition(":")[2].astype(int) - 1  # ids are "mixed.csv:<data row>"
    sides = [set(subject.iloc[row[difficulty["split"] == side]]) for side in ("train", "val")]
    assert sides[1] and not sides[0] & sides[1]
    assert (out / "synthetic_value.csv").exists()


def test_synthetic_rows_in_a_test_file_are_refused(tmp_path, capsys):
    path, test_path = _csv(tmp_path, synthetic_in_test=True)
    assert _tabular(tmp_path / "bad", path, f"data.test_path={test_path}") == 2
    expected = SYNTHETIC_IN_TEST.format(path=test_path, row=1, source="ctgan").split(" Move")[0]
    assert expected in capsys.readouterr().err
