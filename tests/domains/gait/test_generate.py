"""Generated data sets: the published layouts, determinism, PD-GaM-like scores, GAITGen's shift and wrong
labels, and a severity that a simple gait measure can already see."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.domains.gait import generate
from lilaw_health.domains.gait.features import SLICES, features_to_joints
from lilaw_health.domains.gait.formats import parse_seq_id
from lilaw_health.domains.gait.gaitgen import load_gaitgen
from lilaw_health.domains.gait.skeleton import INDEX, mirror_joints

SMALL = {"n_subjects": 6, "walks_per_subject": 3, "min_len": 40, "max_len": 120, "seed": 5}


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("pd_gam")
    return root, generate.write_pd_gam(root, **SMALL)


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_same_seed_same_bytes_other_seed_other_walks(written, tmp_path):
    root, _ = written
    generate.write_pd_gam(tmp_path / "again", **SMALL)
    assert _files(root) == _files(tmp_path / "again")
    assert all(filecmp.cmp(root / name, tmp_path / "again" / name, shallow=False) for name in _files(root))
    generate.write_pd_gam(tmp_path / "other", **{**SMALL, "seed": 6})
    assert not filecmp.cmp(root / "Mean.npy", tmp_path / "other" / "Mean.npy", shallow=False)


def test_layout_split_by_subject_with_rare_scores_and_short_walks(written):
    root, truth = written
    assert {"Mean.npy", "Std.npy", "train.txt", "test.txt", "Annotations/Gait/train.csv",
            "Annotations/Gait/test.csv"} <= set(_files(root))
    for split in ("train", "test"):
        ids = (root / f"{split}.txt").read_text().split()
        assert ids == truth.loc[truth["split"] == split, "seq_id"].tolist()
        assert all((root / "new_joint_vecs" / f"{i}{suffix}.npy").is_file() for i in ids for suffix in ("", "_M"))
        rows = [line.split(",") for line in (root / "Annotations" / "Gait" / f"{split}.csv").read_text().splitlines()]
        assert all(len(row) == 3 and row[1].isdigit() and row[2] in "0123" for row in rows)  # no header
        keys = {parse_seq_id(i)["annotation_key"] for i in ids}
        assert keys == {row[0] for row in rows}
        side = truth[truth["split"] == split]
        assert (side["score"] == 3).any() and (side["n_frames"] < 30).sum() == 1
        for key, frames, _ in rows:  # a row's #frames is its whole recording: the segments and their last frames
            segments = side[[parse_seq_id(i)["annotation_key"] == key for i in side["seq_id"]]]
            assert int(frames) == (segments["n_frames"] + 1).sum()
    subjects = truth.groupby("split")["subject"].agg(set)
    assert not subjects["train"] & subjects["test"]


def test_mirrored_files_hold_the_mirrored_walk(written):
    root, truth = written
    seq_id = truth["seq_id"][0]
    plain = features_to_joints(np.load(root / "new_joint_vecs" / f"{seq_id}.npy"))
    mirrored = features_to_joints(np.load(root / "new_joint_vecs" / f"{seq_id}_M.npy"))
    assert np.abs(mirrored - mirror_joints(plain)).max() < 1e-5


def test_mean_and_std_are_over_training_walks_and_their_mirrors(written):
    root, truth = written
    train = [np.load(root / "new_joint_vecs" / f"{i}{suffix}.npy").astype(np.float64)
             for i in truth.loc[truth["split"] == "train", "seq_id"] for suffix in ("", "_M")]
    stacked = np.concatenate(train)
    assert np.allclose(np.load(root / "Mean.npy"), stacked.mean(axis=0), atol=1e-6)
    std = np.load(root / "Std.npy")
    for block in SLICES.values():
        assert np.allclose(std[block], stacked[:, block].std(axis=0).mean(), rtol=1e-5)


def test_scores_follow_pd_gam_shares_and_stay_near_each_persons_level():
    scores = generate._scores(np.random.default_rng(0), 400, 5, np.zeros(400, dtype=bool))
    shares = np.bincount(scores.ravel(), minlength=4) / scores.size
    # a person's level is drawn with PD-GaM's shares; walks one off it spread the shares a little (3: 5 % vs 2 %)
    assert np.allclose(shares, generate.PD_GAM_COUNTS / generate.PD_GAM_COUNTS.sum(), atol=0.06)
    assert (np.ptp(scores, axis=1) <= 2).all() and (np.ptp(scores, axis=1) == 0).mean() > 0.2


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path):
    with pytest.raises(InputError) as error:
        generate.write_pd_gam(tmp_path / "x", n_subjects=1)
    assert str(error.value) == BAD_VALUE.format(arg="n_subjects", expected="an integer >= 2", received="1", fix="")
    with pytest.raises(InputError) as error:
        generate.write_gaitgen(tmp_path / "y" / "g.npz", n_walks=4, format="json")
    assert str(error.value) == BAD_VALUE.format(arg="format", expected="one of npz, pickle", received="'json'", fix="")
    with pytest.raises(InputError, match="max_len must be an integer >= min_len"):
        generate.write_gaitgen(tmp_path / "y" / "g.npz", n_walks=4, min_len=50, max_len=40)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_gaitgen_walks_carry_a_share_of_adjacent_wrong_scores(tmp_path):
    path = tmp_path / "gaitgen.npz"
    truth = generate.write_gaitgen(path, n_walks=20, seed=2, min_len=30, max_len=60)
    assert truth["wrong_label"].sum() == 4 and (np.abs(truth["true_score"] - truth["given_score"])[
        truth["wrong_label"]] == 1).all()
    assert truth["subject"].str.startswith("G").all()  # no real (numeric) subject id
    assert pd.read_csv(tmp_path / "render_truth.csv", dtype={"subject": str}).equals(truth)
    assert load_gaitgen(path).table["score"].tolist() == truth["given_score"].tolist()


def _roughness(path: Path) -> float:
    """Mean absolute second difference of the joints (m per frame^2): jitter and irregularity."""
    return float(np.mean([np.abs(np.diff(features_to_joints(seq), 2, axis=0)).mean()
                          for seq in load_gaitgen(path).sequences]))


def test_gaitgen_domain_shift_is_smoother(tmp_path):
    options = {"n_walks": 8, "seed": 4, "min_len": 60, "max_len": 60}
    generate.write_gaitgen(tmp_path / "shifted" / "g.npz", **options)
    generate.write_gaitgen(tmp_path / "plain" / "g.npz", domain_shift=False, **options)
    assert _roughness(tmp_path / "shifted" / "g.npz") < 0.7 * _roughness(tmp_path / "plain" / "g.npz")


def test_a_simple_gait_measure_already_sees_the_severity(tmp_path):
    path = tmp_path / "g.npz"
    truth = generate.write_gaitgen(path, n_walks=40, seed=8, wrong_label_share=0.0, domain_shift=False,
                                   min_len=90, max_len=150)
    joints = [features_to_joints(seq) for seq in load_gaitgen(path).sequences]
    speed = [np.linalg.norm(j[-1, 0, [0, 2]] - j[0, 0, [0, 2]]) / len(j) * 30 for j in joints]
    arm_swing = [np.ptp(j[:, INDEX["l_wrist"], 2] - j[:, 0, 2]) + np.ptp(j[:, INDEX["r_wrist"], 2] - j[:, 0, 2])
                 for j in joints]
    assert spearmanr(speed, truth["true_score"]).statistic < -0.5
    assert spearmanr(arm_swing, truth["true_score"]).statistic < -0.5
