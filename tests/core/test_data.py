"""Stratified validation split, dataset views and the difficulty table."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.core import ArrayDataset, InputError, LabeledView, difficulty_table, stratified_split
from lilaw_health.core.data import dataset_labels


@settings(max_examples=50, deadline=None)
@given(counts=st.lists(st.integers(2, 60), min_size=2, max_size=6), fraction=st.floats(0.01, 0.9),
       seed=st.integers(0, 1000))
def test_split_is_stratified_disjoint_and_covers_every_class(counts, fraction, seed):
    labels = np.repeat(np.arange(len(counts)), counts)
    train, val = stratified_split(labels, fraction=fraction, seed=seed)
    assert np.intersect1d(train, val).size == 0 and len(train) + len(val) == len(labels)
    for cls, count in enumerate(counts):
        n_val = int((labels[val] == cls).sum())
        assert 1 <= n_val <= count - 1
        assert n_val == min(max(round(fraction * count), 1), count - 1)
    again = stratified_split(labels, fraction=fraction, seed=seed)
    assert np.array_equal(again[1], val)


def test_a_single_sample_class_may_stay_in_training():
    labels = np.array([0, 0, 0, 1, 1, 1, 2])
    train, val = stratified_split(labels, fraction=0.3, seed=0, single_to_train=True)
    assert 6 in train and set(labels[val]) == {0, 1}
    # the other classes split as they would without the single class
    without = stratified_split(labels[:6], fraction=0.3, seed=0)
    assert np.array_equal(val, without[1])
    with pytest.raises(InputError, match=r"would miss class\(es\) \[0, 1\]"):
        stratified_split(np.array([0, 1]), fraction=0.3, seed=0, single_to_train=True)


def test_split_errors_are_named():
    with pytest.raises(InputError, match=r"the validation split would miss class\(es\) \[2\]"):
        stratified_split(np.array([0, 0, 1, 1, 2]), fraction=0.2, seed=0)
    with pytest.raises(InputError, match=r"val_fraction must be in \(0, 1\); received 0.0, which would leave"):
        stratified_split(np.array([0, 1]), fraction=0.0, seed=0)


def test_view_returns_positions_and_its_own_labels():
    base = ArrayDataset(np.arange(10, dtype=np.float32)[:, None], np.arange(10) % 2, sample_ids=list("abcdefghij"))
    view = LabeledView(base, np.array([7, 2]), np.array([0, 0]), ["h", "c"])
    position, x, y = view[0]
    assert (position, float(x[0]), y) == (0, 7.0, 0)
    assert dataset_labels(base).tolist() == [0, 1] * 5


class _Doubled(ArrayDataset):
    def __getitem__(self, index):
        x, y = super().__getitem__(index)
        return 2 * x, y


@pytest.mark.parametrize("base_type", [ArrayDataset, _Doubled])
def test_view_batch_matches_its_items_in_order(base_type):
    x = np.arange(24, dtype=np.float32).reshape(6, 2, 2)
    base = base_type(x, [0, 1, 2, 0, 1, 2])
    view = LabeledView(base, np.array([5, 3, 1, 0]), np.array([2, 2, 0, 1]), ["a", "b", "c", "d"])
    inputs, targets = view.batch([3, 0, 2])
    expected = torch.stack([view[p][1] for p in (3, 0, 2)])
    assert torch.equal(inputs, expected) and targets.tolist() == [1, 2, 0] and targets.dtype == torch.int64
    assert torch.equal(inputs[0], base[0][0])  # the subclass's own items, not the raw array


def test_difficulty_table_rows_and_buckets():
    logits = torch.log(torch.tensor([[0.95, 0.05], [0.05, 0.95], [0.5, 0.5]]))
    table = difficulty_table(logits, np.array([0, 0, 1]), sample_ids=["a", "b", "c"],
                             scalars={"alpha": 10.0, "beta": 2.0, "delta": 6.0})
    assert table["sample_id"].tolist() == ["a", "b", "c"]
    assert table.loc[0, "bucket"] == "easy"
    assert table.loc[1, "mislabel_score"] > table.loc[0, "mislabel_score"]
    np.testing.assert_allclose(table["W"], table[["W_alpha", "W_beta", "W_delta"]].sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(table["mislabel_score"], 1 - table["W_alpha"])
    with pytest.raises(InputError, match="logits and labels and sample_ids must have the same length"):
        difficulty_table(logits, np.array([0, 1]), sample_ids=["a", "b", "c"],
                         scalars={"alpha": 10.0, "beta": 2.0, "delta": 6.0})


def test_task_data_checks_targets_and_sensitive_attributes():
    import pandas as pd

    from lilaw_health.core.data import SENSITIVE_MISSING, TASK_MISMATCH, TaskData

    x = np.zeros((4, 2))
    regression = ArrayDataset(x, [0.5, 1.5, 2.0, 3.0], task="regression")
    with pytest.raises(InputError) as error:
        TaskData(train=regression, test=regression, n_classes=1, class_names=["y"], input_shape=(2,))
    assert str(error.value) == TASK_MISMATCH.format(task="classification", split="train", dtype="float32")
    with pytest.raises(InputError) as error:
        TaskData(train=regression, test=regression, n_classes=1, class_names=["y"], input_shape=(2,), name="toy",
                 task="regression", sensitive_test=pd.DataFrame({"sex": ["f", None, "m", None]}))
    assert str(error.value) == SENSITIVE_MISSING.format(column="sex", dataset="toy", count=2, total=4, first=1)
    with pytest.raises(InputError, match=r"labels contains 1 non-finite values"):
        ArrayDataset(x, [0.5, np.nan, 2.0, 3.0], task="regression")
