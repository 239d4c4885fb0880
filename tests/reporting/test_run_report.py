"""Tests of lilaw_health.reporting.run_report: the files and contents of both reports."""

from __future__ import annotations

from html import escape

import pandas as pd
import pytest

from lilaw_health.reporting import write_comparison_report, write_run_report
from lilaw_health.reporting.run_report import NO_META_STEPS

CONFIG = "method:\n  name: lilaw\n  alpha: 10\nnote: \"<script>alert(1)</script>\"\n"


def run_report(out_dir, metrics, history, trajectory, difficulty=None, **options):
    return write_run_report(out_dir, title="ECG5000 | LiLAW", config_text=CONFIG, metrics=metrics,
                            history=history, trajectory=trajectory, difficulty=difficulty, **options)


def test_run_report_writes_all_four_files(tmp_path, check_page, metrics, history, trajectory, difficulty):
    files = run_report(tmp_path, metrics, history, trajectory, difficulty, notes=["Noise: symmetric 40%."])

    names = ["learning_curves.png", "lilaw_scalars.png", "report.md", "report.html"]
    assert files == {name: tmp_path / name for name in names}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    page = files["report.html"].read_text(encoding="utf-8")
    check_page(page)
    assert page.count("data:image/png;base64,") == 2
    for heading in ["Summary", "Learning curves", "LiLAW scalars", "Per-class results", "Confusion matrix",
                    "Mislabel detection", "Most suspect training samples", "Difficulty buckets", "Notes",
                    "Configuration"]:
        assert f"<h2>{heading}</h2>" in page
    assert escape(CONFIG) in page and "<script" not in page
    assert "alpha = 9.8000, beta = 2.1000, delta = 6.0000" in page


def test_run_report_markdown_links_images_and_keeps_metric_precision(tmp_path, metrics, history, trajectory):
    files = run_report(tmp_path, metrics, history, trajectory)

    markdown = files["report.md"].read_text(encoding="utf-8")
    assert "![Learning curves](learning_curves.png)" in markdown
    assert "![LiLAW scalars](lilaw_scalars.png)" in markdown
    assert "| accuracy | 0.9313 |" in markdown or "| accuracy | 0.9312 |" in markdown
    assert "| n_noisy | 8 |" in markdown
    assert "| true \\\\ predicted | normal | PVC | R-on-T |" in markdown
    assert "| PVC | 1 | 4 | 1 |" in markdown
    assert "Best epoch: 6 of 8 run (by validation accuracy)." in markdown


def test_plain_erm_run_has_no_scalars_plot(tmp_path, check_page, metrics, history):
    (tmp_path / "lilaw_scalars.png").write_bytes(b"stale plot of an earlier run")
    metrics = {**metrics, "final_scalars": None}

    files = run_report(tmp_path, metrics, history, pd.DataFrame())

    assert "lilaw_scalars.png" not in files
    assert not (tmp_path / "lilaw_scalars.png").exists()
    page = files["report.html"].read_text(encoding="utf-8")
    check_page(page)
    assert page.count("data:image/png;base64,") == 1
    assert escape(NO_META_STEPS) in page and "no LiLAW meta steps" in page
    assert "Final LiLAW scalars: none (this method takes no LiLAW meta steps)." in page


def test_suspects_are_the_top_15_by_mislabel_score(tmp_path, metrics, history, trajectory, difficulty):
    files = run_report(tmp_path, metrics, history, trajectory, difficulty)

    markdown = files["report.md"].read_text(encoding="utf-8")
    section = markdown.split("## Most suspect training samples")[1].split("## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| rec-")]
    expected = difficulty.sort_values("mislabel_score", ascending=False)["sample_id"].head(15).tolist()
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == expected
    assert "| sample_id | label | p | W_alpha | W | bucket | mislabel_score | is_flipped |" in section
    assert "extra" not in section


def test_validation_rows_of_the_difficulty_export_are_left_out(tmp_path, metrics, history, trajectory,
                                                                difficulty):
    split = ["val" if i % 4 == 0 else "train" for i in range(len(difficulty))]
    difficulty = difficulty.assign(split=split, mislabel_score=[1.0 if s == "val" else 0.5 for s in split])

    files = run_report(tmp_path, metrics, history, trajectory, difficulty)

    markdown = files["report.md"].read_text(encoding="utf-8")
    suspects = markdown.split("## Most suspect training samples")[1].split("## ")[0]
    assert "| 1.0000 |" not in suspects
    buckets = markdown.split("## Difficulty buckets")[1].split("## ")[0]
    assert "| easy | 18 |" in buckets  # 25 easy rows, 7 of them validation


def test_difficulty_buckets_are_counted(tmp_path, metrics, history, trajectory, difficulty):
    files = run_report(tmp_path, metrics, history, trajectory, difficulty.iloc[5:])

    markdown = files["report.md"].read_text(encoding="utf-8")
    assert "| easy | 20 | 0.5714 |" in markdown
    assert "| moderate | 10 | 0.2857 |" in markdown
    assert "| hard | 5 | 0.1429 |" in markdown


def test_optional_parts_may_be_absent(tmp_path, check_page, history, trajectory):
    metrics = {"test": {"accuracy": 0.5}, "final_scalars": None, "best_epoch": 1, "epochs_run": 8}

    files = run_report(tmp_path, metrics, history, trajectory)

    page = files["report.html"].read_text(encoding="utf-8")
    check_page(page)
    for heading in ["Per-class results", "Confusion matrix", "Mislabel detection", "Difficulty buckets", "Notes"]:
        assert f"<h2>{heading}</h2>" not in page


@pytest.fixture
def runs() -> pd.DataFrame:
    return pd.DataFrame({
        "method": ["erm", "erm", "lilaw", "lilaw"],
        "seed": [0, 1, 0, 1],
        "accuracy": [0.80, 0.82, 0.90, 0.91],
        '"><img src=x onerror=alert(1)>': [0.1, 0.2, 0.3, 0.4],
    })


def test_comparison_report_writes_its_files(tmp_path, check_page, runs):
    summary = pd.DataFrame({"method": ["erm", "lilaw"], "accuracy": ["0.8100 ± 0.0141", "0.9050 ± 0.0071"]})

    files = write_comparison_report(tmp_path / "cmp", title="ERM vs LiLAW", runs=runs, summary=summary,
                                    metrics=["accuracy"], config_text="seeds: [0, 1]", notes=["Two seeds."])

    names = ["comparison.png", "comparison.md", "comparison.html"]
    assert files == {name: tmp_path / "cmp" / name for name in names}
    page = files["comparison.html"].read_text(encoding="utf-8")
    parsed = check_page(page)
    assert parsed.tags.count("img") == page.count("data:image/png;base64,") == 1
    assert "0.9050 ± 0.0071" in page and '<meta charset="utf-8">' in page
    assert "<h2>Configuration</h2>" in page and "<h2>Notes</h2>" in page
    markdown = files["comparison.md"].read_text(encoding="utf-8")
    assert "![Comparison](comparison.png)" in markdown
    assert "| lilaw | 0.9050 ± 0.0071 |" in markdown


def test_comparison_report_shows_the_cost_table(tmp_path, runs):
    summary = pd.DataFrame({"method": ["erm", "lilaw"], "accuracy": ["0.8100 ± 0.0141", "0.9050 ± 0.0071"]})
    cost = pd.DataFrame({"method": ["erm", "lilaw"], "seconds_per_epoch": ["0.400 ± 0.010", "0.480 ± 0.020"],
                         "time_vs_erm": [1.0, 1.2]})
    files = write_comparison_report(tmp_path, title="t", runs=runs, summary=summary, metrics=["accuracy"], cost=cost)
    page = files["comparison.html"].read_text(encoding="utf-8")
    assert "<h2>Cost</h2>" in page and "0.480 ± 0.020" in page and "heap_in_use" in page
    assert "| lilaw | 0.480 ± 0.020 | 1.2000 |" in files["comparison.md"].read_text(encoding="utf-8")
    without = write_comparison_report(tmp_path / "plain", title="t", runs=runs, summary=summary, metrics=["accuracy"])
    assert "<h2>Cost</h2>" not in without["comparison.html"].read_text(encoding="utf-8")


def test_comparison_report_without_config_has_no_configuration_section(tmp_path, runs):
    summary = pd.DataFrame({"method": ["erm", "lilaw"]})

    files = write_comparison_report(tmp_path, title="t", runs=runs, summary=summary, metrics=["accuracy"])

    assert "## Configuration" not in files["comparison.md"].read_text(encoding="utf-8")
