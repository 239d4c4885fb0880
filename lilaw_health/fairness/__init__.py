"""Fairness audits of binary classifiers: per-group metrics, gaps and disparities with
bootstrap intervals (:mod:`~lilaw_health.fairness.audit`), metrics per group of any task
(binary, multiclass, regression) with intervals, gaps and a report section
(:mod:`~lilaw_health.fairness.groups`), fairlearn mitigators wrapping any
estimator (:mod:`~lilaw_health.fairness.mitigators`) and self-contained reports
(:mod:`~lilaw_health.fairness.report`). Imports fairlearn: domains load it only on use.
"""

from __future__ import annotations

from lilaw_health.fairness.audit import DISPARITIES, METRICS, Audit, audit_predictions
from lilaw_health.fairness.groups import GroupMetrics, group_metrics
from lilaw_health.fairness.groups_report import group_section

__all__ = ["DISPARITIES", "METRICS", "Audit", "GroupMetrics", "audit_predictions", "group_metrics", "group_section"]
