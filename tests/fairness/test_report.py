"""The audit report: well-formed, self-contained HTML that escapes hostile data; Markdown,
JSON and the aggregation over seeds."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from lilaw_health.fairness.audit import audit_predictions
from lilaw_health.fairness.report import aggregate, write_audit_report
from tests.reporting.conftest import CheckedHTML

HOSTILE = "<script>alert(1)</script>"


def _audits(seed: int, *, feature: str = "sex", group: str = "Female"):
    rng = np.random.default_rng(seed)
    n = 400
    sensitive = pd.DataFrame({feature: rng.choice([group, "Male", "$x$"], n, p=[0.45, 0.5, 0.05]),
                              "race": rng.choice(["White", "Black"], n)})
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    return audit_predictions(y, pred, sensitive, reference={feature: "Male"}, n_boot=20, seed=0)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("report")
    audits = {"erm": [_audits(0, feature=HOSTILE, group=HOSTILE), _audits(1, feature=HOSTILE, group=HOSTILE)],
              "lilaw": [_audits(2, feature=HOSTILE, group=HOSTILE), _audits(3, feature=HOSTILE, group=HOSTILE)]}
    paths = write_audit_report(tmp_path, audits, title="Fairness audit", card=f"# Card\n\n{HOSTILE}",
                               config_text=f"name: {HOSTILE}\n")
    return tmp_path, paths


def test_files_are_written(report):
    folder, paths = report
    assert sorted(p.name for p in paths) == ["audit.html", "audit.json", "audit.md", "audit_disparities.png",
                                             "audit_gaps.png"]


def test_html_is_well_formed_self_contained_and_escapes_hostile_values(report):
    folder, _ = report
    page = (folder / "audit.html").read_text(encoding="utf-8")
    parsed = CheckedHTML(page)
    assert parsed.errors == [] and parsed.doctype.lower() == "doctype html"
    assert "script" not in parsed.tags and "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page
    assert all(value.startswith("data:image/png;base64,") for _, value in parsed.urls) and len(parsed.urls) == 2
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for heading in ("Overall metrics", "Disparities per sensitive feature", "Per-group selection rate",
                    "Per-group accuracy", "Gaps to the reference group", "Gap in TPR", "Warnings", "Data card",
                    "Run configuration"):
        assert f"<h2>{heading}</h2>" in page


def test_markdown_escapes_hostile_values(report):
    folder, _ = report
    text = (folder / "audit.md").read_text(encoding="utf-8")
    outside_code = text.split("```")[0::2]
    assert all(re.search(r"(?<!\\)<script", part) is None for part in outside_code)
    assert "\\<script>alert(1)\\</script>" in text


def test_json_and_aggregation_over_seeds(report):
    folder, _ = report
    payload = json.loads((folder / "audit.json").read_text())
    assert list(payload["models"]) == ["erm", "lilaw"] and len(payload["models"]["erm"]) == 2
    audits = [_audits(0), _audits(1)]
    tables = aggregate({"erm": audits})
    overall = tables["overall"].iloc[0]
    accuracies = [a.overall["accuracy"] for a in audits]
    assert overall["runs"] == 2 and overall["accuracy"] == pytest.approx(np.mean(accuracies))
    assert overall["accuracy_std"] == pytest.approx(np.std(accuracies, ddof=1))
    female = tables["groups"].set_index(["feature", "group"]).loc[("sex", "Female")]
    lows = [a.groups.set_index(["feature", "group"]).loc[("sex", "Female"), "tpr_low"] for a in audits]
    assert female["tpr_low"] == pytest.approx(np.mean(lows))
    disparities = tables["disparities"].set_index("feature").loc["sex"]
    assert disparities["eo_difference"] == pytest.approx(np.mean([a.summary()["sex_eo_difference"] for a in audits]))
