"""The README's examples run as written, and its quick start is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _python_block_after(heading: str) -> str:
    section = README.split(heading, 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_own_loop_example_runs_and_moves_the_scalars():
    namespace: dict = {}
    exec(compile(_python_block_after("## Use LiLAW in your own PyTorch loop"), "README.md", "exec"), namespace)
    scalars = namespace["lilaw"].scalars()
    assert scalars["alpha"] < 10.0 and scalars["beta"] > 2.0


def test_quick_start_is_two_commands_and_ci_runs_the_test_one():
    block = re.search(r"## Quick start.*?```(?:bash|sh)\n(.*?)```", README, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert commands == ["./scripts/demo.sh", "./scripts/test.sh"]
    assert "./scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
