"""Subject-wise evaluation splits: the walks of one person never sit on both sides.

Schemes (``SCHEMES``):

- ``given``: the published lists, one fold; ``given`` holds each walk's split name
  ("train"/"test", e.g. a loader table's ``split`` column). A person on both sides is an error.
- ``kfold``: ``k`` folds of whole subjects (scikit-learn's ``GroupKFold``, shuffled by
  ``seed``; with ``labels``, subjects are dealt out rarest score first, so that each fold
  tests some of the rare scores: scikit-learn's ``StratifiedGroupKFold`` can put both of two
  score-3 subjects in one fold).
- ``loso``: leave one subject out, one fold per subject in sorted order.

Every fold is checked with :func:`check_disjoint` before it is returned.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lilaw_health.core.errors import (
    BAD_VALUE,
    LENGTH_MISMATCH,
    InputError,
    unknown_name,
)

SCHEMES = ("given", "kfold", "loso")
LEAKING = ("subject(s) {subjects} have walks in both {first} and {second} ({count} walk(s) in {second}); the walks "
           "of one person must stay on one side. {fix}")
LEAK_FIX = "Move each listed subject's walks to one side, or use scheme='kfold' or 'loso'."
Fold = tuple[np.ndarray, np.ndarray]


def leaking_subjects(subjects: Sequence[object] | np.ndarray, train_idx: np.ndarray,
                     test_idx: np.ndarray) -> list[str]:
    """Sorted subjects (as str) with walks at both ``train_idx`` and ``test_idx``."""
    subjects = np.asarray(subjects).astype(str)
    return sorted(set(subjects[np.asarray(train_idx, dtype=int)]) & set(subjects[np.asarray(test_idx, dtype=int)]))


def check_disjoint(subjects: Sequence[object] | np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray, *,
                   names: tuple[str, str] = ("train", "test"), fix: str = LEAK_FIX) -> None:
    """Raise an InputError naming every subject with walks on both sides."""
    leaking = leaking_subjects(subjects, train_idx, test_idx)
    if leaking:
        in_second = np.isin(np.asarray(subjects).astype(str)[np.asarray(test_idx, dtype=int)], leaking).sum()
        shown = ", ".join(leaking[:20]) + (f" and {len(leaking) - 20} more" if len(leaking) > 20 else "")
        raise InputError(LEAKING.format(subjects=shown, first=names[0], second=names[1], count=int(in_second),
                                        fix=fix))


def subject_folds(subjects: Sequence[object] | np.ndarray, *, scheme: str, k: int = 5, seed: int = 0,
                  given: Sequence[str] | np.ndarray | None = None,
                  labels: Sequence[int] | np.ndarray | None = None) -> list[Fold]:
    """Folds ``[(train_idx, test_idx), ...]`` (int64 index arrays into ``subjects``, sorted) of a
    subject-wise scheme (see the module docstring)."""
    subjects = np.asarray(subjects).astype(str)
    if scheme not in SCHEMES:
        raise unknown_name("fold scheme", scheme, list(SCHEMES))
    if scheme == "given":
        folds = [_given_fold(subjects, given)]
    elif scheme == "loso":
        folds = [(np.flatnonzero(subjects != subject), np.flatnonzero(subjects == subject))
                 for subject in np.unique(subjects)]
    else:
        folds = _kfold(subjects, k=k, seed=seed, labels=labels)
    for train_idx, test_idx in folds:
        check_disjoint(subjects, train_idx, test_idx)
    return folds


def _given_fold(subjects: np.ndarray, given: Sequence[str] | np.ndarray | None) -> Fold:
    split = np.asarray(given if given is not None else [], dtype=object)
    if given is None or len(split) != len(subjects) or not set(split) <= {"train", "test"}:
        received = "None" if given is None else f"{len(split)} value(s) among {sorted(set(map(str, split)))[:5]}"
        raise InputError(BAD_VALUE.format(arg="given", expected=f"one 'train' or 'test' per walk ({len(subjects)})",
                                          received=received, fix="Pass the loader table's split column."))
    return np.flatnonzero(split == "train"), np.flatnonzero(split == "test")


def _kfold(subjects: np.ndarray, *, k: int, seed: int, labels: Sequence[int] | np.ndarray | None) -> list[Fold]:
    n_subjects = len(np.unique(subjects))
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= n_subjects:
        raise InputError(BAD_VALUE.format(arg="k", expected=f"an integer from 2 to the number of subjects "
                                                            f"({n_subjects})", received=repr(k),
                                          fix="Use scheme='loso' for one subject per fold."))
    if labels is None:
        from sklearn.model_selection import GroupKFold

        splitter = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
        return [(np.sort(train), np.sort(test)) for train, test in splitter.split(subjects, groups=subjects)]
    labels = np.asarray(labels)
    if len(labels) != len(subjects):
        raise InputError(LENGTH_MISMATCH.format(arg_a="labels", arg_b="subjects", len_a=len(labels),
                                                len_b=len(subjects)))
    fold_of = _stratified_subjects(subjects, labels, k=k, seed=seed)
    walk_fold = np.array([fold_of[subject] for subject in subjects])
    return [(np.flatnonzero(walk_fold != fold), np.flatnonzero(walk_fold == fold)) for fold in range(k)]


def _stratified_subjects(subjects: np.ndarray, labels: np.ndarray, *, k: int, seed: int) -> dict[str, int]:
    """Subject -> fold, dealing subjects out by their rarest label so each fold gets the rare ones.

    Subjects are visited rarest label first (ties in a seeded random order); each goes to the fold
    with the fewest walks of that label, then the fewest walks.
    """
    classes, codes = np.unique(labels, return_inverse=True)
    totals = np.bincount(codes, minlength=len(classes))
    rng = np.random.default_rng(seed)
    people = rng.permutation(np.unique(subjects))
    counts = {person: np.bincount(codes[subjects == person], minlength=len(classes)) for person in people}
    rarest = {person: int(np.argmin(np.where(counts[person] > 0, totals, np.inf))) for person in people}
    by_label, size, fold_of = np.zeros((k, len(classes))), np.zeros(k), {}
    for person in sorted(people, key=lambda p: totals[rarest[p]]):  # stable: keeps the random order in ties
        fold = min(range(k), key=lambda f: (by_label[f, rarest[person]], size[f]))
        fold_of[person] = fold
        by_label[fold] += counts[person]
        size[fold] += counts[person].sum()
    return fold_of
