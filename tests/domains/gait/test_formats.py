"""Loaders of PD-GaM, GAITGen and CARE-PD files: tables, sequences, counted skips, and every bad input."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import joblib
import numpy as np
import pytest

from lilaw_health.core.errors import FILE_MISSING, InputError
from lilaw_health.domains.gait import formats
from lilaw_health.domains.gait.generate import write_gaitgen, write_pd_gam

SMALL = {"n_subjects": 6, "walks_per_subject": 3, "min_len": 40, "max_len": 120, "seed": 3}


@pytest.fixture(scope="module")
def pd_gam(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("pd_gam")
    return root, write_pd_gam(root, **SMALL)


@pytest.fixture
def copy(pd_gam, tmp_path) -> Path:
    """A private copy of the generated PD-GaM folder, to corrupt."""
    return Path(shutil.copytree(pd_gam[0], tmp_path / "pd_gam"))


def _error(call, *args, **kwargs) -> str:
    with pytest.raises(InputError) as error:
        call(*args, **kwargs)
    return str(error.value)


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_pd_gam_table_and_sequences_match_what_was_written(pd_gam):
    root, truth = pd_gam
    walks = formats.load_pd_gam(root)
    listed = truth.sort_values("split", key=lambda split: split == "test", kind="stable")  # train.txt, then test.txt
    kept = listed[listed["n_frames"] >= 30].reset_index(drop=True)
    assert list(walks.table.columns) == [*formats.TABLE_COLUMNS, "walk", "mirror_path"]
    assert walks.table["seq_id"].tolist() == kept["seq_id"].tolist()
    for column in ("subject", "visit", "walk", "score", "split", "n_frames"):
        assert walks.table[column].tolist() == kept[column].tolist()
    assert sorted(walks.report.too_short) == sorted(truth.loc[truth["n_frames"] < 30, "seq_id"])
    assert walks.report.n_read == len(truth) and walks.report.n_kept == len(kept)
    assert walks.report.leaking_subjects == [] and walks.report.no_mirror == []
    raw = np.load(root / "new_joint_vecs" / f"{kept['seq_id'][0]}.npy")
    assert np.allclose(walks.sequences[0], (raw - walks.mean) / walks.std, atol=1e-5)
    assert walks.sequences[0].dtype == np.float32 and walks.table["fps"].eq(30.0).all()
    mirrored = np.load(root / "new_joint_vecs" / f"{kept['seq_id'][0]}_M.npy")
    assert np.allclose(walks.mirrored(0), (mirrored - walks.mean) / walks.std, atol=1e-5)
    assert np.array_equal(formats.load_pd_gam(root, normalise=False).sequences[0], raw)


def test_padded_sequences_and_masks(pd_gam):
    walks = formats.load_pd_gam(pd_gam[0], max_frames=64)
    features, mask = walks.padded()
    assert features.shape == (len(walks.sequences), 64, 263) and mask.dtype == bool
    assert mask.sum(axis=1).tolist() == [min(n, 64) for n in walks.table["n_frames"]]
    sequence, short_mask = formats.pad_or_crop(np.ones((3, 2)), 5)
    assert sequence.tolist() == [[1, 1]] * 3 + [[0, 0]] * 2 and short_mask.tolist() == [True] * 3 + [False] * 2
    cropped, long_mask = formats.pad_or_crop(np.arange(10.0)[:, None], 4)
    assert cropped[:, 0].tolist() == [0, 1, 2, 3] and long_mask.all()  # the start is kept


def test_seq_id_parse_of_a_published_id():
    assert formats.parse_seq_id("066-15-001939_wid00_0") == {
        "subject": "066", "visit": "15", "walk": "066-15-001939", "annotation_key": "15-001939_066"}


def test_annotations_beside_the_feature_folder_are_found(copy):
    motion = copy / "HumanML3Drep_30fps"
    motion.mkdir()
    for item in list(copy.iterdir()):
        if item.name not in ("Annotations", motion.name):
            shutil.move(str(item), motion / item.name)
    assert len(formats.load_pd_gam(motion).table) > 0  # GAITGen's layout: PDGaM/Annotations, PDGaM/HumanML3Drep_30fps


def test_wrong_feature_width_is_refused_naming_the_file(copy):
    seq_id = (copy / "train.txt").read_text().split()[0]
    path = copy / "new_joint_vecs" / f"{seq_id}.npy"
    np.save(path, np.zeros((50, 251), dtype=np.float32))
    assert _error(formats.load_pd_gam, copy) == formats.FEATURES_SHAPE.format(path=path, shape="(50, 251) (float32)")


def test_non_finite_walks_are_counted_and_dropped(copy):
    seq_id = (copy / "train.txt").read_text().split()[0]
    path = copy / "new_joint_vecs" / f"{seq_id}.npy"
    features = np.load(path)
    features[5, 10] = np.nan
    np.save(path, features)
    walks = formats.load_pd_gam(copy)
    assert walks.report.not_finite == [seq_id] and seq_id not in walks.table["seq_id"].tolist()
    assert "not_finite 1" in walks.report.summary()


def test_score_outside_0_3_is_refused_with_its_line(copy):
    path = copy / "Annotations" / "Gait" / "test.csv"
    lines = path.read_text().splitlines()
    walk, frames, _ = lines[1].split(",")
    lines[1] = f"{walk},{frames},4"
    path.write_text("\n".join(lines) + "\n")
    assert _error(formats.load_pd_gam, copy) == formats.SCORE_RANGE.format(path=path, line=2, score="4", walk=walk)


def test_a_header_or_short_row_is_refused(copy):
    path = copy / "Annotations" / "Gait" / "train.csv"
    path.write_text("walk,#frames,score\n" + path.read_text())
    assert _error(formats.load_pd_gam, copy) == formats.ANNOTATION_ROW.format(path=path, line=1,
                                                                              text="walk,#frames,score")


def test_listed_id_without_file_is_refused(copy):
    split_file = copy / "train.txt"
    split_file.write_text(split_file.read_text() + "099-12-000001_wid00_0\n")
    line = len(split_file.read_text().splitlines())
    assert _error(formats.load_pd_gam, copy) == formats.MISSING_SEQUENCE.format(
        split_file=split_file, line=line, seq_id="099-12-000001_wid00_0",
        path=copy / "new_joint_vecs" / "099-12-000001_wid00_0.npy")


def test_listed_id_without_annotation_is_refused(copy):
    split_file, seq_id = copy / "train.txt", (copy / "train.txt").read_text().split()[0]
    annotations = copy / "Annotations" / "Gait" / "train.csv"
    key = formats.parse_seq_id(seq_id)["annotation_key"]
    annotations.write_text("".join(f"{line}\n" for line in annotations.read_text().splitlines()
                                   if not line.startswith(f"{key},")))
    assert _error(formats.load_pd_gam, copy) == formats.NO_ANNOTATION.format(
        split_file=split_file, line=1, seq_id=seq_id, path=annotations, key=key)


def test_per_segment_annotation_must_agree_with_the_file(copy):
    seq_id = (copy / "test.txt").read_text().split()[0]
    path = copy / "Annotations" / "Gait" / "test.csv"
    frames = len(np.load(copy / "new_joint_vecs" / f"{seq_id}.npy"))
    path.write_text(path.read_text() + f"{seq_id},{frames},1\n")
    assert formats.load_pd_gam(copy).table.set_index("seq_id").loc[seq_id, "score"] == 1  # the segment's own row
    path.write_text(path.read_text().replace(f"{seq_id},{frames},1", f"{seq_id},{frames + 7},1"))
    assert _error(formats.load_pd_gam, copy) == formats.FRAMES_MISMATCH.format(
        path=path, line=_line_of(path, seq_id), expected=frames + 7, seq_id=seq_id,
        file=copy / "new_joint_vecs" / f"{seq_id}.npy", received=frames)


def test_segment_longer_than_its_recording_is_counted(copy):
    path = copy / "Annotations" / "Gait" / "train.csv"
    lines = path.read_text().splitlines()
    walk, _, score = lines[0].split(",")
    path.write_text("\n".join([f"{walk},10,{score}", *lines[1:]]) + "\n")
    report = formats.load_pd_gam(copy).report
    subject = walk.split("_")[1]
    assert report.longer_than_walk and all(seq_id.startswith(subject) for seq_id in report.longer_than_walk)


def test_duplicate_id_and_missing_or_bad_normalisation_are_refused(copy):
    first = (copy / "train.txt").read_text().split()[0]
    (copy / "test.txt").write_text((copy / "test.txt").read_text() + first + "\n")
    line = len((copy / "test.txt").read_text().splitlines())
    assert _error(formats.load_pd_gam, copy) == formats.DUPLICATE_ID.format(
        split_file=copy / "test.txt", line=line, seq_id=first, first="train.txt, line 1")
    np.save(copy / "Std.npy", np.zeros(263))
    assert _error(formats.load_pd_gam, copy) == formats.MEAN_STD.format(
        path=copy / "Std.npy", problem="shape (263,), min 0", positive=" of positive values")
    (copy / "Mean.npy").unlink()
    assert _error(formats.load_pd_gam, copy) == FILE_MISSING.format(
        what="PD-GaM normalisation file", path=copy / "Mean.npy",
        fix="Recompute it over the training features, or pass normalise=False.")


# --- GAITGen -----------------------------------------------------------------------------------------

class _TouchesAFile:
    """Unpickling this creates ``marker``: the stand-in for code a pickle could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_gaitgen_npz_and_pickle_hold_the_same_walks(tmp_path):
    truth = write_gaitgen(tmp_path / "a" / "gaitgen.npz", n_walks=6, seed=1, min_len=30, max_len=50)
    write_gaitgen(tmp_path / "b" / "gaitgen.pkl", n_walks=6, seed=1, min_len=30, max_len=50, format="pickle")
    from_npz = formats.load_gaitgen(tmp_path / "a" / "gaitgen.npz")
    from_pickle = formats.load_gaitgen(tmp_path / "b" / "gaitgen.pkl", trust_pickle=True, source="gg")
    assert from_npz.table["seq_id"].tolist() == truth["name"].tolist() == from_pickle.table["seq_id"].tolist()
    assert from_npz.table["score"].tolist() == truth["given_score"].tolist()
    assert from_pickle.table["subject"].iloc[0] == f"gg/{truth['name'][0]}"
    assert set(from_npz.table["split"]) == {"train"}
    assert all(np.array_equal(a, b) for a, b in zip(from_npz.sequences, from_pickle.sequences))
    converted = formats.convert_gaitgen(tmp_path / "b" / "gaitgen.pkl", tmp_path / "b" / "converted.npz")
    assert all(np.array_equal(a, b) for a, b in zip(formats.load_gaitgen(converted).sequences, from_npz.sequences))


def test_a_pickle_is_refused_without_the_opt_in_and_runs_nothing(tmp_path):
    marker, path = tmp_path / "pwned.txt", tmp_path / "gaitgen.pkl"
    path.write_bytes(pickle.dumps({"walk": {"feat_data": _TouchesAFile(marker), "updrs_score": 1}}))
    fix = formats.GAITGEN_PICKLE_FIX.format(path=str(path), npz=str(tmp_path / "gaitgen.npz"))
    assert _error(formats.load_gaitgen, path) == formats.PICKLE_REFUSED.format(path=path, fix=fix)
    assert "convert_gaitgen(" in fix and not marker.exists()
    with pytest.raises(InputError):  # trusted, it runs (the payload is live), then the entry is refused
        formats.load_gaitgen(path, trust_pickle=True)
    assert marker.exists()


def test_a_list_of_entries_is_read_and_bad_entries_are_refused(tmp_path):
    path = tmp_path / "list.pkl"
    joblib.dump([{"feat_data": np.zeros((40, 263)), "updrs_score": np.int64(2)}] * 2, path)
    walks = formats.load_gaitgen(path, trust_pickle=True)
    assert walks.table["seq_id"].tolist() == ["entry_0", "entry_1"] and walks.table["score"].tolist() == [2, 2]
    joblib.dump({"w": {"feat_data": np.zeros((40, 263)), "updrs_score": 5}}, path)
    assert _error(formats.load_gaitgen, path, trust_pickle=True) == formats.GAITGEN_ENTRY.format(
        path=path, name="w", problem="has updrs_score 5")
    joblib.dump({"w": {"feat_data": np.zeros((40, 66)), "updrs_score": 1}}, path)
    assert _error(formats.load_gaitgen, path, trust_pickle=True) == formats.GAITGEN_ENTRY.format(
        path=path, name="w", problem="has feat_data of shape (40, 66) (float64)")


def test_npz_is_read_without_pickle_and_checked(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, names=np.array(["a"], dtype=object), score=np.array([1]), feat_0=np.zeros((40, 263)))
    message = _error(formats.load_gaitgen, path)
    assert message.startswith(f"{path}: it cannot be read without pickle (") and "convert_gaitgen" in message
    np.savez(path, names=np.array(["a", "b"]), score=np.array([1, 2]), feat_0=np.zeros((40, 263)))
    assert _error(formats.load_gaitgen, path) == formats.GAITGEN_NPZ.format(path=path, problem="no array feat_1")
    short = formats.write_gaitgen_npz(tmp_path / "short.npz", ["a", "b"], [0, 3], [np.zeros((40, 263)),
                                                                                   np.zeros((10, 263))])
    assert formats.load_gaitgen(short).report.too_short == ["b"]


# --- CARE-PD -------------------------------------------------------------------------------------------

def _care_pd_walk(frames: int, score, rng) -> dict:
    return {"pose": rng.normal(size=(frames, 72)), "trans": rng.normal(size=(frames, 3)), "beta": np.zeros(10),
            "fps": 30, "UPDRS_GAIT": score, "medication": "on", "other": None}


def test_care_pd_pickle_counts_unlabelled_walks_and_records_the_label_set(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "BMCLab.pkl"
    joblib.dump({"SUB01": {"walk_1": _care_pd_walk(60, 1, rng), "walk_2": _care_pd_walk(50, None, rng)},
                 "SUB02": {"walk_1": _care_pd_walk(45, 2, rng), "walk_3": _care_pd_walk(20, 0, rng)}}, path)
    fix = formats.CARE_PD_PICKLE_FIX
    assert _error(formats.load_care_pd, path) == formats.PICKLE_REFUSED.format(path=path, fix=fix)
    walks = formats.load_care_pd(path, trust_pickle=True)
    assert walks.table["seq_id"].tolist() == ["SUB01__walk_1", "SUB02__walk_1"]
    assert walks.table["subject"].tolist() == ["SUB01", "SUB02"] and walks.table["cohort"].eq("BMCLab").all()
    assert walks.table["label_set"].eq("0-2").all() and walks.table["medication"].eq("on").all()
    assert walks.report.unlabelled == ["SUB01__walk_2"] and walks.report.too_short == ["SUB02__walk_3"]
    assert walks.sequences[0].shape == (60, 75)
    assert np.allclose(walks.sequences[0][:, formats.SMPL_TRANS], joblib.load(path)["SUB01"]["walk_1"]["trans"])


def test_care_pd_bad_score_is_refused(tmp_path):
    path = tmp_path / "cohort.pkl"
    joblib.dump({"S": {"w": _care_pd_walk(40, 7, np.random.default_rng(0))}}, path)
    assert _error(formats.load_care_pd, path, trust_pickle=True) == formats.CARE_PD_ENTRY.format(
        path=path, subject="S", walk="w", problem="UPDRS_GAIT 7")


def test_care_pd_npz_joints_take_scores_from_labels(tmp_path):
    path = tmp_path / "h36m_3d_world_floorXZZplus_30f_or_longer.npz"
    np.savez(path, S1__w1=np.zeros((40, 17, 3)), S1__w2=np.zeros((2, 35, 17, 3)), S2__w1=np.zeros((40, 17, 3)))
    assert _error(formats.load_care_pd, path) == formats.CARE_PD_LABELS.format(path=path)
    walks = formats.load_care_pd(path, labels={"S1__w1": 3, "S1__w2": 0}, cohort="PD-GaM")
    assert walks.table["seq_id"].tolist() == ["S1__w1", "S1__w2"] and walks.table["label_set"].eq("0-3").all()
    assert walks.sequences[1].shape == (35, 17, 3) and walks.report.unlabelled == ["S2__w1"]
    np.savez(path, S1__w1=np.zeros((40, 22, 3)))
    assert _error(formats.load_care_pd, path, labels={}) == formats.CARE_PD_NPZ.format(
        path=path, key="S1__w1", shape=(40, 22, 3), fix="")
