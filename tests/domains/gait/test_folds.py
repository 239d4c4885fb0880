"""Subject-wise folds: no person on both sides, whatever the scheme."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.core.errors import (
    BAD_VALUE,
    LENGTH_MISMATCH,
    InputError,
    UnknownNameError,
)
from lilaw_health.domains.gait.folds import (
    LEAK_FIX,
    LEAKING,
    check_disjoint,
    leaking_subjects,
    subject_folds,
)

subject_lists = st.lists(st.sampled_from([f"{i:03d}" for i in range(12)]), min_size=2, max_size=60).filter(
    lambda subjects: len(set(subjects)) >= 2)


def _assert_partition(folds, subjects):
    tested = np.concatenate([test for _, test in folds])
    assert sorted(tested) == list(range(len(subjects)))  # every walk is tested exactly once
    for train, test in folds:
        assert not set(np.asarray(subjects)[train]) & set(np.asarray(subjects)[test])
        assert sorted(np.concatenate([train, test])) == list(range(len(subjects)))


@settings(max_examples=60, deadline=None)
@given(subjects=subject_lists, k=st.integers(2, 5), seed=st.integers(0, 3))
def test_kfold_never_splits_a_subject(subjects, k, seed):
    k = min(k, len(set(subjects)))
    folds = subject_folds(subjects, scheme="kfold", k=k, seed=seed)
    assert len(folds) == k
    _assert_partition(folds, subjects)


@settings(max_examples=40, deadline=None)
@given(subjects=subject_lists)
def test_leave_one_subject_out_tests_each_subject_alone(subjects):
    folds = subject_folds(subjects, scheme="loso")
    assert len(folds) == len(set(subjects))
    assert [set(np.asarray(subjects)[test]) for _, test in folds] == [{s} for s in sorted(set(subjects))]
    _assert_partition(folds, subjects)


def test_stratified_kfold_keeps_subjects_whole_and_spreads_the_rare_score():
    subjects = np.repeat([f"{i:03d}" for i in range(10)], 4)
    labels = np.tile([0, 1, 0, 2], 10)
    labels[subjects == "002"] = 3
    labels[subjects == "007"] = 3
    folds = subject_folds(subjects, scheme="kfold", k=2, seed=0, labels=labels)
    _assert_partition(folds, subjects)
    assert all((labels[test] == 3).any() for _, test in folds)
    assert subject_folds(subjects, scheme="kfold", k=2, seed=0, labels=labels)[0][1].tolist() == folds[0][1].tolist()


def test_given_lists_are_one_fold_and_a_leak_is_named():
    subjects = ["001", "001", "002", "003", "003"]
    train, test = subject_folds(subjects, scheme="given", given=["train", "train", "test", "train", "train"])[0]
    assert train.tolist() == [0, 1, 3, 4] and test.tolist() == [2]
    with pytest.raises(InputError) as error:
        subject_folds(subjects, scheme="given", given=["train", "test", "test", "train", "test"])
    assert str(error.value) == LEAKING.format(subjects="001, 003", first="train", second="test", count=2,
                                              fix=LEAK_FIX)
    assert leaking_subjects(subjects, np.array([0, 3]), np.array([1, 2])) == ["001"]
    check_disjoint(subjects, np.array([0, 1]), np.array([2, 3, 4]))


def test_bad_scheme_k_given_and_labels_are_refused():
    with pytest.raises(UnknownNameError, match="unknown fold scheme 'lopo'; valid names are: given, kfold, loso"):
        subject_folds(["a", "b"], scheme="lopo")
    with pytest.raises(InputError) as error:
        subject_folds(["a", "b", "c"], scheme="kfold", k=4)
    assert str(error.value) == BAD_VALUE.format(arg="k", expected="an integer from 2 to the number of subjects (3)",
                                                received="4", fix="Use scheme='loso' for one subject per fold.")
    with pytest.raises(InputError, match="given must be one 'train' or 'test' per walk"):
        subject_folds(["a", "b"], scheme="given", given=["train", "validation"])
    with pytest.raises(InputError) as error:
        subject_folds(["a", "b", "c"], scheme="kfold", k=2, labels=[0, 1])
    assert str(error.value) == LENGTH_MISMATCH.format(arg_a="labels", arg_b="subjects", len_a=2, len_b=3)
