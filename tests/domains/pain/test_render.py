"""The pain data generator: real photos, pain as PSPI's facial actions, both on-disk layouts, seeded.

The warp must be learnable: on rendered frames of one identity, MediaPipe (through
``faces.detect_face``) must see the brows come down and the eyes narrow as PSPI grows.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.stats import spearmanr

from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.domains.pain import render, warp
from lilaw_health.domains.pain.faces import detect_face
from lilaw_health.domains.pain.folds import subject_folds
from lilaw_health.domains.pain.formats import load_frames_csv
from lilaw_health.domains.pain.synpain import load_synpain


@pytest.fixture(scope="module")
def clinical(tmp_path_factory):
    return render.write_clinical(tmp_path_factory.mktemp("clinical"), n_subjects=3, frames_per_subject=4, seed=7)


@pytest.fixture(scope="module")
def synpain(tmp_path_factory):
    return render.write_synpain(tmp_path_factory.mktemp("synpain"), n_identities=5, seed=7, wrong_label_share=0.4)


def _digests(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("pspi", range(17))
def test_au_intensities_add_up_to_pspi(pspi):
    for seed in range(5):
        au = render.au_intensities(pspi, np.random.default_rng(seed))
        assert render.pspi_of(au) == pspi
        assert all(0 <= au[name] <= 5 for name in au) and au["AU43"] <= 1


def test_clinical_layout_loads_with_assigned_demographics(clinical):
    table, report = load_frames_csv(clinical)
    assert len(table) == 12 and report.skipped == {} and table["subject"].nunique() == 3
    assert set(table["age"]) <= {"Young", "Old"} and set(table["cohort"]) <= {"dementia", "no_dementia"}
    assert table.groupby("subject")[["age", "gender", "cohort"]].nunique().eq(1).all().all()
    assert (table["label"] == (table["pspi"] > 0)).all() and table["pspi"].between(0, 16).all()
    image = np.asarray(Image.open(table["path"][0]))
    assert image.shape == (warp.SIZE, warp.SIZE, 3) and image.std() > 10
    truth = pd.read_csv(clinical.parent / "render_truth.csv")
    assert np.array_equal(truth["pspi"], table["pspi"])
    assert all(render.pspi_of(row) == row["pspi"] for row in truth.to_dict("records"))


def test_synpain_layout_loads_as_packed_pairs_with_recorded_wrong_labels(synpain):
    table, report = load_synpain(synpain)
    assert len(table) == 5 and set(table["region"]) == {"right"} and set(table["reference_region"]) == {"left"}
    assert table["fold"].notna().all() and report.checks == {}
    assert len(subject_folds(table, scheme="given")) == 5
    with Image.open(table["path"][0]) as image:
        assert image.size == (2 * warp.SIZE, warp.SIZE)
    truth = pd.read_csv(synpain.parent / "render_truth.csv", dtype={"id": str})
    names = table["path"].map(lambda p: p.rsplit("/", 1)[1])
    merged = truth.set_index("file").loc[names]
    assert np.array_equal(merged["written_label"], table["label"])
    assert merged["wrong_label"].sum() == 2  # round(0.4 * 5)
    assert ((merged["written_label"] != merged["true_label"]) == merged["wrong_label"].astype(bool)).all()
    assert (merged.loc[merged["true_label"] == 1, "pspi"] >= 4).all()
    assert (merged.loc[merged["true_label"] == 0, "pspi"] == 0).all()


def test_identities_are_disjoint_between_the_two_sets(clinical, synpain):
    assert not set(render.POOLS["clinical"]) & set(render.POOLS["synpain"])
    clinical_photos = set(pd.read_csv(clinical.parent / "render_truth.csv")["source_photo"])
    synpain_photos = set(pd.read_csv(synpain.parent / "render_truth.csv")["source_photo"])
    assert len(clinical_photos) == 3 and len(synpain_photos) == 5 and not clinical_photos & synpain_photos


def test_same_seed_same_bytes_other_seed_other_images(clinical, synpain, tmp_path):
    again = render.write_clinical(tmp_path / "a", n_subjects=3, frames_per_subject=4, seed=7)
    assert _digests(again.parent) == _digests(clinical.parent)
    assert _digests(render.write_synpain(tmp_path / "b", n_identities=5, seed=7, wrong_label_share=0.4).parent) \
        == _digests(synpain.parent)
    other = render.write_clinical(tmp_path / "c", n_subjects=1, frames_per_subject=2, seed=8)
    other_frames = _digests(other.parent / "frames")
    assert len(other_frames) == 2 and set(other_frames.values()).isdisjoint(_digests(clinical.parent / "frames").values())


def test_synpain_style_is_a_visible_domain_shift():
    identity = render.identity("astronaut")
    plain = warp.render_face(identity, {}).astype(float)
    shifted = warp.render_face(identity, {}, style="synpain").astype(float)
    warmth = [image[..., 0].mean() / image[..., 2].mean() for image in (plain, shifted)]
    sharpness = [np.abs(np.diff(image.mean(axis=2), axis=1)).mean() for image in (plain, shifted)]
    assert warmth[1] > 1.15 * warmth[0] and sharpness[1] < 0.9 * sharpness[0]


def _brow_and_eye_openness(image: np.ndarray) -> float:
    """(eye-corner height - brow height + eye aperture) / inter-ocular distance, from MediaPipe's landmarks."""
    face = detect_face(image)
    assert face is not None
    points = face.image_landmarks[:, :2] * image.shape[1::-1]
    iod = np.linalg.norm((points[33] + points[133]) / 2 - (points[263] + points[362]) / 2)
    brow_height = points[[33, 133, 362, 263], 1].mean() - points[[105, 66, 334, 296, 107, 336], 1].mean()
    aperture = (points[145, 1] - points[159, 1] + points[374, 1] - points[386, 1]) / 2
    return float((brow_height + aperture) / iod)


@pytest.mark.parametrize(("names", "minimum"), [(("astronaut",), 0.7), (("lfw12", "lfw29", "lfw71"), 0.5)])
def test_the_warp_is_learnable_from_landmarks(names, minimum):
    levels = [0, 2, 4, 6, 8, 10, 12, 14, 16]
    correlations = []
    for name in names:
        identity, rng = render.identity(name), np.random.default_rng(0)
        openness = [_brow_and_eye_openness(warp.render_face(identity, render.au_intensities(p, rng)))
                    for p in levels]
        correlations.append(-spearmanr(levels, openness).statistic)
    assert np.mean(correlations) > minimum, correlations


def _brow_height_and_aperture(image: np.ndarray) -> np.ndarray:
    points = detect_face(image).image_landmarks[:, :2] * image.shape[1::-1]
    iod = np.linalg.norm((points[33] + points[133]) / 2 - (points[263] + points[362]) / 2)
    brow_height = points[[33, 133, 362, 263], 1].mean() - points[[105, 66, 334, 296, 107, 336], 1].mean()
    return np.array([brow_height, (points[145, 1] - points[159, 1] + points[374, 1] - points[386, 1]) / 2]) / iod


def test_the_geometric_warp_lowers_the_brows_and_closes_the_eyes():
    """Measured with MediaPipe; the shading alone moves the brows by about 0.01 and the lids not at all."""
    for name in ("astronaut", "lfw29"):
        identity = render.identity(name)
        neutral = _brow_height_and_aperture(warp.render_face(identity, {}))
        lowered = _brow_height_and_aperture(warp.render_face(identity, {"AU4": 5}))
        assert neutral[0] - lowered[0] > 0.035, (name, neutral, lowered)
    astronaut = render.identity("astronaut")
    closed = _brow_height_and_aperture(warp.render_face(astronaut, {"AU43": 1}))
    assert closed[1] < 0.85 * _brow_height_and_aperture(warp.render_face(astronaut, {}))[1]


def test_pain_changes_the_face_not_the_background():
    identity = render.identity("astronaut")
    neutral = warp.render_face(identity, {}).astype(float)
    pain = warp.render_face(identity, {"AU4": 5, "AU6": 5, "AU7": 5, "AU9": 5, "AU10": 5, "AU43": 1}).astype(float)
    changed = np.abs(pain - neutral).mean(axis=2) > 8
    assert changed[40:120, 40:120].mean() > 0.05  # the face, around the eyes, nose and mouth
    assert changed[:, :15].mean() == 0 and changed[:, -15:].mean() == 0  # the background at the sides


def _raises(message: str, call, *args, **kwargs) -> None:
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        call(*args, **kwargs)


def test_bad_arguments(tmp_path):
    prefix, suffix = render.TOO_MANY.format(arg="n", received=60, available="#", pool="synpain").split("#")
    with pytest.raises(InputError, match=f"^{re.escape(prefix)}4[0-9]{re.escape(suffix)}$"):
        render.identities("synpain", 60, 0)  # about 48 of the 50 photos have a face MediaPipe finds
    _raises(BAD_VALUE.format(arg="wrong_label_share", expected="a share in 0..1", received="1.5", fix="e.g. 0.2"),
            render.write_synpain, tmp_path, n_identities=2, seed=0, wrong_label_share=1.5)
    _raises(BAD_VALUE.format(arg="n_subjects", expected="a positive integer", received="0", fix=""),
            render.write_clinical, tmp_path, n_subjects=0, frames_per_subject=2, seed=0)
    _raises(BAD_VALUE.format(arg="style", expected=f"one of {warp.STYLES}", received="'cartoon'", fix=""),
            warp.render_face, render.identity("astronaut"), {}, style="cartoon")
    assert not any(tmp_path.iterdir())  # nothing written before the checks
