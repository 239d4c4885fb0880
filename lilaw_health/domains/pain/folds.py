"""Subject-wise cross-validation splits of a frame table: no subject is ever on both sides.

Facial pain data hold many frames per person; a split that puts one person's frames on
both sides measures recognition of that person, not of pain. :func:`subject_folds` builds
the splits of the three schemes used in the pain literature and checks each one with
:func:`check_disjoint`:

- ``given``: the table's ``fold`` column (from ``SynPain_folds.txt``, UNBC's
  ``UNBC_CVFolds_*.hdf5`` or a CSV): split ``f`` tests the rows of fold ``f`` and trains on
  every other row, including rows without a fold (they are never tested; their count is
  logged).
- ``kfold``: ``k`` folds of whole subjects, shuffled with ``seed``, each subject added to the
  fold with the fewest rows so far (so folds hold similar numbers of frames).
- ``loso``: leave one subject out, one split per subject in sorted order.

Indices are positions (``table.iloc``), int64, ascending.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from lilaw_health.core.errors import BAD_VALUE, InputError

LOGGER = logging.getLogger(__name__)

SCHEMES = ("given", "kfold", "loso")
SUBJECT_LEAK = ("{where}: {count} subject(s) have frames on both the training and the test side: {subjects}. "
                "Every frame of a subject must be on one side, or the test score measures recognising the "
                "person. {fix}")
LEAK_FIX = "Give each subject a single fold (all of its frames in one fold), or use scheme 'kfold' or 'loso'."
NO_FOLDS = ("{what}: scheme 'given' needs at least two different values in the fold column; found {found}. Use "
            "scheme 'kfold' or 'loso', or fill the fold column (e.g. from SynPain_folds.txt or UNBC_CVFolds).")
NO_SUBJECT = ("{what}: {count} row(s) have no subject (first at position {position}); subject-wise splits need "
              "every row's identity. Fill the subject column.")

Split = tuple[np.ndarray, np.ndarray]


def check_disjoint(train_subjects: Iterable[object], test_subjects: Iterable[object], *, where: str,
                   fix: str = LEAK_FIX) -> None:
    """Raise InputError naming the subjects that are on both sides (at most 10 listed)."""
    shared = sorted(set(map(str, train_subjects)) & set(map(str, test_subjects)))
    if shared:
        listed = ", ".join(shared[:10]) + (f" and {len(shared) - 10} more" if len(shared) > 10 else "")
        raise InputError(SUBJECT_LEAK.format(where=where, count=len(shared), subjects=listed, fix=fix))


def subject_folds(table: pd.DataFrame, *, scheme: str = "given", k: int = 5, seed: int = 0) -> list[Split]:
    """(train positions, test positions) of each split of ``table`` (one row per frame).

    Parameters
    ----------
    table : frame table with a ``subject`` column (and ``fold`` for ``scheme="given"``).
    scheme : ``"given"``, ``"kfold"`` or ``"loso"`` (see the module docstring).
    k : number of folds for ``"kfold"``; 2 <= k <= number of subjects.
    seed : shuffles the subjects of ``"kfold"``.
    """
    if scheme not in SCHEMES:
        raise InputError(BAD_VALUE.format(arg="scheme", expected=f"one of {', '.join(SCHEMES)}",
                                          received=repr(scheme), fix="'kfold' works for any table."))
    subjects = _subjects(table)
    if scheme == "given":
        test_sets = _given_test_sets(table)
    elif scheme == "kfold":
        test_sets = _kfold_test_sets(subjects, k=k, seed=seed)
    else:
        test_sets = [subjects == subject for subject in np.unique(subjects)]
    splits = []
    for number, is_test in enumerate(test_sets):
        train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
        check_disjoint(subjects[train], subjects[test], where=f"scheme {scheme!r}, split {number}")
        splits.append((train.astype(np.int64), test.astype(np.int64)))
    return splits


def _subjects(table: pd.DataFrame) -> np.ndarray:
    what = f"frame table ({len(table)} rows)"
    if "subject" not in table.columns:
        raise InputError(NO_SUBJECT.format(what=what, count=len(table), position=0))
    missing = np.flatnonzero(table["subject"].isna().to_numpy())
    if missing.size:
        raise InputError(NO_SUBJECT.format(what=what, count=missing.size, position=missing[0]))
    return table["subject"].astype(str).to_numpy(dtype=object)


def _given_test_sets(table: pd.DataFrame) -> list[np.ndarray]:
    folds = table["fold"] if "fold" in table.columns else pd.Series([pd.NA] * len(table), dtype="Int64")
    known = folds.notna().to_numpy()
    values = sorted(set(folds[known].astype(int)))
    if len(values) < 2:
        raise InputError(NO_FOLDS.format(what=f"frame table ({len(table)} rows)", found=values or "none"))
    if not known.all():
        LOGGER.info("%d row(s) have no fold: they train in every split and are never tested", (~known).sum())
    fold_values = folds.fillna(-1).astype(int).to_numpy()
    return [known & (fold_values == value) for value in values]


def _kfold_test_sets(subjects: np.ndarray, *, k: int, seed: int) -> list[np.ndarray]:
    names, counts = np.unique(subjects, return_counts=True)
    if not isinstance(k, (int, np.integer)) or not 2 <= k <= len(names):
        raise InputError(BAD_VALUE.format(arg="k", expected=f"an integer in 2..{len(names)} (the number of subjects)",
                                          received=repr(k), fix="Lower k, or use scheme 'loso'."))
    order = np.random.default_rng(seed).permutation(len(names))
    order = order[np.argsort(-counts[order], kind="stable")]  # large subjects first, ties in shuffled order
    rows_in_fold, fold_of = np.zeros(k, dtype=np.int64), {}
    for position in order:
        fold = int(np.argmin(rows_in_fold))
        fold_of[names[position]] = fold
        rows_in_fold[fold] += counts[position]
    assigned = np.array([fold_of[subject] for subject in subjects])
    return [assigned == fold for fold in range(k)]
