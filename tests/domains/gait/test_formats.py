"""The PD-GaM loader and the walk set: tables, sequences, counted skips, and every bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from lilaw_health.core.errors import FILE_MISSING, InputError
from lilaw_health.domains.gait import formats
from lilaw_health.domains.gait.generate import write_pd_gam

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
