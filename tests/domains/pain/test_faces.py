"""Face detection, alignment, pose, mirror table and cached extraction, on real MediaPipe and real faces.

The faces are scikit-image's astronaut (512x512 RGB) and a 60x60 cut of it; files are
written to a temporary folder (PNG, a JPEG cut in half, random bytes, a side-by-side pair).
"""

from __future__ import annotations

import io
import logging
import shutil

import numpy as np
import pytest
from mediapipe.python.solutions import face_mesh_connections as connections
from PIL import Image
from skimage import data

from lilaw_health.core.errors import BAD_VALUE, SHAPE, InputError
from lilaw_health.domains.pain import faces
from lilaw_health.domains.pain.face_cache import NO_FACE, UNREADABLE, YAW_GATED
from lilaw_health.domains.pain.faces import LANDMARKS, detect_face, extract_faces, mirror_index

RIGHT_EYE, LEFT_EYE = (33, 133), (263, 362)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def face(astronaut):
    return detect_face(astronaut)


@pytest.fixture(scope="module")
def small_face(astronaut) -> np.ndarray:
    return np.asarray(Image.fromarray(astronaut[40:210, 140:310]).resize((60, 60), Image.BICUBIC))


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def files(tmp_path_factory, astronaut, small_face, noise):
    """name -> path: two faces, a face-free image, random bytes, a truncated JPEG and a side-by-side pair."""
    folder = tmp_path_factory.mktemp("images")
    jpeg = io.BytesIO()
    Image.fromarray(astronaut).save(jpeg, "JPEG")
    paths = {"astronaut": folder / "astronaut.png", "small": folder / "small.png", "noise": folder / "noise.png",
             "random": folder / "random.jpg", "truncated": folder / "truncated.jpg", "pair": folder / "pair.png"}
    Image.fromarray(astronaut).save(paths["astronaut"])
    Image.fromarray(small_face).save(paths["small"])
    Image.fromarray(noise).save(paths["noise"])
    paths["random"].write_bytes(np.random.default_rng(1).bytes(2000))
    paths["truncated"].write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    Image.fromarray(np.concatenate([astronaut, noise.repeat(2, 0).repeat(2, 1)], axis=1)).save(paths["pair"])
    return paths


def _eye_centres(landmarks: np.ndarray) -> np.ndarray:
    return np.stack([landmarks[list(RIGHT_EYE), :2].mean(0), landmarks[list(LEFT_EYE), :2].mean(0)])


# --- detect_face --------------------------------------------------------------------------------

def test_astronaut_gives_468_landmarks_an_aligned_crop_and_a_plausible_pose(face):
    assert face.landmarks.shape == face.image_landmarks.shape == (LANDMARKS, 3) == (468, 3)
    assert face.landmarks.dtype == face.image_landmarks.dtype == np.float32
    assert face.crop.shape == (112, 112) and face.crop.dtype == np.uint8
    assert face.notes == ()
    assert abs(face.yaw) < 30 and abs(face.roll) < 15
    # the eye centres sit on the alignment targets, level, in the crop's coordinates
    np.testing.assert_allclose(_eye_centres(face.landmarks), faces._EYE_TARGETS, atol=1e-4)
    # in the original image the face is in the upper middle (the astronaut's face spans x 0.35-0.53)
    assert 0.3 < face.image_landmarks[1, 0] < 0.6 and 0.1 < face.image_landmarks[1, 1] < 0.4
    assert 60 < face.crop.mean() < 200  # image content, not the black border


def test_the_mirror_image_has_the_opposite_yaw_and_roll(astronaut, face):
    mirrored = detect_face(np.ascontiguousarray(astronaut[:, ::-1]))
    assert abs(face.yaw) > 2 and np.sign(mirrored.yaw) == -np.sign(face.yaw)
    assert mirrored.yaw == pytest.approx(-face.yaw, abs=3)
    assert mirrored.roll == pytest.approx(-face.roll, abs=3)
    assert mirrored.pitch == pytest.approx(face.pitch, abs=3)


@pytest.mark.parametrize("make", [lambda image: np.zeros_like(image), lambda image: image[::-1, ::-1] * 0 + 128])
def test_blank_images_have_no_face(astronaut, make):
    assert detect_face(make(astronaut)) is None


def test_noise_has_no_face_and_the_face_mesh_is_reused(face, noise):
    mesh = faces._face_mesh
    assert mesh is not None and detect_face(noise) is None
    assert faces._face_mesh is mesh


def test_grayscale_rgba_and_float_images_are_converted_and_noted(astronaut, face):
    gray = np.round(astronaut @ [0.299, 0.587, 0.114]).astype(np.uint8)
    from_gray = detect_face(gray)
    assert from_gray.notes == ("converted from grayscale",)
    assert np.abs(from_gray.image_landmarks[:, :2] - face.image_landmarks[:, :2]).mean() < 0.003
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    from_rgba = detect_face(rgba)
    assert from_rgba.notes == ("converted from RGBA",)
    np.testing.assert_array_equal(from_rgba.landmarks, face.landmarks)
    from_float = detect_face(astronaut / 255.0)
    assert from_float.notes == ()
    np.testing.assert_array_equal(from_float.crop, face.crop)


def test_a_small_image_is_upscaled_before_detection(small_face, face):
    small = detect_face(small_face, crop_size=64)
    assert small is not None and small.notes == ("upscaled from 60x60 to 192x192",)
    assert small.crop.shape == (64, 64)
    np.testing.assert_allclose(_eye_centres(small.landmarks), faces._EYE_TARGETS, atol=1e-4)
    # back in the astronaut's pixels (the cut is rows 40-210, columns 140-310), the landmarks agree
    in_astronaut = (small.image_landmarks[:, :2] * 170 + (140, 40)) / 512
    assert np.abs(in_astronaut - face.image_landmarks[:, :2]).mean() < 0.005


@pytest.mark.parametrize(("image", "message"), [
    (np.zeros(5, np.uint8), SHAPE.format(arg="image", expected="(H, W), (H, W, 3) or (H, W, 4)", received=(5,),
                                         fix=faces.IMAGE_FIX)),
    (np.zeros((8, 8, 2), np.uint8), SHAPE.format(arg="image", expected="(H, W), (H, W, 3) or (H, W, 4)",
                                                 received=(8, 8, 2), fix=faces.IMAGE_FIX)),
    (np.zeros((8, 8), np.int16), BAD_VALUE.format(arg="image dtype", expected="uint8 or float in [0, 1]",
                                                  received=np.dtype(np.int16), fix=faces.IMAGE_FIX)),
    (np.full((8, 8), 255.0), BAD_VALUE.format(arg="image values", expected="uint8 or float in [0, 1]",
                                              received="float values in [255, 255]",
                                              fix="Divide 0..255 floats by 255, or pass uint8.")),
])
def test_bad_image_arrays_are_refused(image, message):
    with pytest.raises(InputError) as error:
        detect_face(image)
    assert str(error.value) == message


def test_bad_crop_size_is_refused(astronaut):
    with pytest.raises(InputError) as error:
        detect_face(astronaut, crop_size=0)
    assert str(error.value) == BAD_VALUE.format(arg="crop_size", expected="a positive integer", received="0",
                                                fix="Pass e.g. 112.")


# --- mirror_index -------------------------------------------------------------------------------

def test_mirror_index_is_an_involution_pairing_left_and_right():
    mirror = mirror_index()
    assert mirror.shape == (468,) and mirror.dtype.kind == "i"
    np.testing.assert_array_equal(mirror[mirror], np.arange(468))
    assert mirror[33] == 263 and mirror[133] == 362 and mirror[61] == 291 and mirror[1] == 1 and mirror[152] == 152
    assert np.sum(mirror == np.arange(468)) == 28
    mirror[0] = 5  # a copy: the table itself is untouched
    assert mirror_index()[0] == 0


@pytest.mark.parametrize(("one_side", "other_side"), [
    (connections.FACEMESH_RIGHT_EYE, connections.FACEMESH_LEFT_EYE),
    (connections.FACEMESH_RIGHT_EYEBROW, connections.FACEMESH_LEFT_EYEBROW),
    (connections.FACEMESH_LIPS, connections.FACEMESH_LIPS),
    (connections.FACEMESH_FACE_OVAL, connections.FACEMESH_FACE_OVAL),
    (connections.FACEMESH_NOSE, connections.FACEMESH_NOSE),
])
def test_mirror_index_maps_mediapipe_contours_onto_their_mirror(one_side, other_side):
    mirror = mirror_index()
    assert {frozenset(mirror[list(edge)]) for edge in one_side} == {frozenset(edge) for edge in other_side}


def test_mirror_index_matches_the_landmarks_of_a_mirrored_photo(astronaut, face):
    mirrored = detect_face(np.ascontiguousarray(astronaut[:, ::-1])).image_landmarks[:, :2]
    unflipped = np.column_stack([1 - mirrored[:, 0], mirrored[:, 1]])
    eye_span = np.linalg.norm(face.image_landmarks[33, :2] - face.image_landmarks[263, :2])
    error = np.linalg.norm(unflipped[mirror_index()] - face.image_landmarks[:, :2], axis=1) / eye_span
    unpaired = np.linalg.norm(unflipped - face.image_landmarks[:, :2], axis=1) / eye_span
    assert np.median(error) < 0.03 and error.max() < 0.15
    assert np.median(unpaired) > 5 * np.median(error)


# --- extract_faces ------------------------------------------------------------------------------

def test_extract_faces_reports_every_item(files, tmp_path):
    items = [files["astronaut"], files["small"], files["noise"], files["random"], files["truncated"],
             tmp_path / "missing.png"]
    table = extract_faces(items, cache_dir=tmp_path / "cache")
    assert list(table.status) == ["ok", "ok", "no_face", "unreadable", "unreadable", "unreadable"]
    assert table.counts() == {"ok": 2, "yaw": 0, "no_face": 1, "unreadable": 3} and table.computed == 6
    np.testing.assert_array_equal(table.ok, [True, True, False, False, False, False])
    assert table.landmarks.shape == (6, 468, 3) and table.crops.shape == (6, 112, 112)
    assert not np.isnan(table.landmarks[:2]).any() and np.isnan(table.landmarks[2:]).all()
    assert table.crops[:2].any(axis=(1, 2)).all() and not table.crops[2:].any()
    assert np.isfinite(table.yaw[:2]).all() and np.isnan(table.yaw[2:]).all()
    assert table.notes[:3] == [(), ("upscaled from 60x60 to 192x192",), ()]
    assert table.errors[:3] == ["", "", NO_FACE.format(item=files["noise"])]
    assert table.errors[3] == UNREADABLE.format(item=files["random"], reason="not an image file PIL can identify")
    assert table.errors[4].startswith(f"{files['truncated']}: cannot read the image (OSError: image file is truncated")
    assert table.errors[5].startswith(f"{tmp_path / 'missing.png'}: cannot read the image (FileNotFoundError")
    assert table.summary_lines() == ["faces: 2 of 6 items ok (1 no_face, 3 unreadable)",
                                     "1 image upscaled before detection",
                                     "6 items extracted now, 0 read from the cache"]


def test_grayscale_files_are_read_and_16_bit_files_refused(astronaut, tmp_path):
    gray = np.round(astronaut @ [0.299, 0.587, 0.114]).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "deep.png")
    table = extract_faces([tmp_path / "gray.png", tmp_path / "deep.png"], cache_dir=tmp_path / "cache")
    assert list(table.status) == ["ok", "unreadable"] and table.notes[0] == ("converted from grayscale",)
    assert table.errors[1] == UNREADABLE.format(
        item=tmp_path / "deep.png", reason="ValueError: PIL mode I;16 (16-bit or float pixels) is not read; save "
        "it as 8-bit")


def test_the_cache_is_keyed_by_content_and_survives_renames(files, tmp_path):
    cache = tmp_path / "cache"
    first = extract_faces([files["astronaut"], files["random"]], cache_dir=cache)
    again = extract_faces([files["astronaut"], files["random"]], cache_dir=cache)
    assert (first.computed, again.computed) == (2, 0)
    np.testing.assert_array_equal(again.landmarks, first.landmarks)
    np.testing.assert_array_equal(again.crops, first.crops)
    assert again.errors == first.errors and again.yaw[0] == first.yaw[0]
    renamed = tmp_path / "renamed.png"
    shutil.copy(files["astronaut"], renamed)
    assert extract_faces([renamed], cache_dir=cache).computed == 0
    edited = np.asarray(Image.open(renamed)).copy()
    edited[0, 0] ^= 1
    Image.fromarray(edited).save(renamed)
    assert extract_faces([renamed], cache_dir=cache).computed == 1
    assert extract_faces([renamed], cache_dir=cache, crop_size=64).computed == 1  # the crop size is in the key
    for stored in cache.glob("*.npz"):  # plain arrays only: readable without unpickling
        with np.load(stored, allow_pickle=False) as arrays:
            assert all(arrays[name].dtype != object for name in arrays.files)
    assert len(list(cache.glob("*.npz"))) == 4 and not list(cache.glob(".*"))


def test_an_interrupted_extraction_resumes(files, tmp_path):
    items = [files["astronaut"], files["small"], files["noise"], files["truncated"]]
    assert extract_faces(items[:2], cache_dir=tmp_path).computed == 2
    table = extract_faces(items, cache_dir=tmp_path, progress=True)
    assert table.computed == 2 and list(table.status) == ["ok", "ok", "no_face", "unreadable"]
    assert table.summary_lines()[-1] == "2 items extracted now, 2 read from the cache"


def test_the_yaw_gate_applies_to_cached_results(files, tmp_path):
    wide = extract_faces([files["astronaut"]], cache_dir=tmp_path, max_yaw=None)
    tight = extract_faces([files["astronaut"]], cache_dir=tmp_path, max_yaw=0.5)
    assert tight.computed == 0 and list(tight.status) == ["yaw"] and list(wide.status) == ["ok"]
    assert tight.yaw[0] == wide.yaw[0] and abs(tight.yaw[0]) > 0.5
    assert np.isnan(tight.landmarks).all() and not tight.crops.any()
    assert tight.errors == [YAW_GATED.format(item=files["astronaut"], yaw=wide.yaw[0], max_yaw=0.5)]
    assert tight.summary_lines()[:2] == ["faces: 0 of 1 items ok (1 yaw)",
                                         "yaw gate: 1 of 1 faces have |yaw| above 0.5 degrees and are left out"]


def test_each_half_of_a_side_by_side_pair_is_its_own_item(files, tmp_path, face):
    table = extract_faces([(files["pair"], "left"), (files["pair"], "right")], cache_dir=tmp_path)
    assert list(table.status) == ["ok", "no_face"] and table.computed == 2
    assert table.errors[1] == NO_FACE.format(item=f"{files['pair']} (right half)")
    np.testing.assert_array_equal(table.crops[0], face.crop)


@pytest.mark.parametrize("damage", ["bytes", "arrays"])
def test_an_unreadable_cache_file_is_recomputed(files, tmp_path, caplog, damage):
    extract_faces([files["astronaut"]], cache_dir=tmp_path)
    (stored,) = tmp_path.glob("*.npz")
    if damage == "bytes":
        stored.write_bytes(b"not a zip file")
    else:  # an "ok" record without its landmarks and crop
        np.savez(stored, text=np.array(["ok", ""]), pose=np.zeros(3))
    with caplog.at_level(logging.WARNING):
        table = extract_faces([files["astronaut"]], cache_dir=tmp_path)
    assert table.computed == 1 and list(table.status) == ["ok"] and not np.isnan(table.landmarks).any()
    assert f"face cache file {stored} cannot be read" in caplog.text


def test_a_pool_of_workers_gives_the_same_table(files, tmp_path):
    items = [files["astronaut"], files["small"], files["random"]]
    alone = extract_faces(items, cache_dir=tmp_path / "alone", workers=0)
    pooled = extract_faces(items, cache_dir=tmp_path / "pooled", workers=1)
    assert pooled.computed == 3 and list(pooled.status) == list(alone.status) == ["ok", "ok", "unreadable"]
    np.testing.assert_array_equal(pooled.landmarks, alone.landmarks)
    np.testing.assert_array_equal(pooled.crops, alone.crops)
    np.testing.assert_array_equal(pooled.yaw, alone.yaw)
    assert pooled.notes == alone.notes and pooled.errors == alone.errors
    assert sorted(p.name for p in (tmp_path / "pooled").iterdir()) == sorted(
        p.name for p in (tmp_path / "alone").iterdir())


@pytest.mark.parametrize(("arguments", "message"), [
    ({"items": "face.png"}, BAD_VALUE.format(arg="items", expected="a sequence of paths or (path, region) pairs",
                                             received="the single path 'face.png'", fix="Wrap it in a list.")),
    ({"items": [("pair.png", "middle")]}, BAD_VALUE.format(
        arg="items[0]", expected="a path, or a (path, region) pair with region 'left', 'right' or None",
        received="('pair.png', 'middle')", fix="Pass e.g. 'face.jpg' or ('pair.jpg', 'left').")),
    ({"max_yaw": -1.0}, BAD_VALUE.format(arg="max_yaw", expected="a number of degrees >= 0, or None",
                                         received="-1.0", fix="Pass e.g. 30.0, or None to keep every face.")),
    ({"workers": -1}, BAD_VALUE.format(arg="workers", expected="an integer >= 0", received="-1",
                                       fix="Pass 0 to extract in this process, or the number of processes.")),
])
def test_bad_extraction_arguments_are_refused_before_any_file_is_written(tmp_path, arguments, message):
    with pytest.raises(InputError) as error:
        extract_faces(**{"items": ["face.png"], "cache_dir": tmp_path / "cache", **arguments})
    assert str(error.value) == message
    assert not (tmp_path / "cache").exists()
