"""Synthetic walks written in the published layouts, from the kinematic walker.

:func:`write_pd_gam` writes a PD-GaM folder that :func:`formats.load_pd_gam` reads like the
real one: ``new_joint_vecs/<seq_id>.npy`` and ``<seq_id>_M.npy`` (the joints mirrored with
``skeleton.mirror_joints``, then encoded), ``Mean.npy``/``Std.npy`` over the training features
and their mirrors (each feature block's std replaced by the block's mean std, as HumanML3D's
``mean_variance``), ``train.txt``/``test.txt`` split by subject, and header-less
``Annotations/Gait/{train,test}.csv`` with one row per recorded walk (``<visit>-<number>_<subject>``,
its joint frames, its score). Each walk is one recording cut into consecutive segments
(``<subject>-<visit>-<number>_wid00_<k>``); scores follow PD-GaM's shares (783/635/248/35), and
each split gets a score-3 walk when it has at least 4 walks. ``n_too_short`` extra 20-frame
segments (``_wid01_0``) exercise the loader's drop counting.

:func:`write_gaitgen` writes GAITGen-style output for other people (subjects ``G01``, ...), with a
domain shift (smoother, less variable, longer legs) and a share of wrong scores (an adjacent
score), recorded in ``render_truth.csv`` beside the file (not part of GAITGen's format).
Both are deterministic given ``seed``.
"""

from __future__ import annotations

import math
import pickle
from dataclasses import replace
from itertools import zip_longest
from pathlib import Path

import numpy as np
import pandas as pd

from lilaw_health.core.checkpoint import atomic_write, atomic_write_text
from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.domains.gait.features import SLICES, joints_to_features
from lilaw_health.domains.gait.formats import parse_seq_id
from lilaw_health.domains.gait.gaitgen import write_gaitgen_npz
from lilaw_health.domains.gait.skeleton import mirror_joints
from lilaw_health.domains.gait.walker import SubjectParams, subject_params, walk

PD_GAM_COUNTS = np.array([783, 635, 248, 35])
TOO_SHORT_FRAMES = 20
GAITGEN_FORMATS = ("npz", "pickle")


def _check(name: str, value: object, ok: bool, expected: str) -> None:
    if not ok:
        raise InputError(BAD_VALUE.format(arg=name, expected=expected, received=repr(value), fix=""))


def _check_lengths(min_len: int, max_len: int) -> None:
    _check("min_len", min_len, isinstance(min_len, int) and min_len >= 2, "an integer >= 2")
    _check("max_len", max_len, isinstance(max_len, int) and max_len >= min_len, f"an integer >= min_len ({min_len})")


def _save(path: Path, array: np.ndarray) -> None:
    atomic_write(path, lambda handle: np.save(handle, np.asarray(array, dtype=np.float32)))


LATENT_SPREAD = 0.45  # a walk's impairment level: its score +- this (uniform), so adjacent scores nearly touch


def _level(score: int, rng: np.random.Generator, spread: float = LATENT_SPREAD) -> float:
    """The continuous impairment behind an integer score (what the rater rounded)."""
    return float(np.clip(score + rng.uniform(-spread, spread), 0.0, 3.0))


def _scores(rng: np.random.Generator, n_subjects: int, walks_per_subject: int, test: np.ndarray) -> np.ndarray:
    """Scores (n_subjects, walks_per_subject): each person's own level drawn with PD-GaM's shares, a walk
    scored one off it a quarter of the time (visits, medication); a 3 on each side if it has 4 walks."""
    base = rng.choice(4, size=(n_subjects, 1), p=PD_GAM_COUNTS / PD_GAM_COUNTS.sum())
    step = rng.choice([-1, 0, 0, 0, 0, 0, 0, 1], size=(n_subjects, walks_per_subject))
    scores = np.clip(base + step, 0, 3)
    for side in (test, ~test):
        if side.sum() * walks_per_subject >= 4 and not (scores[side] == 3).any():
            subject = rng.choice(np.flatnonzero(side))
            scores[subject, rng.integers(walks_per_subject)] = 3
    return scores


def write_pd_gam(root: str | Path, *, n_subjects: int = 12, walks_per_subject: int = 6, seed: int = 0,
                 min_len: int = 40, max_len: int = 200, segments_per_walk: int = 2, test_share: float = 0.25,
                 n_too_short: int = 2, fps: float = 30.0) -> pd.DataFrame:
    """Write a synthetic PD-GaM folder at ``root`` (layout in the module docstring).

    Returns the truth: one row per segment (seq_id, subject, visit, walk, score, split, n_frames).
    """
    _check("n_subjects", n_subjects, isinstance(n_subjects, int) and n_subjects >= 2, "an integer >= 2")
    for name, value in (("walks_per_subject", walks_per_subject), ("segments_per_walk", segments_per_walk)):
        _check(name, value, isinstance(value, int) and value >= 1, "an integer >= 1")
    _check("n_too_short", n_too_short, isinstance(n_too_short, int) and 0 <= n_too_short <= n_subjects
           * walks_per_subject, "an integer from 0 to n_subjects * walks_per_subject")
    _check("test_share", test_share, 0 < test_share < 1, "a number in (0, 1)")
    _check_lengths(min_len, max_len)
    root, rng = Path(root), np.random.default_rng(seed)
    test = np.zeros(n_subjects, dtype=bool)
    test[rng.choice(n_subjects, size=min(n_subjects - 1, max(1, round(test_share * n_subjects))), replace=False)] = True
    scores = _scores(rng, n_subjects, walks_per_subject, test)
    pairs = zip_longest(np.flatnonzero(~test), np.flatnonzero(test))
    alternating = [s for pair in pairs for s in pair if s is not None]
    short = {(alternating[i % n_subjects], i // n_subjects) for i in range(n_too_short)}  # one per side first
    rows: list[dict[str, object]] = []
    annotations: dict[str, list[str]] = {"train": [], "test": []}
    train_features: list[np.ndarray] = []
    for s in range(n_subjects):
        person, split, subject = subject_params(rng), "test" if test[s] else "train", f"{s + 1:03d}"
        for v in range(walks_per_subject):
            recording = f"{subject}-{12 + v // 2}-{1000 + 37 * v:06d}"  # <subject>-<visit>-<number>
            lengths = {f"wid00_{k}": int(n) for k, n in enumerate(rng.integers(min_len, max_len + 1,
                                                                               size=segments_per_walk))}
            lengths.update({"wid01_0": TOO_SHORT_FRAMES} if (s, v) in short else {})
            n_frames, segments = _write_recording(root, recording, int(scores[s, v]), lengths, person=person,
                                                  fps=fps, rng=rng)
            annotations[split].append(f"{parse_seq_id(recording)['annotation_key']},{n_frames},{scores[s, v]}")
            for seq_id, features in segments:
                train_features += features if split == "train" else []
                rows.append({"seq_id": seq_id, "subject": subject, "visit": recording.split("-")[1], "walk": recording,
                             "score": int(scores[s, v]), "split": split, "n_frames": len(features[0])})
    truth = pd.DataFrame(rows)
    for split in ("train", "test"):
        ids = truth.loc[truth["split"] == split, "seq_id"]
        atomic_write_text(root / f"{split}.txt", "".join(f"{seq_id}\n" for seq_id in ids))
        atomic_write_text(root / "Annotations" / "Gait" / f"{split}.csv",
                          "".join(f"{row}\n" for row in annotations[split]))
    _write_mean_std(root, train_features)
    return truth


def _write_recording(root: Path, recording: str, score: int, lengths: dict[str, int], *, person: SubjectParams,
                     fps: float, rng: np.random.Generator) -> tuple[int, list[tuple[str, list[np.ndarray]]]]:
    """Walk one recording, cut it into consecutive segments of ``lengths`` feature frames (by wid),
    write each segment's features and mirrored features; return the recording's joint frames and,
    per segment, its seq_id and [features, mirrored features]."""
    joints = walk(_level(score, rng), n_frames=sum(n + 1 for n in lengths.values()), fps=fps, rng=rng,
                  subject_params=person)
    start, segments = 0, []
    for wid, n in lengths.items():
        seq_id, segment = f"{recording}_{wid}", joints[start:start + n + 1]
        pair = [joints_to_features(part, fps=fps).astype(np.float32) for part in (segment, mirror_joints(segment))]
        _save(root / "new_joint_vecs" / f"{seq_id}.npy", pair[0])
        _save(root / "new_joint_vecs" / f"{seq_id}_M.npy", pair[1])
        segments.append((seq_id, pair))
        start += n + 1
    return len(joints), segments


def _write_mean_std(root: Path, train_features: list[np.ndarray]) -> None:
    features = np.concatenate(train_features).astype(np.float64)
    std = features.std(axis=0)
    for block in SLICES.values():
        std[block] = std[block].mean()
    _save(root / "Mean.npy", features.mean(axis=0))
    _save(root / "Std.npy", std)


def _shifted(person: SubjectParams) -> SubjectParams:
    """GAITGen-like domain shift: smoother and less variable walks, slightly longer legs."""
    return replace(person, variability_scale=0.4 * person.variability_scale, jitter=0.0008,
                   leg_scale=1.05 * person.leg_scale)


def write_gaitgen(path: str | Path, *, n_walks: int, seed: int = 0, wrong_label_share: float = 0.2,
                  domain_shift: bool = True, format: str = "npz", min_len: int = 40, max_len: int = 200,
                  fps: float = 30.0) -> pd.DataFrame:
    """Write ``n_walks`` GAITGen-style walks (uniform true scores 0-3) to ``path`` and their truth
    to ``render_truth.csv`` beside it; returns the truth (name, subject, true_score, given_score,
    wrong_label, domain_shift, n_frames). ``format``: "npz" (``gaitgen.write_gaitgen_npz``) or
    "pickle" (GAITGen's dict of {'feat_data', 'updrs_score'})."""
    _check("n_walks", n_walks, isinstance(n_walks, int) and n_walks >= 1, "an integer >= 1")
    _check("wrong_label_share", wrong_label_share, 0 <= wrong_label_share <= 1, "a number in [0, 1]")
    _check("format", format, format in GAITGEN_FORMATS, f"one of {', '.join(GAITGEN_FORMATS)}")
    _check_lengths(min_len, max_len)
    path, rng = Path(path), np.random.default_rng(seed)
    people = [subject_params(rng) for _ in range(math.ceil(n_walks / 4))]
    true = rng.integers(0, 4, size=n_walks)
    given = true.copy()
    for i in rng.choice(n_walks, size=round(wrong_label_share * n_walks), replace=False):
        given[i] = rng.choice([score for score in (true[i] - 1, true[i] + 1) if 0 <= score <= 3])
    names, features = [], []
    for i in range(n_walks):
        person = _shifted(people[i % len(people)]) if domain_shift else people[i % len(people)]
        joints = walk(_level(int(true[i]), rng), n_frames=int(rng.integers(min_len, max_len + 1)) + 1, fps=fps, rng=rng,
                      subject_params=person)
        names.append(f"G{i % len(people) + 1:02d}_{i:04d}")
        features.append(joints_to_features(joints, fps=fps).astype(np.float32))
    if format == "npz":
        write_gaitgen_npz(path, names, [int(s) for s in given], features)
    else:
        content = {name: {"feat_data": feature, "updrs_score": int(score)}
                   for name, feature, score in zip(names, features, given)}
        atomic_write(path, lambda handle: pickle.dump(content, handle, protocol=pickle.HIGHEST_PROTOCOL))
    truth = pd.DataFrame({"name": names, "subject": [name.split("_")[0] for name in names], "true_score": true,
                          "given_score": given, "wrong_label": true != given, "domain_shift": domain_shift,
                          "n_frames": [len(feature) for feature in features]})
    atomic_write_text(path.with_name("render_truth.csv"), truth.to_csv(index=False))
    return truth
