"""The CARE-PD loader: SMPL pickles behind the opt-in, H36M .npz joints with given scores, bad entries."""

from __future__ import annotations

import joblib
import numpy as np
import pytest

from lilaw_health.core.errors import InputError
from lilaw_health.domains.gait import care_pd
from lilaw_health.domains.gait.formats import PICKLE_REFUSED


def _error(call, *args, **kwargs) -> str:
    with pytest.raises(InputError) as error:
        call(*args, **kwargs)
    return str(error.value)


def _care_pd_walk(frames: int, score, rng) -> dict:
    return {"pose": rng.normal(size=(frames, 72)), "trans": rng.normal(size=(frames, 3)), "beta": np.zeros(10),
            "fps": 30, "UPDRS_GAIT": score, "medication": "on", "other": None}


def test_care_pd_pickle_counts_unlabelled_walks_and_records_the_label_set(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "BMCLab.pkl"
    joblib.dump({"SUB01": {"walk_1": _care_pd_walk(60, 1, rng), "walk_2": _care_pd_walk(50, None, rng)},
                 "SUB02": {"walk_1": _care_pd_walk(45, 2, rng), "walk_3": _care_pd_walk(20, 0, rng)}}, path)
    fix = care_pd.CARE_PD_PICKLE_FIX
    assert _error(care_pd.load_care_pd, path) == PICKLE_REFUSED.format(path=path, fix=fix)
    walks = care_pd.load_care_pd(path, trust_pickle=True)
    assert walks.table["seq_id"].tolist() == ["SUB01__walk_1", "SUB02__walk_1"]
    assert walks.table["subject"].tolist() == ["SUB01", "SUB02"] and walks.table["cohort"].eq("BMCLab").all()
    assert walks.table["label_set"].eq("0-2").all() and walks.table["medication"].eq("on").all()
    assert walks.report.unlabelled == ["SUB01__walk_2"] and walks.report.too_short == ["SUB02__walk_3"]
    assert walks.sequences[0].shape == (60, 75)
    assert np.allclose(walks.sequences[0][:, care_pd.SMPL_TRANS], joblib.load(path)["SUB01"]["walk_1"]["trans"])


def test_care_pd_bad_score_is_refused(tmp_path):
    path = tmp_path / "cohort.pkl"
    joblib.dump({"S": {"w": _care_pd_walk(40, 7, np.random.default_rng(0))}}, path)
    assert _error(care_pd.load_care_pd, path, trust_pickle=True) == care_pd.CARE_PD_ENTRY.format(
        path=path, subject="S", walk="w", problem="UPDRS_GAIT 7")


def test_care_pd_npz_joints_take_scores_from_labels(tmp_path):
    path = tmp_path / "h36m_3d_world_floorXZZplus_30f_or_longer.npz"
    np.savez(path, S1__w1=np.zeros((40, 17, 3)), S1__w2=np.zeros((2, 35, 17, 3)), S2__w1=np.zeros((40, 17, 3)))
    assert _error(care_pd.load_care_pd, path) == care_pd.CARE_PD_LABELS.format(path=path)
    walks = care_pd.load_care_pd(path, labels={"S1__w1": 3, "S1__w2": 0}, cohort="PD-GaM")
    assert walks.table["seq_id"].tolist() == ["S1__w1", "S1__w2"] and walks.table["label_set"].eq("0-3").all()
    assert walks.sequences[1].shape == (35, 17, 3) and walks.report.unlabelled == ["S2__w1"]
    np.savez(path, S1__w1=np.zeros((40, 22, 3)))
    assert _error(care_pd.load_care_pd, path, labels={}) == care_pd.CARE_PD_NPZ.format(
        path=path, key="S1__w1", shape=(40, 22, 3), fix="")
