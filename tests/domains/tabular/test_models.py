"""The tabular model registry and the paper's 3-layer MLP."""

from __future__ import annotations

import pytest
import torch

from lilaw_health.core.errors import ConfigError
from lilaw_health.domains.tabular.models import MLP, MODELS, UNKNOWN_OPTION, build


def test_mlp_is_registered_and_returns_logits():
    assert MODELS.names() == ["mlp"]
    model = build("mlp", n_features=7, n_classes=2)
    assert model(torch.randn(5, 7)).shape == (5, 2)
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(7, 128), (128, 64), (64, 2)]


def test_hidden_sizes_set_the_depth():
    model = MLP(3, 4, hidden_sizes=(8,), dropout=0.0)
    assert len([m for m in model.modules() if isinstance(m, torch.nn.Linear)]) == 2


def test_unknown_option_lists_the_accepted_ones():
    with pytest.raises(ConfigError) as error:
        build("mlp", n_features=3, n_classes=2, options={"width": 3})
    assert str(error.value) == UNKNOWN_OPTION.format(bad=["width"], model="mlp", accepted="dropout, hidden_sizes")


def test_bad_dropout_is_refused():
    with pytest.raises(ConfigError, match="model_args.dropout must be a number in"):
        MLP(3, 2, dropout=1.5)
