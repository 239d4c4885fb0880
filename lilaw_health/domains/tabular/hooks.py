"""The tabular domain's hooks into the pipeline: a fairness audit of every run, and the
side-by-side audit of a comparison.

:func:`evaluate` audits the run's test predictions and, when the recipe asks
(``data.baselines``, ``data.mitigators``), fits and audits extra models on the same
training rows and labels: scikit-learn baselines on the same preprocessed features, and
fairlearn mitigators wrapping a :class:`LiLAWClassifier` with the run's own settings. It
writes ``fairness.json`` (the raw audits; rewritten as each extra model finishes, so a
failure never loses what was computed before) and the run's report ``audit.html`` /
``audit.md`` / ``audit.json``. :func:`compare_report` gathers the runs' ``fairness.json``
into one report beside the comparison.

The audit compares 0/1 predictions of a binary classifier across groups (fairlearn's
``MetricFrame``); a regression (``data.task: regression``, dataset ``diabetes``) is not
audited here: both hooks return nothing for it, and its groups reach task-generic group
metrics through ``TaskData.sensitive_test``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lilaw_health.core.checkpoint import atomic_write_text
from lilaw_health.core.data import TaskData, dataset_inputs, dataset_labels
from lilaw_health.domains.tabular.baselines import BASELINES
from lilaw_health.domains.tabular.estimator import LiLAWClassifier
from lilaw_health.domains.tabular.options import TabularOptions
from lilaw_health.fairness.audit import audit_predictions
from lilaw_health.fairness.mitigators import MITIGATORS
from lilaw_health.fairness.report import write_audit_report
from lilaw_health.recipe import Recipe

LOGGER = logging.getLogger(__name__)

AUDIT_FILE = "fairness.json"  # the raw audits of one run; audit.json is its report's
BOOTSTRAP_SEED = 0  # the same resamples for every run on the same test set: paired comparisons
NO_AUDITS = "no run folder holds {file}; the runs were not audited (rerun them with the tabular domain)."


def evaluate(data: TaskData, *, y_true: np.ndarray, proba: np.ndarray, out_dir: str | Path,
             recipe: Recipe | None = None, train_labels: np.ndarray | None = None) -> dict[str, Any] | None:
    """Audit one run's test predictions; returns ``metrics["domain"]`` of the run (None for a
    regression, which the binary audit does not apply to; nothing is written).

    ``recipe`` names the run and configures the mitigators' estimator; ``train_labels`` are the
    labels the network trained on (injected noise included) for every training row, given to
    the baselines and mitigators. Outside the pipeline both may be omitted.
    """
    if data.task == "regression":
        return None
    out_dir = Path(out_dir)
    label = recipe.method if recipe else "model"
    audit = _audit(data, y_true, proba.argmax(axis=1))
    payload: dict[str, Any] = {"dataset": data.name, "method": label, "seed": recipe.seed if recipe else None,
                               "audits": {label: audit.to_dict()}, "kinds": {label: "network"},
                               "card": data.card, "errors": {}}
    _save(out_dir, payload)
    extra = {}
    for kind, name, predict in _extra_models(data, recipe, train_labels):
        try:
            y_pred = predict()
        except (ValueError, RuntimeError) as error:  # an optional model must not cost the audited run
            LOGGER.warning("%s %s failed: %s", kind, name, error)
            payload["errors"][name] = str(error)
            continue
        model = name if kind == "baseline" else f"{label} + {name}"
        extra_audit = _audit(data, y_true, y_pred)
        payload["audits"][model], payload["kinds"][model] = extra_audit.to_dict(), kind
        extra[model] = {**{k: extra_audit.overall[k] for k in ("accuracy", "macro_f1")}, **extra_audit.summary()}
        _save(out_dir, payload)
    dataset = re.sub(r"[^\w.+-]", "_", data.name or "data")  # titles are not escaped in Markdown
    write_audit_report(out_dir, {m: [a] for m, a in payload["audits"].items()},
                       title=f"Fairness audit of {dataset}: {label}",
                       card=data.card, config_text=recipe.to_yaml() if recipe else None)
    return {"summary": audit.summary(), "audit": AUDIT_FILE, "n_warnings": len(audit.warnings),
            "other_models": extra, "errors": payload["errors"]}


def compare_report(out_dir: str | Path, *, runs: Mapping[tuple[str, int], Path],
                   recipe: Recipe | None = None) -> list[Path]:
    """ERM, LiLAW (and any baselines or mitigators) side by side over seeds: audit.html/.md/.json.
    Nothing for a regression recipe, whose runs have no audit."""
    if recipe is not None and TabularOptions.for_dataset(recipe.dataset, recipe.data).task == "regression":
        return []
    payloads = {key: json.loads((Path(folder) / AUDIT_FILE).read_text(encoding="utf-8"))
                for key, folder in runs.items() if (Path(folder) / AUDIT_FILE).is_file()}
    if not payloads:
        LOGGER.warning(NO_AUDITS.format(file=AUDIT_FILE))
        return []
    methods = list(dict.fromkeys(method for method, _ in runs))
    ordered = sorted(payloads.items(), key=lambda item: (methods.index(item[0][0]), item[0][1]))
    audits: dict[str, list[dict]] = {}
    for kind in ("network", "baseline", "mitigator"):
        for (method, _), payload in ordered:
            for model, audit in payload["audits"].items():
                # baselines do not depend on the method: take them from the first method's runs only
                if payload["kinds"][model] == kind and (kind != "baseline" or method == methods[0]):
                    audits.setdefault(model, []).append(audit)
    first_key = next(iter(payloads))
    notes = [f"Runs without an audit: {len(runs) - len(payloads)}."] if len(payloads) < len(runs) else []
    dataset = re.sub(r"[^\w.+-]", "_", str(payloads[first_key].get("dataset") or "data"))
    return write_audit_report(out_dir, audits, title=f"Fairness audit of {dataset}: {' vs '.join(methods)}",
                              card=payloads[first_key].get("card"), notes=notes,
                              config_text=recipe.to_yaml() if recipe else None)


def _audit(data: TaskData, y_true: np.ndarray, y_pred: np.ndarray):
    settings = data.extras["audit"]
    train = data.extras["sensitive_train"]
    return audit_predictions(y_true, y_pred, data.extras["sensitive_test"], reference=settings["reference"],
                             intersections=settings["intersections"], n_boot=settings["n_boot"],
                             confidence=settings["confidence"], min_group_size=settings["min_group_size"],
                             seed=BOOTSTRAP_SEED, expected_groups={f: sorted(set(train[f])) for f in train.columns})


def _extra_models(data: TaskData, recipe: Recipe | None, train_labels: np.ndarray | None):
    """(kind, name, predict) of each requested baseline and mitigator; nothing is fitted yet."""
    settings = data.extras["audit"]
    if not settings["baselines"] and not settings["mitigators"]:
        return []
    seed = recipe.seed if recipe else 0
    y = train_labels if train_labels is not None else dataset_labels(data.train)
    X, X_test = dataset_inputs(data.train), dataset_inputs(data.test)
    feature = settings["mitigate"]
    sensitive, sensitive_test = (data.extras[k][feature].to_numpy() for k in ("sensitive_train", "sensitive_test"))
    models = [("baseline", name, lambda f=BASELINES.get(name): f(seed).fit(X, y).predict(X_test))
              for name in settings["baselines"]]
    estimator, max_iter = _estimator(recipe), settings["mitigator_max_iter"]
    models += [("mitigator", name, lambda m=MITIGATORS.get(name): m(estimator, X, y, sensitive, X_test,
                                                                     sensitive_test, max_iter=max_iter, seed=seed))
               for name in settings["mitigators"]]
    return models


def _estimator(recipe: Recipe | None) -> LiLAWClassifier:
    if recipe is None:
        return LiLAWClassifier()
    return LiLAWClassifier(recipe.method, model=recipe.model, model_args=dict(recipe.model_args),
                           epochs=recipe.epochs, batch_size=recipe.batch_size, lr=recipe.lr,
                           weight_decay=recipe.weight_decay, val_fraction=recipe.val_fraction, monitor=recipe.monitor,
                           lilaw=recipe.lilaw, loss=recipe.loss, random_state=recipe.seed,
                           device="cpu" if recipe.device == "auto" else recipe.device)


def _save(out_dir: Path, payload: dict[str, Any]) -> None:
    atomic_write_text(out_dir / AUDIT_FILE, json.dumps(payload, indent=1))
