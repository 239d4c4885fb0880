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
    # a narrow FCN: the card's path into the report does not depend on the width (the default one spent
    # 12 s predicting the 4,500 test beats)
    assert main(["run", "ecg5000", "--out", str(out), "--quiet", "--set", "epochs=1", "min_steps=0", "method=erm",
                 "model_args.widths=[16,32,16]"]) == 0
    report = (out / "report.md").read_text()
    assert "## Data card" in report and load_card("ECG5000").splitlines()[0] in report


def test_diabetes_card_counts_match_the_data():
    import numpy as np

    from lilaw_health.domains.tabular.data import load_data

    data = load_data("diabetes", options={"sensitive": ["sex", "age_band"]})
    card = load_card("diabetes")
    assert data.card == card
    sexes, bands = {}, {}
    for name, part, groups in (("train", data.train, data.extras["sensitive_train"]),
                               ("test", data.test, data.sensitive_test)):
        sexes[name], bands[name] = groups["sex"].value_counts(), groups["age_band"].value_counts()
        target = part.targets.astype(np.float64)
        row = (f"| {name} (split_seed 0) | {len(part)} | {sexes[name]['1']} | {sexes[name]['2']} | "
               f"{target.mean():.1f} | {target.min():.0f}-{target.max():.0f} |")
        assert row in card
    everyone = np.concatenate([data.train.targets, data.test.targets]).astype(np.float64)
    total = sexes["train"] + sexes["test"]
    assert (f"| all | {len(everyone)} | {total['1']} | {total['2']} | {everyone.mean():.1f} | "
            f"{everyone.min():.0f}-{everyone.max():.0f} |") in card
    order = ["<=39", "40-59", "60+"]
    shown = {name: " / ".join(str(counts[b]) for b in order) for name, counts in bands.items()}
    everyone_bands = " / ".join(str(bands["train"][b] + bands["test"][b]) for b in order)
    assert (f"Age bands (<=39, 40-59, 60+): all {everyone_bands}; train {shown['train']}; "
            f"test {shown['test']}.") in card
