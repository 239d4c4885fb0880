"""SynPAIN folders -> the pain frame table (:mod:`~lilaw_health.domains.pain.formats`).

SynPAIN (Taati lab 2025, arXiv 2507.19673): ``Images/*.jpg`` named
``ID_{Pain|NoPain}_{Man|Woman}_{Young|Old}.jpg``, ID ten digits ``1 p g a r ddddd``
(``SYNPAIN_CONVENTION``). The identity (``subject``) is the ID without its pain digit,
``g a r ddddd`` prefixed by the leading 1: a neutral/expressive or Pain/NoPain pair of one
synthetic person shares it, and keeping gender, age and race digits makes it unique even if
the serial ``ddddd`` restarts in each demographic group. If SynPAIN's serials in fact name
different people for Pain and NoPain, this merges them into one subject: splits stay
leak-free, only coarser. ``SynPain_folds.txt`` format: see :func:`read_synpain_folds`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from lilaw_health.core.errors import BAD_VALUE, FILE_MISSING, InputError
from lilaw_health.domains.pain.formats import LoadReport, LoadResult, frame_table

LOGGER = logging.getLogger(__name__)

RACES = ("Black", "South Asian", "Middle Eastern", "White", "East Asian")  # SynPAIN race digit 0..4
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

SYNPAIN_CONVENTION = ("ID_{Pain|NoPain}_{Man|Woman}_{Young|Old}.jpg with ID ten digits `1 p g a r ddddd` (p 1=Pain "
                      "0=NoPain, g 1=Woman 0=Man, a 1=Old 0=Young, r 0=Black 1=South Asian 2=Middle Eastern "
                      "3=White 4=East Asian), e.g. 1100300001_Pain_Man_Young.jpg")
SYNPAIN_NAME = ("{path}: {problem}; SynPAIN images are named "
                + SYNPAIN_CONVENTION.replace("{", "{{").replace("}", "}}")
                + ". Rename the file or move it out of the Images folder.")
SYNPAIN_DIGIT = ("{path}: ID digit {position} ({field}) is {digit}, which means {meaning}, but the name says "
                 "{word!r} (digit {expected}). Fix the digit or the word so that they agree.")
SYNPAIN_NO_IMAGES = ("{folder} holds no .jpg/.jpeg/.png image; expected SynPAIN's Images/*.jpg. Pass the SynPain "
                     "folder (the one holding Images/).")
IMAGE_UNREADABLE = ("{path}: cannot read the image header ({error}), so pairs='auto' cannot tell a packed pair "
                    "from a single face. Replace or remove the file, or pass pairs='always' or 'never'.")
FOLDS_LINE = ("{path}, line {line}: cannot read {text!r}; expected `<file name or ID> <fold>` or "
              "`fold <k>: <ID> <ID> ...` (blank lines and # comments are ignored). Fix or remove the line.")
FOLDS_TWICE = ("{path}, line {line}: {key!r} is already in fold {first} (line {first_line}); a file belongs to "
               "one fold. Remove one of the two entries.")

_SYNPAIN_STEM = re.compile(r"(?P<id>\d{10})_(?P<pain>Pain|NoPain)_(?P<gender>Man|Woman)_(?P<age>Young|Old)")
# (1-based position in the ID, field name, {word: digit})
_SYNPAIN_DIGITS = ((2, "pain", {"NoPain": "0", "Pain": "1"}), (3, "gender", {"Man": "0", "Woman": "1"}),
                   (4, "age", {"Young": "0", "Old": "1"}))
_FOLD_HEADER = re.compile(r"fold[\s_-]*(\d+)\s*[:=]\s*(.*)", re.IGNORECASE)


def load_synpain(root: str | Path, *, source: str = "synpain", pairs: str = "auto") -> LoadResult:
    """Read a SynPAIN folder: one row per image, labels and demographics from the file names.

    Parameters
    ----------
    root : the ``SynPain`` folder (holding ``Images/``), or its parent.
    source : the ``source`` value of every row.
    pairs : ``"auto"`` treats an image about twice as wide as high (width/height in 1.6..2.4)
        as a packed pair, ``"always"`` / ``"never"`` force it. A packed pair yields its
        expressive right half (``region="right"``) with its neutral left half as reference.

    ``pspi`` is the paper's proxy (1 Pain, 0 NoPain). ``fold`` comes from
    ``SynPain_folds.txt`` when present (:func:`read_synpain_folds`); images it does not list
    keep ``<NA>`` and are counted in ``report.checks["not_in_folds_file"]``. A packed pair's
    neutral half is not a row of its own. ``Videos/`` and ``SynPain.txt`` are not read.
    """
    if pairs not in ("auto", "always", "never"):
        raise InputError(BAD_VALUE.format(arg="pairs", expected="'auto', 'always' or 'never'", received=repr(pairs),
                                          fix="Use 'auto' unless the image widths mislead it."))
    folder = Path(root).resolve()
    folder = folder / "SynPain" if not (folder / "Images").is_dir() and (folder / "SynPain").is_dir() else folder
    if not (folder / "Images").is_dir():
        raise InputError(FILE_MISSING.format(what="SynPAIN Images folder", path=folder / "Images",
                                             fix="Pass the SynPain folder (the one holding Images/)."))
    images = sorted(p for p in (folder / "Images").iterdir()
                    if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not images:
        raise InputError(SYNPAIN_NO_IMAGES.format(folder=folder / "Images"))
    folds_path = folder / "SynPain_folds.txt"
    folds = read_synpain_folds(folds_path) if folds_path.is_file() else None
    report = LoadReport(source=str(folder))
    rows = [_synpain_row(path, source=source, pairs=pairs) for path in images]
    if folds is not None:
        _assign_folds(rows, images, folds, report)
    report.rows = len(rows)
    return LoadResult(frame_table(rows), report)


def parse_synpain_name(path: str | Path) -> dict[str, Any]:
    """Label and demographics of one SynPAIN file name, after checking the ID digits against the words.

    Returns ``id``, ``subject`` (the identity), ``label``, ``gender``, ``age``, ``race``.
    """
    path = Path(path)
    match = _SYNPAIN_STEM.fullmatch(path.stem)
    if match is None:
        raise InputError(SYNPAIN_NAME.format(path=path, problem="the name is not in the convention"))
    digits = match["id"]
    if digits[0] != "1":
        raise InputError(SYNPAIN_NAME.format(path=path, problem=f"the ID starts with {digits[0]}, not 1"))
    for position, name, codes in _SYNPAIN_DIGITS:
        word, digit = match[name], digits[position - 1]
        if digit != codes[word]:
            meanings = {code: meaning for meaning, code in codes.items()}
            raise InputError(SYNPAIN_DIGIT.format(path=path, position=position, field=name, digit=digit,
                                                  meaning=repr(meanings.get(digit, "nothing")), word=word,
                                                  expected=codes[word]))
    if int(digits[4]) >= len(RACES):
        raise InputError(SYNPAIN_NAME.format(path=path, problem=f"race digit 5 is {digits[4]}, not 0..4"))
    return {"id": digits, "subject": digits[0] + digits[2:], "label": int(match["pain"] == "Pain"),
            "gender": match["gender"], "age": match["age"], "race": RACES[int(digits[4])]}


def read_synpain_folds(path: str | Path) -> dict[str, tuple[int, int]]:
    """``SynPain_folds.txt`` as ``{key: (fold, line)}``, ``key`` a file stem or a 10-digit ID.

    SynPAIN's own file format is not documented; two text forms are read (one may mix them):
    ``<file name or ID> <fold>`` per line (whitespace or comma between), or
    ``fold <k>: <ID or file name> <ID or file name> ...``. Blank lines and ``#`` comments are
    ignored; file names may keep their extension.
    """
    path = Path(path)
    folds: dict[str, tuple[int, int]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        header = _FOLD_HEADER.fullmatch(text)
        tokens = re.split(r"[\s,;]+", text)
        if header is not None:
            entries = [(key, int(header[1])) for key in re.split(r"[\s,;]+", header[2].strip()) if key]
        elif len(tokens) == 2 and re.fullmatch(r"-?\d+", tokens[1]):
            entries = [(tokens[0], int(tokens[1]))]
        else:
            raise InputError(FOLDS_LINE.format(path=path, line=number, text=raw.strip()))
        for key, fold in entries:
            key = Path(key).stem if Path(key).suffix.lower() in IMAGE_SUFFIXES else key
            if key in folds and folds[key][0] != fold:
                raise InputError(FOLDS_TWICE.format(path=path, line=number, key=key, first=folds[key][0],
                                                    first_line=folds[key][1]))
            folds[key] = (fold, number)
    return folds


def _synpain_row(path: Path, *, source: str, pairs: str) -> dict[str, Any]:
    fields = parse_synpain_name(path)
    packed = pairs == "always" or (pairs == "auto" and 1.6 <= _aspect_ratio(path) <= 2.4)
    return {"path": str(path), "region": "right" if packed else None,
            "reference_path": str(path) if packed else None, "reference_region": "left" if packed else None,
            "subject": fields["subject"], "label": fields["label"], "pspi": float(fields["label"]),
            "source": source, "age": fields["age"], "gender": fields["gender"], "race": fields["race"]}


def _aspect_ratio(path: Path) -> float:
    """Width / height from the image header (the pixels are not decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
    except (OSError, UnidentifiedImageError) as error:
        raise InputError(IMAGE_UNREADABLE.format(path=path, error=error)) from error
    return width / max(height, 1)


def _assign_folds(rows: list[dict[str, Any]], images: list[Path], folds: dict[str, tuple[int, int]],
                  report: LoadReport) -> None:
    used: set[str] = set()
    for row, path in zip(rows, images):
        key = path.stem if path.stem in folds else path.stem.split("_", 1)[0]
        if key in folds:
            row["fold"] = folds[key][0]
            used.add(key)
        else:
            report.count("not_in_folds_file")
    unused = sorted(set(folds) - used)
    if unused:
        report.count("folds_entries_without_image", len(unused))
        LOGGER.warning("SynPain_folds.txt lists %d name(s) with no image, e.g. %s", len(unused), unused[:5])
