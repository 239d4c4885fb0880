"""Encoders by name: logits shapes, seeded init, lazy tsai import, option and input errors."""

from __future__ import annotations

import random
import re
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from lilaw_health.core.data import ArrayDataset, TaskData
from lilaw_health.core.errors import SHAPE, ConfigError, InputError, UnknownNameError
from lilaw_health.domains.ecg import models
from lilaw_health.domains.ecg.models import (
    FIT_DATA_MISSING,
    MINIROCKET_TOO_SHORT,
    MODELS,
    TSAI_MISSING,
    UNKNOWN_OPTION,
    build_model,
    minirocket,
)

NAMES = ["fcn", "inception_time", "lstm", "lstm_plus", "minirocket", "resnet"]  # models of raw series
TSAI_MODULES = {"inception_time": "InceptionTimePlus", "resnet": "ResNetPlus", "lstm_plus": "RNNPlus",
                "minirocket": "MINIROCKET_Pytorch"}
SEQ_LEN, N_CLASSES = 60, 4


def _data(n_channels: int, n: int = 12) -> TaskData:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, n_channels, SEQ_LEN)).astype(np.float32)
    y = np.arange(n) % N_CLASSES
    train = ArrayDataset(x, y)
    return TaskData(train=train, test=train, n_classes=N_CLASSES, class_names=list("abcd"),
                    input_shape=(n_channels, SEQ_LEN))


def test_registered_names():
    assert MODELS.names() == sorted([*NAMES, "minirocket_linear"])  # the feature model: tests/domains/ecg/test_features.py


@pytest.mark.parametrize("n_channels", [1, 3])
@pytest.mark.parametrize("name", NAMES)
def test_logits_shape_in_train_and_eval(name, n_channels):
    torch.manual_seed(0)
    model = build_model(name, data=_data(n_channels))
    x = torch.randn(3, n_channels, SEQ_LEN)
    logits = model(x)
    assert logits.shape == (3, N_CLASSES)
    logits.sum().backward()
    model.eval()
    with torch.no_grad():
        assert model(x[:1]).shape == (1, N_CLASSES)


@pytest.mark.parametrize("name", NAMES)
def test_same_torch_seed_gives_same_init(name):
    def init(seed):
        torch.manual_seed(seed)
        return build_model(name, data=_data(3)).state_dict()

    first, again, other = init(0), init(0), init(1)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


LISTING = ("import sys, lilaw_health.domains.ecg\n"
           "from lilaw_health.domains import get_domain\n"
           "from lilaw_health.domains.ecg.models import MODELS\n"
           "assert MODELS.names() == get_domain('ecg').model_names()\n"
           "print(' '.join(m for m in sys.modules if m.split('.')[0] in ('tsai', 'fastai')))")
FRESH_INTERPRETERS = [(("-c", LISTING),)]  # started in the background when the session begins (tests/conftest.py)


def test_listing_models_does_not_import_tsai(fresh_interpreter):
    result = fresh_interpreter.run(["-c", LISTING])  # a fresh interpreter: imports are not shared with pytest's
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []


def test_tsai_import_keeps_global_random_state_and_warning_filters(monkeypatch):
    def import_like_tsai(name):  # what importing tsai does to global state, without its 4 s import
        np.random.seed(123)
        random.seed(123)
        warnings.filterwarnings("ignore", category=FutureWarning)
        return sys.modules[__name__]

    monkeypatch.setattr(models.importlib, "import_module", import_like_tsai)
    np.random.seed(0)
    random.seed(0)
    filters = list(warnings.filters)
    models.import_tsai("resnet", "ResNetPlus")
    assert np.random.rand() == np.random.RandomState(0).rand() and random.random() == random.Random(0).random()
    assert warnings.filters == filters


def test_unknown_model_lists_valid_names():
    with pytest.raises(UnknownNameError, match="unknown ecg model 'transformer'; valid names are: "
                                               + ", ".join(MODELS.names())):
        build_model("transformer", data=_data(1))


@pytest.mark.parametrize("name, known", [("fcn", "widths"), ("lstm", "hidden_size"), ("inception_time", "depth"),
                                         ("resnet", "nf"), ("lstm_plus", "hidden_size"),
                                         ("minirocket", "num_features")])
def test_unknown_option_names_model_key_and_accepted(name, known):
    with pytest.raises(ConfigError) as info:
        build_model(name, data=_data(1), options={"widthz": 1, "c_in": 3})
    message = str(info.value)
    prefix = UNKNOWN_OPTION.split("{accepted}")[0].format(bad=["c_in", "widthz"], model=name)
    assert message.startswith(prefix) and message.endswith("Fix the keys under model_args in the recipe.")
    accepted = message[len(prefix):].split(". Fix")[0].split(", ")
    assert known in accepted and "c_in" not in accepted and "seq_len" not in accepted


def _lstm_layers(model: nn.Module) -> int:
    return next(m for m in model.modules() if isinstance(m, nn.LSTM)).num_layers


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_options_reach_the_constructor():
    data = _data(1)
    assert _lstm_layers(build_model("lstm_plus", data=data)) == 2
    assert _lstm_layers(build_model("lstm_plus", data=data, options={"n_layers": 1, "hidden_size": 8})) == 1
    assert _n_params(build_model("resnet", data=data, options={"nf": 8})) < _n_params(build_model("resnet", data=data))
    small = build_model("inception_time", data=data, options={"depth": 3, "nf": 8})
    assert _n_params(small) < _n_params(build_model("inception_time", data=data))
    assert build_model("minirocket", data=data, options={"num_features": 840}).backbone.num_features == 840


@pytest.mark.parametrize("name", sorted(TSAI_MODULES))
def test_missing_tsai_says_which_extra_to_install(name, monkeypatch):
    monkeypatch.setitem(sys.modules, f"tsai.models.{TSAI_MODULES[name]}", None)
    options = {"fit_data": np.zeros((4, 1, SEQ_LEN))} if name == "minirocket" else {}
    with pytest.raises(InputError) as info:
        MODELS.get(name)(1, 2, SEQ_LEN, **options)
    before, after = TSAI_MISSING.split("{error}")
    assert re.fullmatch(re.escape(before.format(model=name)) + ".+" + re.escape(after), str(info.value))
    assert 'pip install "lilaw-health[ecg]"' in str(info.value)


def test_minirocket_needs_fit_data_of_the_right_shape():
    with pytest.raises(InputError) as info:
        minirocket(1, 2, SEQ_LEN)
    assert str(info.value) == FIT_DATA_MISSING.format(model="minirocket")
    with pytest.raises(InputError) as info:
        minirocket(2, 2, SEQ_LEN, fit_data=np.zeros((4, 1, SEQ_LEN)))
    assert str(info.value) == SHAPE.format(arg="fit_data", expected=f"(n_samples, 2, {SEQ_LEN})",
                                           received=(4, 1, SEQ_LEN),
                                           fix="Pass the training inputs as the model sees them.")


@pytest.mark.parametrize("name", NAMES)
def test_a_series_of_five_steps_trains_or_is_refused_naming_the_fix(name):
    x = np.random.default_rng(0).normal(size=(8, 1, 5)).astype(np.float32)
    train = ArrayDataset(x, np.arange(8) % 2)
    data = TaskData(train=train, test=train, n_classes=2, class_names=["a", "b"], input_shape=(1, 5))
    if name == "minirocket":  # tsai's kernels span 9 steps: without the check, "non-positive dilation"
        with pytest.raises(ConfigError) as info:
            build_model(name, data=data)
        assert str(info.value) == MINIROCKET_TOO_SHORT.format(minimum=9, length=5)
        return
    torch.manual_seed(0)
    assert build_model(name, data=data)(torch.as_tensor(x)).shape == (8, 2)


def test_minirocket_features_are_frozen_and_numpy_random_state_untouched():
    np.random.seed(0)
    model = build_model("minirocket", data=_data(1))
    assert np.random.rand() == np.random.RandomState(0).rand()
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
