"""Reports of training runs: PNG figures, Markdown and self-contained HTML.

:func:`write_run_report` documents one run (metrics, learning curves, LiLAW scalars,
mislabel detection, difficulty, configuration); :func:`write_comparison_report` compares
methods over seeds. The building blocks live in :mod:`~lilaw_health.reporting.plots` and
:mod:`~lilaw_health.reporting.html`.
"""

from __future__ import annotations

from lilaw_health.reporting.run_report import write_comparison_report, write_run_report

__all__ = ["write_comparison_report", "write_run_report"]
