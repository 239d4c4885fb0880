"""data.positive_label and data.reference groups are matched as the user wrote them: YAML's
booleans (unquoted yes/no, on/off, true/false) and numbers, through a recipe file and through
``--set`` overrides (both read with yaml.safe_load)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lilaw_health.core.errors import InputError
from lilaw_health.domains.tabular.data import (LABEL_SPELLINGS, POSITIVE_ABSENT, REFERENCE_ABSENT,
                                               REFERENCE_SPELLINGS, TARGET_NOT_BINARY, load_data)
from lilaw_health.domains.tabular.labels import YAML_BOOLEAN_NOTE, example, listing, spellings
from lilaw_health.recipe import load_recipe
from tests.domains.tabular.fixtures import patients, write_csv

RECIPE = """name: tiny
domain: tabular
dataset: csv
model: mlp
data:
  path: {path}
  target: outcome
  sensitive: [sex, smoker]
{extra}"""


@pytest.mark.parametrize("value, texts, expected", [
    (True, ["no", "yes"], ["yes"]), (True, ["N", "Y"], ["Y"]), (True, ["FALSE", "TRUE"], ["TRUE"]),
    (True, ["off", "on"], ["on"]), (True, ["No", "Yes"], ["Yes"]), (False, ["no", "yes"], ["no"]),
    (True, ["Yes", "no", "yes"], ["Yes", "yes"]), (True, ["negative", "positive"], []),
    (1, ["0", "1"], ["1"]), (1, ["0.0", "1.0"], ["1.0"]), (1.0, ["0", "1"], ["1"]),
    (1, ["1", "1.0", "x"], ["1", "1.0"]), ("1", ["0", "1.0"], ["1.0"]), ("1", ["1.0", "x"], []), ("yes", ["False", "True"], ["True"]),
    ("Yes", ["no", "yes"], []), ("yes", ["no", "yes"], ["yes"]), (2, ["no", "yes"], []),
])
def test_spellings_of_booleans_numbers_and_text(value, texts, expected):
    assert spellings(value, texts) == expected


def test_example_and_listing_for_messages():
    assert example("Yes", ["no", "yes"]) == "yes" and example(True, ["neg", "pos"]) == "pos"
    assert listing(list("abc")) == "['a', 'b', 'c']"
    assert listing(list("abcdefghijkl")) == "['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'] and 2 more"


def _table(**columns: list) -> dict[str, list]:
    table = patients(60)
    table["smoker"] = ["yes" if i % 3 == 0 else "no" for i in range(60)]
    table.update(columns)
    return table


def _recipe(tmp_path: Path, table: dict[str, list], extra: str = "", overrides: list[str] | None = None):
    path = write_csv(tmp_path / "tiny.csv", table)
    recipe_path = tmp_path / "tiny.yaml"
    recipe_path.write_text(RECIPE.format(path=path, extra=extra))
    return load_recipe(str(recipe_path), overrides), path


@pytest.mark.parametrize("extra, overrides", [
    ("  positive_label: yes\n", None),  # recipe file, unquoted: YAML reads True
    ("", ["data.positive_label=yes"]),  # --set, unquoted
    ("", ["data.positive_label=on"]),
    ("", ["data.positive_label=true"]),
    ("  positive_label: \"yes\"\n", None),  # quoted: text, matched exactly
    ("", ["data.positive_label=\"yes\""]),
])
def test_an_unquoted_yes_matches_the_yes_of_the_column(tmp_path, extra, overrides):
    recipe, _ = _recipe(tmp_path, _table(), extra, overrides)
    assert recipe.data["positive_label"] in (True, "yes")
    task = load_data("csv", options=recipe.data)
    assert task.class_names == ["no", "yes"] and task.extras["positive_label"] == "yes"
    outcome = patients(60)["outcome"]
    rows = [int(i.split(":")[1]) - 1 for i in task.train.sample_ids]
    assert task.train.targets.tolist() == [int(outcome[r] == "yes") for r in rows]


@pytest.mark.parametrize("spelled, override, positive", [
    (("Y", "N"), "yes", "Y"), (("on", "off"), "on", "on"), (("Yes", "No"), "YES", "Yes"), (("yes", "no"), "no", "no"),
    (("TRUE", "FALSE"), "true", "True"),  # pandas itself reads TRUE/FALSE as booleans
    (("true", "false"), "\"true\"", "True"),  # quoted text still matches a column pandas read as booleans
])
def test_a_boolean_matches_every_yaml_spelling_in_any_case(tmp_path, spelled, override, positive):
    outcome = [spelled[0] if v == "yes" else spelled[1] for v in patients(60)["outcome"]]
    recipe, _ = _recipe(tmp_path, _table(outcome=outcome), overrides=[f"data.positive_label={override}"])
    task = load_data("csv", options=recipe.data)
    assert task.extras["positive_label"] == positive and positive in task.class_names


@pytest.mark.parametrize("values, label", [
    (("1", "0"), "1"), (("1.0", "0.0"), "1"), (("1", "0"), "1.0"), (("1.0", "0.0"), "1.0"),
])
def test_a_number_matches_ints_and_floats(tmp_path, values, label):
    outcome = [values[0] if v == "yes" else values[1] for v in patients(60)["outcome"]]
    recipe, _ = _recipe(tmp_path, _table(outcome=outcome), f"  positive_label: {label}\n")
    assert isinstance(recipe.data["positive_label"], (int, float))
    task = load_data("csv", options=recipe.data)
    assert task.class_names == ["0", "1"]  # a numeric column is written without ".0"


def test_two_spellings_of_the_same_boolean_are_refused(tmp_path):
    outcome = patients(60)["outcome"]
    outcome[0], outcome[1] = "Yes", "y"
    recipe, path = _recipe(tmp_path, _table(outcome=outcome), overrides=["data.positive_label=yes"])
    with pytest.raises(InputError) as error:
        load_data("csv", options=recipe.data)
    assert str(error.value) == LABEL_SPELLINGS.format(path=path, label=True, note=YAML_BOOLEAN_NOTE,
                                                      column="outcome", count=3, spellings=["Yes", "y", "yes"])


def test_an_absent_boolean_shows_the_values_and_the_quoted_fix(tmp_path):
    outcome = ["positive" if v == "yes" else "negative" for v in patients(60)["outcome"]]
    recipe, path = _recipe(tmp_path, _table(outcome=outcome), "  positive_label: yes\n")
    with pytest.raises(InputError) as error:
        load_data("csv", options=recipe.data)
    message = str(error.value)
    assert message == POSITIVE_ABSENT.format(path=path, label=True, note=YAML_BOOLEAN_NOTE, column="outcome",
                                             values="['negative', 'positive']", example="positive")
    assert "'True' never occurs" not in message and "YAML reads unquoted yes/no" in message
    assert "--set 'data.positive_label=\"positive\"'" in message


def test_an_absent_number_lists_the_first_values(tmp_path):
    outcome = [f"grade{i % 12:02d}" for i in range(60)]
    recipe, path = _recipe(tmp_path, _table(outcome=outcome), "  positive_label: 1\n  one_vs_rest: true\n")
    with pytest.raises(InputError) as error:
        load_data("csv", options=recipe.data)
    values = [f"grade{i:02d}" for i in range(12)]
    assert str(error.value) == POSITIVE_ABSENT.format(path=path, label=1, note="", column="outcome",
                                                      values=listing(values), example="grade11")
    assert str(error.value).count("grade") == 12 and "and 2 more" in str(error.value)
    recipe, path = _recipe(tmp_path, _table(outcome=outcome), "  positive_label: grade01\n")
    with pytest.raises(InputError) as error:
        load_data("csv", options=recipe.data)
    assert str(error.value) == TARGET_NOT_BINARY.format(path=path, column="outcome", count=12,
                                                        values=listing(values))


def test_reference_groups_are_matched_like_labels(tmp_path):
    recipe, _ = _recipe(tmp_path, _table(), "  positive_label: yes\n",
                        ["data.reference.smoker=no", "data.reference.sex=F"])
    assert recipe.data["reference"] == {"smoker": False, "sex": "F"}
    task = load_data("csv", options=recipe.data)
    assert task.extras["audit"]["reference"] == {"smoker": "no", "sex": "F"}


def test_reference_group_errors_show_the_groups_and_the_quoted_fix(tmp_path):
    recipe, path = _recipe(tmp_path, _table(smoker=["current" if i % 3 else "never" for i in range(60)]),
                           "  positive_label: yes\n", ["data.reference.smoker=yes"])
    with pytest.raises(InputError) as error:
        load_data("csv", options=recipe.data)
    assert str(error.value) == REFERENCE_ABSENT.format(path=path, group=True, note=YAML_BOOLEAN_NOTE,
                                                       feature="smoker", groups="['current', 'never']",
                                                       example="never")
    assert "--set 'data.reference.smoker=\"never\"'" in str(error.value)
    recipe, path = _recipe(tmp_path, _table(smoker=["Yes" if i % 2 else "yes" for i in range(60)]),
                           "  positive_label: yes\n", ["data.reference.smoker=yes"])
    with pytest.raises(InputError) as error:
        load_data("csv", options=recipe.data)
    assert str(error.value) == REFERENCE_SPELLINGS.format(path=path, group=True, note=YAML_BOOLEAN_NOTE,
                                                          feature="smoker", count=2, spellings=["Yes", "yes"],
                                                          first="Yes")
