"""Synthetic pain data from real face photos, written in the SynPAIN and the clinical frames + CSV layouts.

Faces are real photos shipped by scikit-image: ``skimage.data.astronaut()`` and the 100
LFW faces of ``skimage.data.lfw_subset()`` (25x25 grayscale, upscaled by the resampling).
An *identity* is one source photo plus a small seeded change of face shape and skin tone.
The clinical set draws from the astronaut and LFW faces 0-49, the SynPAIN set from LFW
faces 50-99, so the two never share a photo (LFW's subset carries no names and may show one
person on several photos: identities are disjoint by photo, not provably by person).

Each frame is drawn by :func:`lilaw_health.domains.pain.warp.render_face`, a landmark-driven
warp of the photo showing the facial actions PSPI counts. A PSPI value is split into integer
AU intensities (:func:`au_intensities`) so that PSPI = AU4 + max(AU6, AU7) + max(AU9, AU10) +
AU43 holds exactly. Non-pain actions (AU1+2 brow raise, AU12 smile) give SynPAIN its
expressive no-pain faces. Everything is deterministic given the seed.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from lilaw_health.core.checkpoint import atomic_write, atomic_write_text
from lilaw_health.core.errors import BAD_VALUE, InputError
from lilaw_health.domains.pain.warp import OTHER_AUS, PAIN_AUS, Identity, make_identity, photo_landmarks, render_face

LOGGER = logging.getLogger(__name__)

POOLS = {"clinical": ("astronaut", *(f"lfw{i:02d}" for i in range(50))),
         "synpain": tuple(f"lfw{i:02d}" for i in range(50, 100))}
NO_FACE = "source photo {name}: MediaPipe finds no face on it, so it cannot be rendered. Choose another photo."
TOO_MANY = ("{arg}={received} but only {available} {pool} source photos have a detectable face. Lower {arg}; "
            "each identity needs its own photo.")


def pspi_of(intensities: Mapping[str, float]) -> float:
    """PSPI = AU4 + max(AU6, AU7) + max(AU9, AU10) + AU43 (absent units count 0)."""
    au = {name: float(intensities.get(name, 0)) for name in PAIN_AUS}
    return au["AU4"] + max(au["AU6"], au["AU7"]) + max(au["AU9"], au["AU10"]) + au["AU43"]


def au_intensities(pspi: int, rng: np.random.Generator) -> dict[str, int]:
    """Integer AU intensities (AU43 0..1, the others 0..5) whose PSPI is ``pspi`` (0..16).

    Each PSPI unit goes to AU4, the AU6/7 pair, the AU9/10 pair or AU43 with probability in
    proportion to the room left, so intensities grow together with PSPI; in each pair one unit
    takes the pair's value and the other a random value up to it.
    """
    if not (isinstance(pspi, (int, np.integer)) and 0 <= pspi <= 16):
        raise InputError(BAD_VALUE.format(arg="pspi", expected="an integer in 0..16", received=repr(pspi), fix=""))
    room, given = np.array([5, 5, 5, 1]), np.zeros(4, dtype=int)
    for _ in range(int(pspi)):
        slot = rng.choice(4, p=(room - given) / (room - given).sum())
        given[slot] += 1
    au = {"AU4": int(given[0]), "AU43": int(given[3])}
    for (first, second), value in ((("AU6", "AU7"), given[1]), (("AU9", "AU10"), given[2])):
        other = int(rng.integers(0, value + 1))
        au[first], au[second] = (int(value), other) if rng.random() < 0.5 else (other, int(value))
    return au


def identities(pool: str, n: int, seed: int) -> list[Identity]:
    """``n`` identities from the source photos of ``pool`` ("clinical" or "synpain"), chosen and changed by ``seed``.

    Photos without a detectable face are passed over (logged).
    """
    if pool not in POOLS:
        raise InputError(BAD_VALUE.format(arg="pool", expected="'clinical' or 'synpain'", received=repr(pool), fix=""))
    order = np.random.default_rng([seed, 101, len(POOLS[pool])]).permutation(len(POOLS[pool]))
    found: list[Identity] = []
    for position in order:
        if len(found) == n:
            break
        name = POOLS[pool][position]
        if photo_landmarks(name) is None:
            LOGGER.info("source photo %s: no face detected; passed over", name)
            continue
        found.append(identity(name, seed=seed))
    if len(found) < n:
        raise InputError(TOO_MANY.format(arg="n", received=n, available=len(found), pool=pool))
    return found


def identity(name: str, *, seed: int = 0) -> Identity:
    """The identity made from source photo ``name`` ("astronaut" or "lfwNN", NN in 00..99) with ``seed``'s changes."""
    names = (*POOLS["clinical"], *POOLS["synpain"])
    if name not in names:
        raise InputError(BAD_VALUE.format(arg="name", expected="'astronaut' or 'lfw00'..'lfw99'", received=repr(name),
                                          fix=""))
    landmarks = photo_landmarks(name)
    if landmarks is None:
        raise InputError(NO_FACE.format(name=name))
    return make_identity(name, landmarks, np.random.default_rng([seed, 202, names.index(name)]))


# ---------------------------------------------------------------- data sets on disk


def write_clinical(out_dir: str | Path, *, n_subjects: int, frames_per_subject: int, seed: int) -> Path:
    """Write a clinical-style frames folder and its CSV (read by ``formats.load_frames_csv``); return the CSV path.

    ``out_dir/frames/<subject>/<subject>_fNN.png`` (160x160 RGB), ``out_dir/frames.csv``
    (``path`` relative to it, ``subject``, ``pspi``, ``age``, ``gender``, ``cohort``) and
    ``out_dir/render_truth.csv`` (per frame: source photo and AU intensities). Each subject
    has one frame at PSPI 0, then PSPI 0 with probability 0.4, else uniform in 1..14, each
    with its own pose and lighting jitter. The demographics are ASSIGNED at random per
    subject from ``seed`` (age group, gender, cohort "dementia"/"no_dementia"): they are not
    attributes of the people photographed. ``frames.csv`` is written last, so its presence
    marks a complete folder.
    """
    _check_count("n_subjects", n_subjects)
    _check_count("frames_per_subject", frames_per_subject)
    out_dir = Path(out_dir)
    rows, truth = [], []
    for number, identity in enumerate(identities("clinical", n_subjects, seed)):
        rng = np.random.default_rng([seed, 303, number])
        subject = f"P{number + 1:03d}"
        person = {"age": ("Young", "Old")[rng.integers(2)], "gender": ("Man", "Woman")[rng.integers(2)],
                  "cohort": ("dementia", "no_dementia")[rng.integers(2)]}
        for frame in range(frames_per_subject):
            pspi = 0 if frame == 0 or rng.random() < 0.4 else int(rng.integers(1, 15))
            au = au_intensities(pspi, rng)
            relative = f"frames/{subject}/{subject}_f{frame:02d}.png"
            _save_image(out_dir / relative, render_face(identity, au, rng=rng), "PNG")
            rows.append({"path": relative, "subject": subject, "pspi": pspi, **person})
            truth.append({"path": relative, "subject": subject, "source_photo": identity.name, "pspi": pspi, **au})
    _save_csv(out_dir / "render_truth.csv", truth)
    return _save_csv(out_dir / "frames.csv", rows)


def write_synpain(out_dir: str | Path, *, n_identities: int, seed: int, wrong_label_share: float = 0.2,
                  domain_shift: bool = True) -> Path:
    """Write a SynPAIN-layout folder (read by ``synpain.load_synpain``); return ``out_dir/SynPain``.

    One packed pair per identity, as SynPAIN's JPGs: ``SynPain/Images/<ID>_<Pain|NoPain>_
    <Man|Woman>_<Young|Old>.jpg``, 320x160, neutral face left, expressive face right (both
    with the same pose and lighting). Half the identities (seeded) show pain (PSPI 4..14),
    the others an expressive non-pain face (brow raise and/or smile). ``wrong_label_share``
    of the files (rounded) carry the wrong word and pain digit. ``SynPain_folds.txt`` puts
    the identities in min(5, n) folds (``fold k: ID ...``). ``domain_shift`` renders in the
    synthetic style (colour cast, smoothing, closer crop). ``out_dir/render_truth.csv``
    (outside the SynPAIN folder, not part of its format) records each file's true label,
    PSPI and AU intensities. Gender, age and race digits are ASSIGNED at random per identity
    from ``seed``, not attributes of the people photographed; IDs are ``1 p g a r`` and the
    identity's serial from 00001. ``render_truth.csv`` is written last, so its presence marks
    a complete folder.
    """
    _check_count("n_identities", n_identities)
    if not 0 <= wrong_label_share <= 1:
        raise InputError(BAD_VALUE.format(arg="wrong_label_share", expected="a share in 0..1",
                                          received=repr(wrong_label_share), fix="e.g. 0.2"))
    folder, rng = Path(out_dir) / "SynPain", np.random.default_rng([seed, 404])
    in_pain = rng.permutation(n_identities) < (n_identities + 1) // 2
    wrong = np.zeros(n_identities, dtype=bool)
    wrong[rng.choice(n_identities, size=round(wrong_label_share * n_identities), replace=False)] = True
    folds = rng.permutation(n_identities) % min(5, n_identities) + 1
    truth: list[dict[str, object]] = []
    fold_lines: dict[int, list[str]] = {}
    for number, identity in enumerate(identities("synpain", n_identities, seed)):
        person = np.random.default_rng([seed, 505, number])
        au = (au_intensities(int(person.integers(4, 15)), person) if in_pain[number]
              else {"AU1_2": int(person.integers(0, 6)), "AU12": int(person.integers(1, 6))})
        written = int(in_pain[number] != wrong[number])
        digits = f"1{written}{person.integers(2)}{person.integers(2)}{person.integers(5)}{number + 1:05d}"
        name = (f"{digits}_{('NoPain', 'Pain')[written]}_{('Man', 'Woman')[int(digits[2])]}_"
                f"{('Young', 'Old')[int(digits[3])]}.jpg")
        style, jitter_seed = ("synpain" if domain_shift else "clinical"), [seed, 606, number]
        halves = [render_face(identity, shown, rng=np.random.default_rng(jitter_seed), style=style)
                  for shown in ({}, au)]
        _save_image(folder / "Images" / name, np.concatenate(halves, axis=1), "JPEG")
        fold_lines.setdefault(int(folds[number]), []).append(digits)
        truth.append({"file": name, "id": digits, "subject": digits[0] + digits[2:], "source_photo": identity.name,
                      "written_label": written, "true_label": int(in_pain[number]), "wrong_label": int(wrong[number]),
                      "pspi": pspi_of(au), **{k: au.get(k, 0) for k in (*PAIN_AUS, *OTHER_AUS)}})
    text = "".join(f"fold {fold}: {' '.join(ids)}\n" for fold, ids in sorted(fold_lines.items()))
    atomic_write_text(folder / "SynPain_folds.txt", "# rendered by lilaw_health.domains.pain.render\n" + text)
    _save_csv(Path(out_dir) / "render_truth.csv", truth)
    return folder


def _check_count(arg: str, value: int) -> None:
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(BAD_VALUE.format(arg=arg, expected="a positive integer", received=repr(value), fix=""))


def _save_image(path: Path, pixels: np.ndarray, fmt: str) -> None:
    from PIL import Image

    options = {"quality": 92} if fmt == "JPEG" else {}
    atomic_write(path, lambda handle: Image.fromarray(pixels).save(handle, format=fmt, **options))


def _save_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buffer.getvalue())
