"""Every data card has every required section and matches what the loader reads."""

from __future__ import annotations

import pytest

from lilaw_health.data_cards import card_names, load_card, missing_sections


def test_there_are_cards():
    assert "ecg5000" in card_names()


@pytest.mark.parametrize("name", card_names())
def test_card_is_complete(name):
    assert missing_sections(load_card(name)) == []


def test_missing_sections_are_found():
    assert missing_sections("# X\n## Provenance\nsomewhere\n## Citation\n\n") == [
        "Citation", "Licence and access", "Consent", "Counts", "Label definition", "Sensitive attributes",
        "Split policy", "Known issues"]


def test_ecg5000_card_counts_match_the_data():
    import numpy as np

    from lilaw_health.domains.ecg.data import load_data

    data = load_data("ECG5000")
    card = load_card("ECG5000")
    train = "| train | 500 | " + " | ".join(map(str, np.bincount(data.train.targets))) + " |"
    assert train in card
    test_counts = " | ".join(f"{c:,}" for c in np.bincount(data.test.targets))
    assert f"| test | 4,500 | {test_counts} |" in card


def test_ecg5000_sets_its_card_and_the_run_report_prints_it(tmp_path):
    from lilaw_health.cli import main
    from lilaw_health.domains.ecg.data import load_data

    assert load_data("ECG5000").card == load_card("ECG5000")
    out = tmp_path / "run"
    assert main(["run", "ecg5000", "--out", str(out), "--quiet", "--set", "epochs=1", "method=erm"]) == 0
    report = (out / "report.md").read_text()
    assert "## Data card" in report and load_card("ECG5000").splitlines()[0] in report
