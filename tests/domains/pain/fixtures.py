"""Tiny pain data sets in the published on-disk formats, for the loader and split tests.

- :func:`synpain_folder`: ``SynPain/Images/<name>.jpg`` (packed 2:1 pairs or square faces)
  and, optionally, ``SynPain_folds.txt``.
- :func:`unbc_folder`: ``frames_unbc_*.hdf5``, ``annotations_unbc_*.hdf5`` and
  ``UNBC_CVFolds_*.hdf5`` as the lab's Pain-in-3D code stores UNBC-McMaster.
- :func:`frames_csv`: a frames folder with PNGs and a CSV describing them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

AUS = ("label_AU_4", "label_AU_6", "label_AU_7", "label_AU_9", "label_AU_10", "label_AU_43")


def synpain_folder(root: Path, names: list[str], *, size: tuple[int, int] = (64, 32),
                   folds_text: str | None = None) -> Path:
    """Write one ``width x height`` JPG per name under ``root/SynPain/Images``; return ``root/SynPain``."""
    folder = root / "SynPain"
    (folder / "Images").mkdir(parents=True, exist_ok=True)
    for number, name in enumerate(names):
        pixels = np.full((size[1], size[0], 3), 40 + 10 * number, dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "Images" / name)
    if folds_text is not None:
        (folder / "SynPain_folds.txt").write_text(folds_text)
    return folder


def unbc_annotations(subjects: list[str], aus: np.ndarray, pspi: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Annotation datasets for ``aus`` (n, 6) in the order of ``AUS``; PSPI from the formula unless given."""
    aus = np.asarray(aus, dtype=np.float64)
    formula = aus[:, 0] + np.maximum(aus[:, 1], aus[:, 2]) + np.maximum(aus[:, 3], aus[:, 4]) + aus[:, 5]
    columns = {name: aus[:, position] for position, name in enumerate(AUS)}
    columns["label_pspi"] = formula if pspi is None else np.asarray(pspi, dtype=np.float64)
    columns["subject_name"] = np.array([s.encode() for s in subjects])  # fixed-length bytes, as h5py stores str
    return columns


def unbc_folder(root: Path, *, images: np.ndarray, frame_index: list[int], annotations: dict[str, np.ndarray],
                annotation_index: list[int], folds: dict[str, tuple[list[str], list[str]]] | None = None,
                tag: str = "2020") -> Path:
    """Write the three UNBC HDF5 files into ``root``; ``folds`` maps ``fold-k`` to (train, validation) subjects."""
    import h5py

    root.mkdir(parents=True, exist_ok=True)
    with h5py.File(root / f"frames_unbc_{tag}.hdf5", "w") as handle:
        handle["image"] = images
        handle["index"] = np.asarray(frame_index)
    with h5py.File(root / f"annotations_unbc_{tag}.hdf5", "w") as handle:
        for name, values in annotations.items():
            handle[name] = values
        handle["index"] = np.asarray(annotation_index)
    if folds is not None:
        with h5py.File(root / f"UNBC_CVFolds_{tag}.hdf5", "w") as handle:
            for group, (train, validation) in folds.items():
                handle[f"{group}/train_subjects"] = np.array([s.encode() for s in train])
                handle[f"{group}/validation_subjects"] = np.array([s.encode() for s in validation])
    return root


def frames_csv(root: Path, header: list[str], rows: list[list[object]], *, images: list[str] | None = None,
               name: str = "frames.csv") -> Path:
    """Write ``root/name`` (header + rows) and an 8x8 PNG for each relative path in ``images``."""
    root.mkdir(parents=True, exist_ok=True)
    for relative in images or []:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(root / relative)
    with (root / name).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return root / name
