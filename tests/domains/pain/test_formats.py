"""The frame table's generic loader on tiny files: frames + CSV.

Every error is compared with its message template in :mod:`lilaw_health.domains.pain.formats`.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from lilaw_health.core.errors import BAD_VALUE, FILE_NOT_NUMBER, InputError
from lilaw_health.domains.pain import formats
from lilaw_health.domains.pain.formats import load_frames_csv
from tests.domains.pain.fixtures import frames_csv


def _raises(message: str, call, *args, **kwargs) -> None:
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        call(*args, **kwargs)


HEADER = ["path", "subject", "pspi", "age", "gender", "cohort"]


def test_frames_csv_reads_rows_and_derives_labels(tmp_path):
    rows = [["a/f0.png", "S1", "0", "Old", "Woman", "dementia"], ["a/f1.png", "S1", "3", "", "", ""],
            ["b/f0.png", "S2", "1.5", "Young", "Man", "no_dementia"]]
    csv_path = frames_csv(tmp_path, HEADER, rows, images=["a/f0.png", "a/f1.png", "b/f0.png"])
    table, report = load_frames_csv(csv_path, threshold=2)
    assert table["label"].tolist() == [0, 1, 0] and table["pspi"].tolist() == [0.0, 3.0, 1.5]
    assert table["path"].tolist() == [str(tmp_path / p) for p in ("a/f0.png", "a/f1.png", "b/f0.png")]
    assert table["age"].tolist() == ["Old", None, "Young"] and table["race"].isna().all()
    assert report.rows == 3 and report.skipped == {}
    labelled = frames_csv(tmp_path / "csv", ["path", "subject", "label", "fold", "reference_path"],
                          [["x.png", "S1", "1", "2", ""]], name="labels.csv")
    (tmp_path / "img").mkdir()
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(tmp_path / "img" / "x.png")
    row = load_frames_csv(labelled, image_root=tmp_path / "img", source="uofr").table.iloc[0]
    assert (row["label"], np.isnan(row["pspi"]), row["fold"], row["source"]) == (1, True, 2, "uofr")


def test_frames_csv_missing_image_error_or_counted_skip(tmp_path):
    csv_path = frames_csv(tmp_path, HEADER, [["f0.png", "S1", "0", "", "", ""], ["gone.png", "S1", "2", "", "", ""]],
                          images=["f0.png"])
    _raises(formats.CSV_MISSING_IMAGE.format(path=csv_path, line=3, column="path", image=tmp_path / "gone.png",
                                             base=tmp_path), load_frames_csv, csv_path)
    table, report = load_frames_csv(csv_path, missing="skip")
    assert len(table) == 1 and report.skipped == {"missing_path": 1}


@pytest.mark.parametrize(("row", "message"), [
    (["f0.png", "S1", "17", "", "", ""], formats.PSPI_RANGE.format(path="{csv}", where="line 2", value="17")),
    (["f0.png", "S1", "high", "", "", ""],
     FILE_NOT_NUMBER.format(path="{csv}", line=2, position="column pspi", value="high",
                            fix="Write pspi as a number, e.g. 0, 1 or 2.5.")),
    (["f0.png", "", "1", "", "", ""], formats.CSV_FIELD.format(path="{csv}", line=2, column="subject", value="",
                                                               expected="empty", fix="Every row needs a subject.")),
    (["f0.png", "S1", "", "", "", ""], formats.CSV_FIELD.format(path="{csv}", line=2, column="pspi", value="",
                                                                expected="empty",
                                                                fix="Give each row a pspi (0..16) or a label (0/1).")),
])
def test_frames_csv_bad_values(tmp_path, row, message):
    csv_path = frames_csv(tmp_path, HEADER, [row], images=["f0.png"])
    _raises(message.replace("{csv}", str(csv_path)), load_frames_csv, csv_path)


def test_frames_csv_bad_label_region_and_columns(tmp_path):
    csv_path = frames_csv(tmp_path, ["path", "subject", "label", "region"], [["f0.png", "S1", "2", ""]],
                          images=["f0.png"])
    _raises(formats.CSV_FIELD.format(path=csv_path, line=2, column="label", value="2", expected="0 or 1",
                                     fix="Write binary pain as 0/1, or give pspi instead."), load_frames_csv, csv_path)
    csv_path = frames_csv(tmp_path, ["path", "subject", "label", "region"], [["f0.png", "S1", "1", "middle"]])
    _raises(formats.CSV_FIELD.format(path=csv_path, line=2, column="region", value="middle",
                                     expected="left, right or empty", fix="Leave it empty for a whole image."),
            load_frames_csv, csv_path)
    csv_path = frames_csv(tmp_path, ["file", "subject"], [["f0.png", "S1"]])
    _raises(formats.CSV_COLUMNS.format(path=csv_path, problem="no 'path' column and neither a 'pspi' nor a 'label' "
                                       "column", found=["file", "subject"]), load_frames_csv, csv_path)
    _raises(BAD_VALUE.format(arg="missing", expected="'error' or 'skip'", received="'drop'",
                             fix="Use 'skip' to leave rows with missing images out (counted)."),
            load_frames_csv, csv_path, missing="drop")
