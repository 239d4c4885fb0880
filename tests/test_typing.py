"""mypy passes on core (configured in pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


FRESH_INTERPRETERS = [(("-m", "mypy"), ROOT)]  # started in the background when the session begins (tests/conftest.py)


def test_mypy_passes_on_core(fresh_interpreter):
    result = fresh_interpreter.run(["-m", "mypy"], ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
