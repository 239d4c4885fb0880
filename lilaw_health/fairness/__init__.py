"""Fairness audits of binary classifiers: per-group metrics, gaps and disparities with
bootstrap intervals (:mod:`~lilaw_health.fairness.audit`), fairlearn mitigators wrapping any
estimator (:mod:`~lilaw_health.fairness.mitigators`) and self-contained reports
(:mod:`~lilaw_health.fairness.report`). Imports fairlearn: domains load it only on use.
"""

from __future__ import annotations

from lilaw_health.fairness.audit import DISPARITIES, METRICS, Audit, audit_predictions

__all__ = ["DISPARITIES", "METRICS", "Audit", "audit_predictions"]
