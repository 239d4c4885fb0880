"""The training budget (min_steps raises the epochs, the cosine schedule follows) and model
selection on tiny validation sets (the last epoch is kept), unit by unit and in one real run."""

from __future__ import annotations

import dataclasses
import json
import logging

import numpy as np
import pytest
import torch

from lilaw_health.core.checkpoint import load_checkpoint
from lilaw_health.core.errors import ConfigError
from lilaw_health.domains.ecg import DOMAIN
from lilaw_health.core.budget import BUDGET_RAISED, MIN_VAL_SAMPLES, TINY_VALIDATION, plan_budget, steps_per_epoch
from lilaw_health.experiment import run_experiment
from lilaw_health.recipe import MIN_STEPS_NEGATIVE, Recipe, load_recipe


@pytest.mark.parametrize("n_train, batch_size, steps", [(64, 32, 2), (40, 32, 2), (33, 32, 1), (1, 32, 1),
                                                        (475, 32, 15), (7, 1, 7)])
def test_steps_per_epoch_counts_the_trainer_batches(n_train, batch_size, steps):
    # the trainer drops a last training batch of one sample (BatchNorm cannot train on it)
    assert steps_per_epoch(n_train, batch_size) == steps


def test_min_steps_raises_the_epochs_of_a_small_set_only():
    recipe = Recipe(epochs=60, batch_size=32, min_steps=900, patience=5).train_config()
    small = plan_budget(recipe, min_steps=900, n_train=36, n_val=40, n_classes=4)
    assert (small.config.epochs, small.steps_per_epoch, small.config.keep) == (450, 2, "best")
    assert small.epochs_note == BUDGET_RAISED.format(min_steps=900, steps=2, n_train=36, batch_size=32, epochs=60,
                                                     budgeted=450)
    assert small.notes == [small.epochs_note] and small.selection_note == ""
    config = small.config
    assert (config.epochs, config.patience, config.lr, config.keep) == (450, 5, recipe.lr, "best")
    large = plan_budget(recipe, min_steps=900, n_train=475, n_val=25, n_classes=5)  # ECG5000: 15 steps x 60 = 900
    assert (large.config.epochs, large.notes) == (60, [])
    assert plan_budget(recipe, min_steps=0, n_train=36, n_val=40).config.epochs == 60
    assert plan_budget(recipe, min_steps=901, n_train=475, n_val=25).config.epochs == 61


def test_a_tiny_validation_split_keeps_the_last_epoch():
    recipe = Recipe(epochs=3, patience=2).train_config()
    assert MIN_VAL_SAMPLES == 10
    tiny = plan_budget(recipe, min_steps=0, n_train=36, n_val=4, n_classes=2)
    assert (tiny.config.patience, tiny.config.keep, tiny.config.epochs) == (0, "last", 3)
    assert tiny.selection_note == TINY_VALIDATION.format(n_val=4, minimum=10, rule="at least 10 and 2 per class of 2",
                                                         patience=" (early stopping off: patience 2 -> 0)")
    assert plan_budget(recipe, min_steps=0, n_train=36, n_val=10, n_classes=5).config.keep == "best"
    assert plan_budget(recipe, min_steps=0, n_train=36, n_val=11, n_classes=6).config.keep == "last"  # 2 per class: 12
    regression = plan_budget(dataclasses.replace(recipe, patience=0), min_steps=0, n_train=36, n_val=9)
    assert regression.selection_note == TINY_VALIDATION.format(n_val=9, minimum=10, rule="at least 10", patience="")


def test_min_steps_is_a_checked_recipe_key():
    assert Recipe().min_steps == 0
    assert load_recipe("ecg5000").min_steps == 900 and load_recipe("ecg5000", ["min_steps=0"]).min_steps == 0
    with pytest.raises(ConfigError) as info:
        load_recipe("ecg5000", ["min_steps=-1"])
    assert str(info.value) == MIN_STEPS_NEGATIVE.format(source="the command line (--set)", value=-1)
    with pytest.raises(ConfigError, match="min_steps must be int"):
        load_recipe("ecg5000", ["min_steps=many"])


def test_a_small_real_set_trains_its_budget_and_keeps_the_last_epoch(tmp_path, caplog):
    # Chinatown: 20 training series, 2 validation series (5 %, one per class), 18 training: batches 8, 8, 2
    recipe = load_recipe("ecg5000", ["dataset=Chinatown", "method=erm", "epochs=2", "min_steps=9", "batch_size=8",
                                     "data.baselines=[]"])
    with caplog.at_level(logging.INFO, logger="lilaw_health"):
        metrics = run_experiment(recipe, tmp_path / "run")
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        TINY_VALIDATION.format(n_val=2, minimum=10, rule="at least 10 and 2 per class of 2", patience="")]
    raised = BUDGET_RAISED.format(min_steps=9, steps=3, n_train=18, batch_size=8, epochs=2, budgeted=3)
    assert raised in [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    written = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {key: written[key] for key in ("epochs_budgeted", "epochs_run", "steps_per_epoch", "model_selection",
                                          "kept_epoch")} == {"epochs_budgeted": 3, "epochs_run": 3,
                                                             "steps_per_epoch": 3, "model_selection": "last_epoch",
                                                             "kept_epoch": 2}
    last = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert last["scheduler"]["T_max"] == 3 and last["state"]["step"] == 9  # the cosine schedule spans the budget
    data = DOMAIN.load_data("Chinatown", options={})
    model = DOMAIN.build_model("fcn", data=data, options={})
    model.load_state_dict(last["model"])
    model.eval()
    with torch.no_grad():
        predicted = model(data.test.inputs).argmax(dim=1).numpy()
    assert metrics["test"]["accuracy"] == pytest.approx(float(np.mean(predicted == np.asarray(data.test.targets))))
    report = (tmp_path / "run" / "report.html").read_text()
    assert "Training budget" in report and "keeps the LAST epoch" in report


def test_keep_is_a_checked_key_and_keep_last_returns_the_last_epoch(tmp_path):
    with pytest.raises(ConfigError, match="keep must be one of best, last; received 'final'"):
        load_recipe("ecg5000", ["keep=final"])
    recipe = load_recipe("ecg5000", ["dataset=Chinatown", "method=erm", "epochs=2", "min_steps=0", "batch_size=8",
                                     "val_fraction=0.5", "keep=last", "data.baselines=[]"])
    assert plan_budget(recipe.train_config(), min_steps=0, n_train=10, n_val=10, n_classes=2).notes == []
    metrics = run_experiment(recipe, tmp_path / "run")
    assert (metrics["model_selection"], metrics["kept_epoch"]) == ("last_epoch", 1)
