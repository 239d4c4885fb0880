"""The method registry: robust-loss baselines as methods, and how a method's fixed loss meets the recipe's."""

from __future__ import annotations

import re

import pytest
import torch

from lilaw_health.core import METHODS, MethodContext, method_loss
from lilaw_health.core.errors import ConfigError
from lilaw_health.core.losses import PER_SAMPLE_LOSSES, cross_entropy
from lilaw_health.core.methods import FIXED_LOSS_CONFLICT, ModeSwitch

BASELINES = {"gce": ("gce", "none"), "sce": ("sce", "none"), "focal": ("focal", "none"),
             "label_smoothing": ("label_smoothing", "none"), "cb_ce": ("cross_entropy", "effective_number")}


def test_every_method_is_registered():
    assert METHODS.names() == sorted(["erm", "lilaw", "clean", "dynamic_loss", *BASELINES])


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_baselines_are_erm_with_their_loss(name):
    assert method_loss(name) == BASELINES[name]
    method = METHODS.get(name)(MethodContext(loss_fn=PER_SAMPLE_LOSSES.get(BASELINES[name][0]), n_classes=3))
    assert method.name == name
    outputs, targets = torch.randn(5, 3), torch.tensor([0, 1, 2, 0, 1])
    loss = method.training_loss(outputs, targets, epoch=0, positions=torch.arange(5))
    torch.testing.assert_close(loss, PER_SAMPLE_LOSSES.get(BASELINES[name][0])(outputs, targets).mean())


def test_methods_without_a_fixed_loss_take_the_recipes():
    assert method_loss("lilaw", loss="gce", class_weight="effective_number") == ("gce", "effective_number")
    assert method_loss("erm", loss="sce") == ("sce", "none")
    assert method_loss("gce", loss="gce", class_weight="balanced") == ("gce", "balanced")
    assert method_loss("dynamic_loss") == ("cross_entropy", "none")


@pytest.mark.parametrize(("method", "key", "fixed", "asked", "options"), [
    ("gce", "loss", "gce", "focal", {"loss": "focal"}),
    ("cb_ce", "class_weight", "effective_number", "balanced", {"class_weight": "balanced"}),
    ("dynamic_loss", "loss", "cross_entropy", "sce", {"loss": "sce"}),
])
def test_error_when_the_recipe_contradicts_the_method(method, key, fixed, asked, options):
    message = FIXED_LOSS_CONFLICT.format(method=method, key=key, fixed=fixed, asked=asked)
    with pytest.raises(ConfigError, match=re.escape(message)):
        method_loss(method, **options)
    assert "e.g. method=lilaw" in message


def test_sample_weight_applies_to_dynamic_loss():
    from lilaw_health.core.dynamic_loss import corrected_targets
    from lilaw_health.core.losses import soft_cross_entropy

    weight = torch.tensor([0.0, 1.0, 2.0, 3.0])
    method = METHODS.get("dynamic_loss")(MethodContext(loss_fn=cross_entropy, n_classes=3, sample_weight=weight))
    method._bins, method._model = torch.zeros(4, dtype=torch.long), torch.nn.Linear(1, 1)
    outputs, targets, positions = torch.randn(3, 3), torch.tensor([0, 1, 2]), torch.tensor([3, 1, 2])
    got = method.training_loss(outputs, targets, epoch=0, positions=positions)  # warm-up: no meta step
    target = corrected_targets(torch.full((3,), 0.98), targets, torch.softmax(outputs, 1))
    torch.testing.assert_close(got, (soft_cross_entropy(outputs, target) * weight[positions]).mean())


def _modes(model: torch.nn.Module) -> list[bool]:
    return [module.training for module in model.modules()]


def test_mode_switch_sets_what_module_train_sets():
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.BatchNorm1d(4)))
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.BatchNorm1d(4)))
    switch = ModeSwitch()
    for training in (False, True, False):
        switch(model, training)
        reference.train(training)
        assert _modes(model) == _modes(reference) == [training] * 5


class FrozenNorm(torch.nn.Module):
    """A model that keeps its batch norm in eval mode whatever train() is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.linear, self.norm = torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)

    def train(self, mode: bool = True) -> FrozenNorm:
        super().train(mode)
        self.norm.eval()
        return self


def test_mode_switch_goes_through_a_models_own_train():
    model, switch = FrozenNorm(), ModeSwitch()
    switch(model, True)
    assert model.training and model.linear.training and not model.norm.training
    other = torch.nn.Linear(2, 2)  # a new model object: its modules are read again
    switch(other, False)
    assert not other.training
