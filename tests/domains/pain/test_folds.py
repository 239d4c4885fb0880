"""Subject-wise splits: no subject on both sides, for every scheme and any layout of subjects."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.domains.pain.folds import (
    LEAK_FIX,
    NO_FOLDS,
    NO_SUBJECT,
    SUBJECT_LEAK,
    check_disjoint,
    subject_folds,
)


def _table(subjects, folds=None) -> pd.DataFrame:
    return pd.DataFrame({"subject": pd.Series(subjects, dtype=object),
                         "fold": pd.Series([None] * len(subjects) if folds is None else folds, dtype="Int64")})


def _raises(message: str, call, *args, **kwargs) -> None:
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        call(*args, **kwargs)


layouts = st.lists(st.sampled_from([f"s{i}" for i in range(12)]), min_size=2, max_size=60).filter(
    lambda subjects: len(set(subjects)) >= 2)


@settings(max_examples=60, deadline=None)
@given(subjects=layouts, k=st.integers(2, 6), seed=st.integers(0, 2**16))
def test_kfold_and_loso_keep_each_subject_on_one_side_and_test_every_row_once(subjects, k, seed):
    table = _table(subjects)
    k = min(k, len(set(subjects)))
    for scheme, expected_splits in (("kfold", k), ("loso", len(set(subjects)))):
        splits = subject_folds(table, scheme=scheme, k=k, seed=seed)
        assert len(splits) == expected_splits
        tested = np.sort(np.concatenate([test for _, test in splits]))
        assert np.array_equal(tested, np.arange(len(subjects)))  # every row tested exactly once
        for train, test in splits:
            assert len(test) and not set(table["subject"].iloc[train]) & set(table["subject"].iloc[test])
            assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(len(subjects)))
    again = subject_folds(table, scheme="kfold", k=k, seed=seed)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(again, subject_folds(table, scheme="kfold", k=k, seed=seed)))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), subjects=layouts)
def test_given_folds_per_subject_never_leak(data, subjects):
    names = sorted(set(subjects))
    fold_of = {name: data.draw(st.integers(0, 3)) for name in names}
    fold_of[names[0]], fold_of[names[1]] = 0, 1  # at least two folds
    table = _table(subjects, [fold_of[s] for s in subjects])
    splits = subject_folds(table, scheme="given")
    assert len(splits) == len(set(fold_of.values()))
    for train, test in splits:
        assert not set(table["subject"].iloc[train]) & set(table["subject"].iloc[test])


def test_given_fold_spanning_a_subject_is_refused():
    table = _table(["a", "a", "b", "c"], [1, 2, 1, 2])
    _raises(SUBJECT_LEAK.format(where="scheme 'given', split 0", count=1, subjects="a", fix=LEAK_FIX),
            subject_folds, table, scheme="given")


def test_given_rows_without_fold_train_in_every_split():
    table = _table(["a", "b", "c", "d"], [1, 2, None, 1])
    splits = subject_folds(table, scheme="given")
    assert [test.tolist() for _, test in splits] == [[0, 3], [1]]
    assert all(2 in train for train, _ in splits)
    _raises(NO_FOLDS.format(what="frame table (4 rows)", found="none"), subject_folds, _table(["a", "b", "c", "d"]))
    _raises(NO_FOLDS.format(what="frame table (2 rows)", found=[3]), subject_folds, _table(["a", "b"], [3, 3]))


def test_check_disjoint_names_the_shared_subjects():
    check_disjoint(["a", "b"], ["c"], where="here")
    _raises(SUBJECT_LEAK.format(where="fold 3", count=2, subjects="a, b", fix=LEAK_FIX),
            check_disjoint, ["a", "b", "c"], ["b", "a", "d"], where="fold 3")
    many = [f"s{i:02d}" for i in range(12)]
    with pytest.raises(InputError, match="12 subject.*s00, s01, .*, s09 and 2 more"):
        check_disjoint(many, many, where="x")


def test_bad_arguments():
    table = _table(["a", "b", "c"])
    _raises(BAD_VALUE.format(arg="k", expected="an integer in 2..3 (the number of subjects)", received="4",
                             fix="Lower k, or use scheme 'loso'."), subject_folds, table, scheme="kfold", k=4)
    _raises(BAD_VALUE.format(arg="scheme", expected="one of given, kfold, loso", received="'random'",
                             fix="'kfold' works for any table."), subject_folds, table, scheme="random")
    _raises(NO_SUBJECT.format(what="frame table (3 rows)", count=1, position=1), subject_folds,
            _table(["a", None, "c"]), scheme="loso")
