"""Fuzzing the recipe parser: whatever a user writes in a recipe file or on the command line,
the result is a valid recipe or one of the project's errors naming the file or the command line,
never a traceback of another kind."""

from __future__ import annotations

import tempfile
from dataclasses import fields
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lilaw_health.core.errors import LilawError
from lilaw_health.recipe import SECTIONS, Recipe, load_recipe, valid_keys

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

KEYS = [key.replace(".<any>", ".x") for key in valid_keys()] + ["base", "epoch", "noise.ratio", "lilaw", "data"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=12), st.sampled_from(["erm", "lilaw", "symmetric", "none", "auto", "cuda", "cpu",
                                                           "ecg5000", "fcn", "accuracy", "loss", "1e300", "-1"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["kind", "rate", "alpha", "x", "name", "p"]), inner, max_size=3), max_leaves=6)


def _nested(pairs: dict[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs.items():
        head, _, tail = key.partition(".")
        if tail:
            section = out.setdefault(head, {})
            if isinstance(section, dict):
                section[tail] = value
        else:
            out[head] = value
    return out


def _load_file(content: bytes) -> tuple[Path, Recipe | LilawError]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.yaml"
        path.write_bytes(content)
        try:
            return path, load_recipe(str(path))
        except LilawError as error:
            return path, error


def _assert_names(outcome: Recipe | LilawError, where: str) -> None:
    if isinstance(outcome, LilawError):
        assert where in str(outcome), f"the error does not name {where}: {outcome}"
    else:
        assert isinstance(outcome, Recipe)


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_as_a_recipe_file(content):
    path, outcome = _load_file(content)
    _assert_names(outcome, str(path))


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6))
def test_any_mapping_of_recipe_keys(pairs):
    content = yaml.safe_dump(_nested(pairs), allow_unicode=True).encode("utf-8")
    path, outcome = _load_file(content)
    _assert_names(outcome, str(path))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(KEYS), st.text(max_size=10) | SCALARS.map(str)), max_size=5))
def test_any_command_line_overrides(pairs):
    overrides = [f"{key}={text}" for key, text in pairs]
    try:
        outcome: Recipe | LilawError = load_recipe("ecg5000_noisy", overrides)
    except LilawError as error:
        outcome = error
    if isinstance(outcome, LilawError):
        text = str(outcome)
        assert "--set" in text or "override" in text or "command line" in text, text


def test_the_fuzzed_keys_cover_every_section():
    assert {f.name for f in fields(Recipe)} >= set(SECTIONS)
    assert all(any(key.startswith(f"{section}.") for key in KEYS) for section in SECTIONS)
