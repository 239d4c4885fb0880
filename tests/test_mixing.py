"""Synthetic + real training on the real ECG5000: the mix section, validation from the sources
meta_val names, per-sample sources and valuation outputs, exact resume, and the refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lilaw_health.cli import main
from lilaw_health.core.methods import LiLAWMethod
from lilaw_health.core.synthetic import ClassPCAGenerator, generate

MIX = ["mix.generator=class_pca", "mix.real_train=60", "mix.ratio=1.0", "mix.failures=0.3", "val_fraction=0.2",
       "epochs=3", "min_steps=0", "method=lilaw", "lilaw.warmup_epochs=1", "model_args.widths=[16,32,16]"]  # a narrow FCN: plumbing


def _run(out, *extra):
    overridden = {pair.partition("=")[0] for pair in extra}
    kept = [pair for pair in MIX if pair.partition("=")[0] not in overridden]
    return main(["run", "ecg5000", "--out", str(out), "--quiet", "--set", *kept, *extra])


@pytest.mark.parametrize("meta_val, val_sources", [("real", {"real"}), ("synthetic", {"synthetic"}),
                                                   ("both", {"real", "synthetic"})])
def test_validation_comes_from_the_sources_meta_val_names(tmp_path, meta_val, val_sources):
    out = tmp_path / meta_val
    assert _run(out, f"mix.meta_val={meta_val}") == 0
    difficulty = pd.read_csv(out / "difficulty.csv", keep_default_na=False)
    assert set(difficulty.loc[difficulty["split"] == "val", "source"]) == val_sources
    assert set(difficulty.loc[difficulty["split"] == "train", "source"]) == {"real", "synthetic"}
    real = difficulty[difficulty["source"] == "real"]
    assert (real["failure"] == "").all()
    assert 40 <= (real["split"] == "train").sum() <= 56  # 80 % of mix.real_train=60 (at least 2 per class)
    value = pd.read_csv(out / "synthetic_value.csv", keep_default_na=False)
    assert len(value) == (difficulty["source"] == "synthetic").sum() and value["value"].is_monotonic_increasing
    assert (value["failure"] != "").mean() == pytest.approx(0.3, abs=0.1)  # 30 % of all drawn, by chance here
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["synthetic"]["mix"]["meta_val"] == meta_val and 0 <= metrics["synthetic"]["value_auroc"] <= 1
    assert sum(row["support"] for row in metrics["per_class"]) == 4500  # the test set stays real and complete
    assert "Synthetic data" in (out / "report.html").read_text()


def test_mixed_runs_resume_exactly(tmp_path, monkeypatch):
    assert _run(tmp_path / "straight") == 0
    original = LiLAWMethod.after_model_step
    calls = {"n": 0}

    def interrupt_once(self, model, *, epoch, step, next_val_batch):
        if epoch == 2 and calls["n"] == 0:
            calls["n"] += 1
            raise KeyboardInterrupt
        return original(self, model, epoch=epoch, step=step, next_val_batch=next_val_batch)

    monkeypatch.setattr(LiLAWMethod, "after_model_step", interrupt_once)
    assert _run(tmp_path / "resumed") == 130  # interrupted in epoch 2
    assert _run(tmp_path / "resumed") == 0
    straight, resumed = (json.loads((tmp_path / name / "metrics.json").read_text())["test"]
                         for name in ("straight", "resumed"))
    assert straight == resumed
    assert ((tmp_path / "straight" / "synthetic_value.csv").read_text()
            == (tmp_path / "resumed" / "synthetic_value.csv").read_text())


def test_the_generator_fits_real_training_samples_and_plants_failures():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (30, 1, 8)), rng.normal(5, 1, (30, 1, 8))]).astype(np.float32)
    y = np.repeat([0, 1], 30)
    assert ClassPCAGenerator(n_components=3).fit(x, y, n_classes=2).sample(1, 50, rng).mean() == pytest.approx(5, abs=0.5)
    synthetic = generate(x, y, counts=[20, 20], failures=0.5, seed=1)
    off = synthetic.failure == "off_class"
    assert off.sum() == 20 and synthetic.inputs.shape == (40, 1, 8)
    drawn_near_five = synthetic.inputs.mean(axis=(1, 2)) > 2.5
    np.testing.assert_array_equal(drawn_near_five, (synthetic.labels == 1) != off)  # off-class: the other model
    again = generate(x, y, counts=[20, 20], failures=0.5, seed=1)
    np.testing.assert_array_equal(again.inputs, synthetic.inputs)


@pytest.mark.parametrize("override, message", [
    ("mix.generator=gan", "unknown synthetic generator 'gan'; valid names are: class_pca"),
    ("mix.meta_val=test", "mix.meta_val=test names no source of the training data (sources: real, synthetic)"),
    ("mix.ratio=0", "mix.generator=class_pca asks for no synthetic samples"),
    ("mix.failures=1.5", "mix.failures must be a share in [0, 1]; received 1.5"),
])
def test_bad_mixes_are_refused_before_writing(tmp_path, capsys, override, message):
    out = tmp_path / "bad"
    assert _run(out, override) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_the_valuation_filter_drops_the_lowest_valued_synthetic_samples(tmp_path, capsys):
    out = tmp_path / "filter"
    assert _run(out, "method=clean", "clean.scope=synthetic", "clean.fraction=0.3", "clean.detect_epochs=2",
                "epochs=4", "min_steps=0") == 0
    history = pd.read_csv(out / "history.csv")
    assert (history["val_samples"] == history["val_samples"].iloc[0]).all()  # the real validation set is untouched
    assert _run(tmp_path / "none", "method=clean", "clean.scope=synthetic", "mix.generator=none") == 2
    assert "clean.scope=synthetic drops low-valued synthetic samples, but this run has none" in capsys.readouterr().err


def test_filter_and_retrain_keeps_real_samples_when_scoped_to_synthetic():
    import torch

    from lilaw_health.core.dynamics import TrainingDynamics
    from lilaw_health.core.methods import CleanConfig, build_method

    synthetic = np.array([False] * 6 + [True] * 4)
    method = build_method("clean", train_labels=np.zeros(10, dtype=int), n_classes=2, synthetic=synthetic,
                          clean=CleanConfig(detect_epochs=1, fraction=0.5, scope="synthetic"))
    dynamics = TrainingDynamics(10)
    logits = torch.tensor([[5.0, -5.0]] * 8 + [[-5.0, 5.0]] * 2)  # the last two disagree with label 0
    dynamics.record(torch.arange(10), logits, torch.zeros(10, dtype=torch.long), alpha=10.0)
    dynamics.end_epoch()
    assert method.on_epoch_end(0, dynamics=dynamics)
    np.testing.assert_array_equal(method.keep.numpy(), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0])


def test_synthetic_only_training_keeps_real_samples_out_of_training(tmp_path):
    out = tmp_path / "synthetic_only"
    assert _run(out, "mix.train_on_real=false", "method=erm") == 0
    difficulty = pd.read_csv(out / "difficulty.csv", keep_default_na=False)
    assert set(difficulty.loc[difficulty["split"] == "train", "source"]) == {"synthetic"}
    assert set(difficulty.loc[difficulty["split"] == "val", "source"]) == {"real"}


def test_distance_to_real_samples_and_the_value_score():
    from lilaw_health.core.synthetic import nearest_real_distance, value_score

    real = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0]])
    real_labels = np.array([0, 0, 1, 1])
    synthetic = np.array([[0.5, 0.0], [5.0, 5.0], [10.0, 10.5]])
    distance = nearest_real_distance(synthetic, np.array([0, 0, 1]), real, real_labels)
    np.testing.assert_allclose(distance, [0.5, np.hypot(4, 5), 0.5])  # class scale: real neighbours 1 apart
    assert nearest_real_distance(synthetic[:1], np.array([2]), real, real_labels)[0] == np.inf
    value = value_score(np.array([0.9, 0.9, 0.2]), distance)
    assert value.argmin() in (1, 2) and value[0] == value.max()  # close and agreed with: the most valuable
