"""Write one small UCR/UEA dataset in each archive format, for the loader tests.

A case is ``(label, channels)`` with ``channels`` a list of value lists (one per channel);
NaN marks a missing or padding value. :func:`write` writes ``NAME_TRAIN`` and ``NAME_TEST``
the way each archive does: tsv/csv2015/txt NaN-pad to a rectangle, ``.ts`` writes unequal
lengths as they are and ``?`` for inner gaps, ``.arff`` writes ``?``.
"""

from __future__ import annotations

import math
from pathlib import Path

Case = tuple[object, list[list[float]]]
FORMATS = ("tsv", "csv2015", "txt", "arff", "ts")


def univariate(rows: list[tuple[object, list[float]]]) -> list[Case]:
    return [(label, [values]) for label, values in rows]


def write(folder: Path, name: str, fmt: str, train: list[Case], test: list[Case]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = {"tsv": ".tsv", "csv2015": "", "txt": ".txt", "arff": ".arff", "ts": ".ts"}[fmt]
    labels = sorted({str(label) for label, _ in train + test})
    for split, cases in (("TRAIN", train), ("TEST", test)):
        text = _WRITERS[fmt](name, cases, labels)
        (folder / f"{name}_{split}{suffix}").write_text(text)


def _number(value: object, fmt: str = "repr") -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if fmt == "sci":
        return f"{float(value):.7e}" if isinstance(value, (int, float)) else str(value)
    return str(value)


def _rectangle(cases: list[Case]) -> list[tuple[object, list[float]]]:
    """Univariate cases NaN-padded to the longest one, as the UCR tsv/csv files are."""
    width = max(len(channels[0]) for _, channels in cases)
    return [(label, channels[0] + [math.nan] * (width - len(channels[0]))) for label, channels in cases]


def _delimited(separator: str, fmt: str = "repr"):
    def writer(name: str, cases: list[Case], labels: list[str]) -> str:
        rows = [separator.join([_number(label, fmt)] + [_number(v, fmt) for v in values])
                for label, values in _rectangle(cases)]
        return "\n".join(rows) + "\n"
    return writer


def _arff(name: str, cases: list[Case], labels: list[str]) -> str:
    rows = _rectangle(cases)
    header = [f"@relation {name}", "% written by tests/domains/ecg/fixtures.py"]
    header += [f"@attribute att{i + 1} numeric" for i in range(len(rows[0][1]))]
    header += ["@attribute target {" + ",".join(labels) + "}", "", "@data"]
    data = [",".join(["?" if math.isnan(v) else str(v) for v in values] + [str(label)]) for label, values in rows]
    return "\n".join(header + data[:1] + ["% a comment inside the data"] + data[1:]) + "\n"


def _ts(name: str, cases: list[Case], labels: list[str]) -> str:
    lengths = {len(_strip(values)) for _, channels in cases for values in channels}
    header = [f"# {name}, written by tests/domains/ecg/fixtures.py", f"@problemName {name}", "@timeStamps false",
              "@missing true", f"@univariate {'true' if len(cases[0][1]) == 1 else 'false'}",
              f"@equalLength {'true' if len(lengths) == 1 else 'false'}"]
    header += [f"@seriesLength {lengths.pop()}"] if len(lengths) == 1 else []
    header += ["@classLabel true " + " ".join(labels), "@data"]
    data = [":".join([",".join("?" if math.isnan(v) else str(v) for v in _strip(values)) for values in channels]
                     + [str(label)]) for label, channels in cases]
    return "\n".join(header + data) + "\n"


def _strip(values: list[float]) -> list[float]:
    """Drop trailing NaN padding: .ts files write unequal lengths as they are."""
    end = len(values)
    while end and math.isnan(values[end - 1]):
        end -= 1
    return values[:end]


_WRITERS = {"tsv": _delimited("\t"), "csv2015": _delimited(","), "txt": _delimited("  ", "sci"),
            "arff": _arff, "ts": _ts}
