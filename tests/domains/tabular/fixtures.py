"""Small files in the raw formats the tabular loaders read, for fast tests.

:func:`write_adult` writes ``adult.data`` / ``adult.test`` exactly as UCI does: no header,
", " separators, "?" for missing values, a junk first line and "." after the labels in the
test file, and blank trailing lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WORKCLASS = ["Private", "Self-emp-not-inc", "State-gov"]
EDUCATION = [("Bachelors", 13), ("HS-grad", 9), ("Masters", 14)]
MARITAL = ["Married-civ-spouse", "Never-married", "Divorced"]
OCCUPATION = ["Exec-managerial", "Adm-clerical", "Craft-repair"]
RELATIONSHIP = ["Husband", "Not-in-family", "Wife"]
RACE = ["White", "Black", "Asian-Pac-Islander"]
COUNTRY = ["United-States", "Mexico"]


def adult_rows(n: int, *, seed: int, extra_country: str | None = None) -> list[list[str]]:
    """``n`` plausible Adult rows (15 fields as text); income depends on sex, age and education."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        sex = "Male" if rng.random() < 0.6 else "Female"
        age = int(rng.integers(17, 80))
        education, years = EDUCATION[int(rng.integers(len(EDUCATION)))]
        score = 0.8 * (sex == "Male") + 0.03 * (age - 40) + 0.3 * (years - 10) + rng.normal(0, 1)
        income = ">50K" if score > 0.9 else "<=50K"
        country = extra_country if extra_country and i == 0 else COUNTRY[int(rng.random() < 0.1)]
        rows.append([str(age), str(rng.choice(WORKCLASS)), str(int(rng.integers(20000, 400000))), education,
                     str(years), str(rng.choice(MARITAL)), str(rng.choice(OCCUPATION)), str(rng.choice(RELATIONSHIP)),
                     str(rng.choice(RACE, p=[0.8, 0.15, 0.05])), sex, str(int(rng.random() < 0.1) * 5000), "0",
                     str(int(rng.integers(10, 60))), country, income])
    return rows


def write_adult(folder: Path, *, n_train: int = 240, n_test: int = 120, missing: bool = True) -> Path:
    """Write raw-format ``adult.data`` and ``adult.test`` into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    train = adult_rows(n_train, seed=0, extra_country="Holand-Netherlands")
    test = adult_rows(n_test, seed=1)
    if missing:
        train[3][1] = train[3][6] = "?"
        train[5][13] = "?"
        test[2][1] = "?"
    (folder / "adult.data").write_text("\n".join(", ".join(r) for r in train) + "\n\n")
    test_lines = [", ".join(r[:-1] + [r[-1] + "."]) for r in test]
    (folder / "adult.test").write_text("|1x3 Cross validator\n" + "\n".join(test_lines) + "\n\n")
    return folder


def write_csv(path: Path, columns: dict[str, list], *, encoding: str = "utf-8") -> Path:
    """A CSV with a header from ``columns`` (None is written as an empty field)."""
    names = list(columns)
    lines = [",".join(names)]
    for values in zip(*columns.values()):
        lines.append(",".join("" if v is None else str(v) for v in values))
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def patients(n: int = 200, *, seed: int = 0) -> dict[str, list]:
    """A small clinical-looking table: outcome depends on age, dose and sex."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n).tolist()
    age = rng.integers(20, 90, n)
    dose = rng.normal(5, 2, n).round(2)
    site = rng.choice(["north", "south", "east"], n).tolist()
    outcome = ((0.04 * (age - 50) + 0.3 * (dose - 5) + 0.5 * (np.array(sex) == "M")
                + rng.normal(0, 1, n)) > 0.3).astype(int)
    return {"age": age.tolist(), "dose": dose.tolist(), "site": site, "sex": sex,
            "outcome": np.where(outcome == 1, "yes", "no").tolist()}


def patient_scores(n: int = 60, *, seed: int = 0) -> dict[str, list]:
    """:func:`patients` with a numeric outcome instead: ``score`` (0-10, two decimals)."""
    table = patients(n, seed=seed)
    rng = np.random.default_rng(seed + 100)
    age, dose = np.array(table["age"]), np.array(table["dose"])
    score = np.clip(5 + 0.05 * (age - 50) + 0.4 * (dose - 5) + rng.normal(0, 1, n), 0, 10).round(2)
    return {**{k: v for k, v in table.items() if k != "outcome"}, "score": score.tolist()}
