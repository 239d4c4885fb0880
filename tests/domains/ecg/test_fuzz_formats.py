"""Fuzzing the UCR/UEA loaders: malformed files either load well-formed data or raise a LilawError naming the file.

For every format (and a multivariate ``.ts``), hypothesis writes one broken file beside a
valid one: random bytes, a valid file cut short, random text lines (after a valid header for
``.ts``/``.arff``), or a valid file with bad tokens inserted or replacing whole fields. :func:`load_data` must then
either return finite float32 series with labels in range, or raise a
:class:`~lilaw_health.core.errors.LilawError` whose message holds the path of one of the two
files. Any other exception, and any warning (numpy overflow, ...), fails the test.

Each example writes into its own ``tempfile.TemporaryDirectory()``: pytest's function-scoped
``tmp_path`` is not reset between hypothesis examples. ``derandomize=True`` keeps CI
reproducible; the whole module runs in a few seconds.
"""

from __future__ import annotations

import math
import re
import tempfile
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lilaw_health.core.data import TaskData
from lilaw_health.core.errors import LilawError
from lilaw_health.domains.ecg.data import load_data
from lilaw_health.domains.ecg.formats import SUFFIXES
from tests.domains.ecg.fixtures import FORMATS, Case, univariate, write

FUZZ = settings(max_examples=50, deadline=None, derandomize=True, database=None)
NAME = "Fz"
NAN = math.nan
SPLITS = ("TRAIN", "TEST")
DATASETS: dict[str, tuple[list[Case], list[Case]]] = {  # small, with NaN padding (variable lengths)
    "univariate": (univariate([(1, [0.5, -1.25, 2.0, NAN]), (2, [1.0, 1.5, -0.75, 3.25]),
                               (1, [0.125, 0.25, 0.375, -2.5])]),
                   univariate([(2, [2.5, 2.5, -2.5, 1.75]), (1, [0.0, 1.0, NAN, NAN])])),
    "multivariate": ([("a", [[1.0, 2.0, 3.0], [-1.0, -2.0, -3.0]]), ("b", [[0.5, 0.5, 0.5], [4.0, 5.0, 6.0]])],
                     [("b", [[7.0, 8.0], [9.0, 10.0]])]),
}
VARIANTS = [(fmt, "univariate") for fmt in FORMATS] + [("ts", "multivariate")]
VARIANT_IDS = [f"{fmt}-{kind}" for fmt, kind in VARIANTS]

BAD_TOKENS = ["inf", "-inf", "Infinity", "1e300", "-1e39", "3.5e38", "3.4028235e38", "1e-400", "nan", "NaN", "?",
              "", "x", "1e", ".", "--1", "0x10", ",", "\t", " ", ":", "\n", "@data", "@attribute a numeric", "%",
              "#", "{", "}", "(", ")", "'", '"', "\x00", "é", "\ufeff", "\r", "1,2", "1:2", "9", "-0"]
FIELD = re.compile(r"[^\s,:{}()]+")
TEXT_ALPHABET = "0123456789.-+eE,\t :@?%{}()'\"NaIinfxdt#\r"

OPTIONS = st.fixed_dictionaries({}, optional={
    "nan_policy": st.sampled_from(["error", "interpolate"]),
    "length_policy": st.sampled_from(["pad", "truncate", "resample"]),
    "znorm": st.booleans(),
    "label_column": st.sampled_from(["first", "last"]),
})


@cache
def _valid(fmt: str, kind: str) -> dict[str, str]:
    """The TRAIN and TEST text of a valid dataset in ``fmt``, as tests/domains/ecg/fixtures.py writes it."""
    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder), NAME, fmt, *DATASETS[kind])
        return {split: (Path(folder) / f"{NAME}_{split}{SUFFIXES[fmt]}").read_text() for split in SPLITS}


def _header(fmt: str, text: str) -> str:
    """Everything up to and including the @data line (.ts, .arff); empty for the delimited formats."""
    marker = text.find("@data\n")
    return text[: marker + len("@data\n")] if fmt in ("ts", "arff") and marker >= 0 else ""


def _load_or_refuse(fmt: str, kind: str, split: str, content: bytes, options: dict[str, Any]) -> None:
    """Write ``content`` as ``split`` (the other file valid) and check what load_data does with it."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = {name: folder / f"{NAME}_{name}{SUFFIXES[fmt]}" for name in SPLITS}
        for name, path in paths.items():
            path.write_bytes(content if name == split else _valid(fmt, kind)[name].encode())
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a numpy warning (e.g. overflow in the float32 cast) is a bug
            try:
                data = load_data(NAME, options={"root": str(folder), "format": fmt, **options})
            except LilawError as error:
                assert any(str(path) in str(error) for path in paths.values()), \
                    f"{type(error).__name__} does not name the file: {error}"
                return
        _assert_well_formed(data)


def _assert_well_formed(data: TaskData) -> None:
    assert data.n_classes == len(data.class_names) >= 1
    for split in (data.train, data.test):
        x, y = split.inputs.numpy(), np.asarray(split.targets)
        assert x.dtype == np.float32 and x.ndim == 3 and x.shape[1:] == tuple(data.input_shape) and len(x) >= 1
        assert np.isfinite(x).all()
        assert y.dtype == np.int64 and y.shape == (len(x),) and ((y >= 0) & (y < data.n_classes)).all()


@pytest.mark.parametrize("fmt, kind", VARIANTS, ids=VARIANT_IDS)
@FUZZ
@given(split=st.sampled_from(SPLITS), content=st.binary(max_size=200), options=OPTIONS)
def test_random_bytes(fmt, kind, split, content, options):
    _load_or_refuse(fmt, kind, split, content, options)


@pytest.mark.parametrize("fmt, kind", VARIANTS, ids=VARIANT_IDS)
@FUZZ
@given(split=st.sampled_from(SPLITS), fraction=st.floats(0, 1), options=OPTIONS)
def test_truncated_valid_file(fmt, kind, split, fraction, options):
    text = _valid(fmt, kind)[split]
    _load_or_refuse(fmt, kind, split, text[: int(fraction * len(text))].encode(), options)


@pytest.mark.parametrize("fmt, kind", VARIANTS, ids=VARIANT_IDS)
@FUZZ
@given(split=st.sampled_from(SPLITS), keep_header=st.booleans(),
       lines=st.lists(st.text(alphabet=TEXT_ALPHABET, max_size=30), max_size=6), options=OPTIONS)
def test_random_text_lines(fmt, kind, split, keep_header, lines, options):
    header = _header(fmt, _valid(fmt, kind)[split]) if keep_header else ""
    _load_or_refuse(fmt, kind, split, (header + "\n".join(lines)).encode(), options)


@pytest.mark.parametrize("fmt, kind", VARIANTS, ids=VARIANT_IDS)
@FUZZ
@given(split=st.sampled_from(SPLITS), options=OPTIONS,
       edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 3), st.sampled_from(BAD_TOKENS)),
                      min_size=1, max_size=3))
def test_bad_tokens_in_a_valid_file(fmt, kind, split, edits, options):
    text = _valid(fmt, kind)[split]
    for where, replaced, token in edits:  # replace 0-3 characters at a relative position by a bad token
        at = int(where * len(text))
        text = text[:at] + token + text[at + replaced:]
    _load_or_refuse(fmt, kind, split, text.encode(), options)


@pytest.mark.parametrize("fmt, kind", VARIANTS, ids=VARIANT_IDS)
@FUZZ
@given(split=st.sampled_from(SPLITS), options=OPTIONS,
       edits=st.lists(st.tuples(st.floats(0, 1), st.sampled_from(BAD_TOKENS)), min_size=1, max_size=2))
def test_bad_tokens_replacing_whole_fields(fmt, kind, split, edits, options):
    text = _valid(fmt, kind)[split]
    for where, token in edits:  # a whole value, label or header word becomes the bad token
        fields = list(FIELD.finditer(text))
        field = fields[min(int(where * len(fields)), len(fields) - 1)]
        text = text[:field.start()] + token + text[field.end():]
    _load_or_refuse(fmt, kind, split, text.encode(), options)


@pytest.mark.parametrize("fmt, kind", VARIANTS, ids=VARIANT_IDS)
def test_the_valid_files_load(fmt, kind):
    """The files the fuzz tests start from are valid: a refusal there is the mutation's doing."""
    with tempfile.TemporaryDirectory() as folder:
        write(Path(folder), NAME, fmt, *DATASETS[kind])
        data = load_data(NAME, options={"root": folder, "format": fmt})
    _assert_well_formed(data)
    assert len(data.train) == len(DATASETS[kind][0]) and len(data.test) == len(DATASETS[kind][1])
