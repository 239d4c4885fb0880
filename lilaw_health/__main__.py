"""``python -m lilaw_health``: the ``lilaw-health`` command, as ``torchrun -m lilaw_health run RECIPE`` launches it."""

from __future__ import annotations

import sys

from lilaw_health.cli import main

if __name__ == "__main__":
    sys.exit(main())
