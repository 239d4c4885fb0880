"""Malformed UCR/UEA files: every one fails with an InputError naming the file (and line), never a traceback.

Messages are compared with the templates of :mod:`lilaw_health.domains.ecg.formats` and
:mod:`lilaw_health.core.errors`; ``filterwarnings("error")`` makes a numpy warning (the old
float32 overflow symptom) fail the test.
"""

from __future__ import annotations

import codecs

import numpy as np
import pytest

from lilaw_health.core.errors import FILE_EMPTY, FILE_NOT_NUMBER, FILE_RAGGED, InputError
from lilaw_health.domains.ecg import formats
from lilaw_health.domains.ecg.data import load_data
from tests.domains.ecg.fixtures import FORMATS, univariate, write

pytestmark = pytest.mark.filterwarnings("error")

TRAIN = univariate([(1, [0.5, -1.25, 2.0]), (2, [1.0, 1.5, -0.75])])
TEST = univariate([(2, [2.5, 2.5, -2.5])])


def _load(folder, name="Bad", **options):
    return load_data(name, options={"root": str(folder), **options})


def _error(folder, name="Bad", **options) -> str:
    with pytest.raises(InputError) as error:
        _load(folder, name, **options)
    return str(error.value)


def _path(folder, fmt, split="TRAIN", name="Bad"):
    return folder / f"{name}_{split}{formats.SUFFIXES[fmt]}"


# --- finding 1: binary and non-UTF-8 files ------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("content, line, problem", [
    (b"\x89PNG\r\n\x1a\n\x00\x00", 1, "bytes b'\\x89PNG' at byte 0 are not valid UTF-8 (invalid start byte)"),
    (b"PK\x03\x04\x14\x00\x00\x00", 1, "a NUL byte at byte 5 (binary data)"),
    (b"1\t0.5\n2\tcaf\xe9\n", 2, "bytes b'\\xe9\\n' at byte 11 are not valid UTF-8 (invalid continuation byte)"),
], ids=["png", "zip", "latin-1"])
def test_binary_or_non_utf8_file_is_refused_naming_it(tmp_path, fmt, content, line, problem):
    write(tmp_path, "Bad", fmt, TRAIN, TEST)
    _path(tmp_path, fmt).write_bytes(content)
    assert _error(tmp_path, format=fmt) == formats.NOT_TEXT.format(path=_path(tmp_path, fmt), line=line,
                                                                   problem=problem, fmt=fmt,
                                                                   layout=formats.LAYOUTS[fmt])
    assert "so the file is not text in the" in _error(tmp_path, format=fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_byte_order_mark_and_windows_line_ends_read_as_plain_text(tmp_path, fmt):
    write(tmp_path, "Bom", fmt, TRAIN, TEST)
    plain = _load(tmp_path, "Bom")
    for split in ("TRAIN", "TEST"):
        path = _path(tmp_path, fmt, split, "Bom")
        path.write_bytes(codecs.BOM_UTF8 + path.read_bytes().replace(b"\n", b"\r\n"))
    data = _load(tmp_path, "Bom")
    assert data.train.inputs.numpy().tolist() == plain.train.inputs.numpy().tolist()
    assert data.test.targets.tolist() == plain.test.targets.tolist()


# --- finding 4: values that are not finite in float32 -------------------------------------------

HUGE = {  # format -> (train text with 1e300 at line 2, second value; position as the message names it)
    "tsv": ("1\t0.5\t1\n2\t1e300\t1\n", "column 2"),
    "csv2015": ("1,0.5,1\n2,1e300,1\n", "column 2"),
    "txt": ("1  0.5  1\n2  1e300  1\n", "column 2"),
    "ts": ("1,2:1\n1e300,2:2\n", "dimension 1, value 1"),
    "arff": ("0.5,1,1\n1e300,1,2\n", "column 1"),
}
TS_HEAD = "@problemName t\n@univariate true\n@classLabel true 1 2\n@data\n"
ARFF_HEAD = "@relation r\n@attribute att1 numeric\n@attribute att2 numeric\n@attribute target {1,2}\n@data\n"
HEADS = {"ts": TS_HEAD, "arff": ARFF_HEAD}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("token, problem", [("1e300", "too large for float32"), ("-3.5e38", "too large for float32"),
                                            ("inf", "infinite"), ("-Infinity", "infinite")])
def test_value_not_finite_in_float32_names_file_line_and_position(tmp_path, fmt, token, problem):
    text, position = HUGE[fmt]
    head = HEADS.get(fmt, "")
    write(tmp_path, "Bad", fmt, TRAIN, TEST)
    _path(tmp_path, fmt).write_text(head + text.replace("1e300", token))
    value = repr(float(token)) if fmt == "arff" else token  # scipy parses ARFF values: the message shows the number
    expected = formats.NOT_FLOAT32.format(path=_path(tmp_path, fmt), line=head.count("\n") + 2, position=position,
                                          value=value, problem=problem)
    assert _error(tmp_path, format=fmt) == expected
    assert "Fix or remove the value" in expected


def test_huge_value_in_a_multivariate_ts_names_the_dimension(tmp_path):
    header = "@problemName m\n@univariate false\n@classLabel true a b\n@data\n"
    (tmp_path / "Bad_TRAIN.ts").write_text(header + "1,2:3,4:a\n1,2:3,4e39:b\n")
    (tmp_path / "Bad_TEST.ts").write_text(header + "1,2:3,4:a\n")
    assert _error(tmp_path) == formats.NOT_FLOAT32.format(path=tmp_path / "Bad_TRAIN.ts", line=6,
                                                          position="dimension 2, value 2", value="4e39",
                                                          problem="too large for float32")


def test_largest_float32_values_load_unchanged(tmp_path):
    biggest = float(np.finfo(np.float32).max)
    write(tmp_path, "Big", "tsv", univariate([(1, [biggest, -biggest, 1e-300]), (2, [0.0, 1.0, 2.0])]), TEST)
    x = _load(tmp_path, "Big").train.inputs.numpy()
    assert np.isfinite(x).all() and x[0, 0].tolist() == [biggest, -biggest, 0.0]


def test_huge_test_value_names_the_test_file(tmp_path):
    write(tmp_path, "Bad", "tsv", TRAIN, univariate([(2, [2.5, 1e39, -2.5])]))
    assert _error(tmp_path) == formats.NOT_FLOAT32.format(path=_path(tmp_path, "tsv", "TEST"), line=1,
                                                          position="column 3", value="1e+39",
                                                          problem="too large for float32")


# --- finding 5: other malformed files -----------------------------------------------------------

NO_CASES = "one series per line with its label"
MALFORMED = {  # case id -> (format, train text, the expected message given the train file's path)
    "tsv-empty": ("tsv", "", lambda p: FILE_EMPTY.format(path=p, expected=NO_CASES)),
    "txt-blank-lines": ("txt", "\n \n\t\n", lambda p: FILE_EMPTY.format(path=p, expected=NO_CASES)),
    "ts-header-only": ("ts", TS_HEAD, lambda p: FILE_EMPTY.format(path=p, expected="cases after @data")),
    "arff-header-only": ("arff", ARFF_HEAD + "% no cases\n",
                         lambda p: FILE_EMPTY.format(path=p, expected="cases after @data")),
    "csv2015-ragged": ("csv2015", "1,0.5,1\n2,1\n",
                       lambda p: FILE_RAGGED.format(path=p, line=2, count=2, expected=3, first=1,
                                                    fix=formats.RAGGED_FIX)),
    "arff-too-few-values": ("arff", ARFF_HEAD + "0.5,1,1\n1,2\n",
                            lambda p: formats.ARFF_WIDTH.format(path=p, line=7, count=2, expected=3, values=2)),
    "arff-extra-value": ("arff", ARFF_HEAD + "0.5,1,1\n1,2,0.5,2\n",
                         lambda p: formats.ARFF_WIDTH.format(path=p, line=7, count=4, expected=3, values=2)),
    "txt-not-a-number": ("txt", "1 0.5 1\n2 x 1\n",
                         lambda p: FILE_NOT_NUMBER.format(path=p, line=2, position="column 2", value="x",
                                                          fix=formats.NOT_NUMBER_FIX)),
    "tsv-label-without-values": ("tsv", "1\n2\n",
                                 lambda p: formats.TOO_FEW_VALUES.format(path=p, line=1, count=1, separator="tabs")),
    "csv2015-empty-label": ("csv2015", ",0.5,1\n2,1,1.5\n",
                            lambda p: formats.MISSING_LABEL.format(path=p, line=1, token="")),
    "tsv-nan-label": ("tsv", "1\t0.5\t1.5\nNaN\t1\t1.5\n",
                      lambda p: formats.MISSING_LABEL.format(path=p, line=2, token="NaN")),
    "arff-missing-label": ("arff", ARFF_HEAD + "0.5,1,1\n1,2,?\n",
                           lambda p: formats.MISSING_LABEL.format(path=p, line=7, token="?")),
    "ts-no-values-before-label": ("ts", TS_HEAD + "1,2:1\n:2\n",
                                  lambda p: FILE_NOT_NUMBER.format(path=p, line=6, position="dimension 1, value 1",
                                                                   value="", fix=formats.NOT_NUMBER_FIX)),
    "ts-mixed-dimensions": ("ts", TS_HEAD + "1,2:1\n1,2:3,4:2\n",
                            lambda p: formats.TS_DIMENSIONS.format(path=p, line=6, count=2, expected=1, first=5,
                                                                   univariate="true")),
    "ts-case-before-data": ("ts", "@problemName t\n@classLabel true 1 2\n1,2:1\n",
                            lambda p: formats.TS_HEADER.format(path=p, line=3, text="1,2:1")),
    "ts-without-data": ("ts", "@problemName t\n@classLabel true 1 2\n", lambda p: formats.TS_NO_DATA.format(path=p)),
    "ts-empty-classlabel": ("ts", "@problemName t\n@classLabel\n@data\n1,2:1\n",
                            lambda p: formats.TS_NO_CLASSES.format(path=p, value="missing")),
    "ts-bad-timestamps": ("ts", TS_HEAD + "(a,1),junk:1\n",
                          lambda p: formats.TS_NO_VALUES.format(path=p, line=5, dimension=1, text="(a,1),junk")),
    "ts-serieslength-mismatch": ("ts", "@classLabel true 1 2\n@equalLength true\n@seriesLength 3\n@data\n"
                                       "1,2,3:1\n1,2:2\n",
                                 lambda p: formats.TS_LENGTH.format(path=p, line=6, dimension=1, count=2, expected=3)),
    "arff-without-data": ("arff", "@relation r\n@attribute att1 numeric\n@attribute target {1,2}\n1,1\n",
                          lambda p: formats.ARFF_NO_DATA.format(path=p)),
    "arff-one-attribute": ("arff", "@relation r\n@attribute target {1,2}\n@data\n1\n",
                           lambda p: formats.ARFF_FEW_ATTRIBUTES.format(path=p, count=1)),
}


@pytest.mark.parametrize("fmt, text, message", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_file_names_the_file(tmp_path, fmt, text, message):
    write(tmp_path, "Bad", fmt, TRAIN, TEST)
    _path(tmp_path, fmt).write_text(text)
    assert _error(tmp_path, format=fmt) == message(_path(tmp_path, fmt))


@pytest.mark.parametrize("header", ["@attribute att1 numeric\n@bogus line\n@attribute target {1,2}\n",
                                    "@attribute att1 numeric\n@attribute target {1,2\n",
                                    "@attribute att1 date 'yyyy'\n@attribute target {1,2}\n"])
def test_arff_header_scipy_refuses_names_the_file(tmp_path, header):
    write(tmp_path, "Bad", "arff", TRAIN, TEST)
    _path(tmp_path, "arff").write_text("@relation r\n" + header + "@data\n1,1\n")
    message = _error(tmp_path, format="arff")
    prefix, suffix = formats.ARFF_UNREADABLE.split("{error}")
    assert message.startswith(prefix.format(path=_path(tmp_path, "arff"))) and message.endswith(suffix)


def test_mixed_channel_counts_between_files(tmp_path):
    header = "@problemName m\n@univariate false\n@classLabel true a\n@data\n"
    (tmp_path / "Bad_TRAIN.ts").write_text(header + "1,2:3,4:a\n")
    (tmp_path / "Bad_TEST.ts").write_text(header + "1,2:3,4:5,6:a\n")
    assert _error(tmp_path).startswith(f"{tmp_path / 'Bad_TEST.ts'} has 3 channel(s) per case; the training file "
                                       f"has 2")
