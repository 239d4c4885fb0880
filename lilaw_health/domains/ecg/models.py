"""Time-series encoders that return logits, by name.

Every registered factory is ``factory(n_channels, n_classes, seq_len, **options)`` and
returns a module mapping (batch, n_channels, seq_len) to logits (batch, n_classes).

``fcn`` is the fully convolutional baseline of Wang, Yan and Oates (2017), strong on UCR
data; ``lstm`` is the LiLAW paper's 2-layer stacked LSTM for ECG5000. Both are plain PyTorch.
``inception_time``, ``resnet``, ``lstm_plus`` and ``minirocket`` come from tsai, imported
inside their factories: importing tsai loads fastai and takes seconds, and listing the models
(``lilaw-health list``) must not pay for it.

``minirocket_linear`` is the frozen-feature regime: a linear layer over the MiniRocket feature
vectors that ``data.features=minirocket`` gives as samples (:mod:`.features`; computed once per
dataset and cached, never per forward pass). Its inputs are (batch, n_features); the factory
receives n_features in place of n_channels (and seq_len). :func:`build_model` refuses a series
model on feature data and a feature model on series.
"""

from __future__ import annotations

import importlib
import inspect
import random
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from lilaw_health.core.data import TaskData, dataset_inputs
from lilaw_health.core.errors import SHAPE, ConfigError, InputError
from lilaw_health.core.registry import Registry

MINIROCKET_MIN_LENGTH = 9  # the length of MiniRocket's kernels
MINIROCKET_TOO_SHORT = ("model=minirocket needs series of at least {minimum} time steps (the span of its kernels); "
                        "these have {length}. Resample them longer (data.length_policy=resample data.length={minimum}), "
                        "or choose a model without that limit (model=fcn).")

MODELS: Registry = Registry("ecg model")

TSAI_MISSING = ('ecg model {model!r} needs tsai, which could not be imported ({error}). '
                'Install the ECG extra: pip install "lilaw-health[ecg]"')
UNKNOWN_OPTION = ("unknown option(s) {bad} for ecg model {model!r}; accepted: {accepted}. "
                  "Fix the keys under model_args in the recipe.")
FIT_DATA_MISSING = ("ecg model {model!r} fits its features on training inputs: pass fit_data, an array "
                    "(n_samples, n_channels, seq_len). build_model passes the training set's inputs.")
FEATURE_STATS_MISSING = ("ecg model {model!r} standardises each feature with its mean and std over the training "
                         "features: pass fit_data (n_samples, {n_features}), or standardise=False. build_model "
                         "passes the training set's features.")
NEEDS_FEATURES = ("ecg model {model!r} is a linear head over precomputed features, but the data are raw series "
                  "of shape {shape}. Set data.features=minirocket (computed once per dataset and cached), or "
                  "choose a series model ({series}).")
NEEDS_SERIES = ("ecg model {model!r} reads raw series (batch, channels, length), but data.features={features} "
                "replaced each series by a vector of {n_features} features. Use model=minirocket_linear, or remove "
                "data.features to train on the series.")
FEATURE_MODELS = frozenset({"minirocket_linear"})  # inputs (batch, n_features): data.features is set

# Set from the data, never from options; ``ni`` is the input width of tsai's inner blocks.
_DATA_ARGS = frozenset({"n_channels", "n_classes", "seq_len", "c_in", "c_out", "ni"})


@MODELS.register("fcn")
class FCN(nn.Module):
    """Three Conv1d-BatchNorm-ReLU blocks (128, 256, 128 filters), global average pool, linear.

    Kernels are (7, 5, 3) rather than the original (8, 5, 3): with ``padding="same"`` an even
    kernel makes PyTorch copy a padded input every call, which made training 4x slower on CPU.
    ``seq_len`` is part of the factory contract and unused: the pooling accepts any length.
    """

    def __init__(self, n_channels: int, n_classes: int, seq_len: int | None = None, *,
                 widths: tuple[int, ...] = (128, 256, 128), kernels: tuple[int, ...] = (7, 5, 3)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = n_channels
        for width, kernel in zip(widths, kernels):
            layers += [nn.Conv1d(in_ch, width, kernel, padding="same"), nn.BatchNorm1d(width), nn.ReLU()]
            in_ch = width
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(in_ch, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).mean(dim=-1))


@MODELS.register("lstm")
class StackedLSTM(nn.Module):
    """The paper's 2-layer stacked LSTM; classifies from the last time step's hidden state.

    ``seq_len`` is part of the factory contract and unused.
    """

    def __init__(self, n_channels: int, n_classes: int, seq_len: int | None = None, *, hidden_size: int = 64,
                 num_layers: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_channels, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden_size, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.lstm(x.transpose(1, 2))  # (batch, channels, time) -> (batch, time, channels)
        return self.head(out[:, -1])


@MODELS.register("inception_time")
def inception_time(n_channels: int, n_classes: int, seq_len: int, **options: Any) -> nn.Module:
    """tsai ``InceptionTimePlus`` (Ismail Fawaz et al. 2020): 6 inception modules, 32 filters.

    ``options`` go to ``InceptionTimePlus`` and its ``InceptionBlockPlus`` (``depth``, ``nf``,
    ``ks``, ``fc_dropout``, ...).
    """
    module = import_tsai("inception_time", "InceptionTimePlus")
    _check_options("inception_time", options, _accepted_options(module.InceptionTimePlus,
                                                                 module.InceptionBlockPlus))
    return module.InceptionTimePlus(n_channels, n_classes, seq_len, **options)


@MODELS.register("resnet")
def resnet(n_channels: int, n_classes: int, seq_len: int, **options: Any) -> nn.Module:
    """tsai ``ResNetPlus`` (Wang et al. 2017): three residual blocks of (7, 5, 3) kernels, 64 filters."""
    module = import_tsai("resnet", "ResNetPlus")
    _check_options("resnet", options, _accepted_options(module.ResNetPlus))
    return module.ResNetPlus(n_channels, n_classes, seq_len, **options)


@MODELS.register("lstm_plus")
def lstm_plus(n_channels: int, n_classes: int, seq_len: int, **options: Any) -> nn.Module:
    """tsai ``LSTMPlus`` with ``n_layers=2`` (tsai's default is 1); hidden size 100, Keras-style init."""
    module = import_tsai("lstm_plus", "RNNPlus")
    # LSTMPlus swallows unknown keywords silently, so the keys are checked here, not by Python.
    _check_options("lstm_plus", options, _accepted_options(module.LSTMPlus))
    return module.LSTMPlus(n_channels, n_classes, seq_len, **{"n_layers": 2, **options})


@MODELS.register("minirocket")
def minirocket(n_channels: int, n_classes: int, seq_len: int, *, fit_data: np.ndarray | None = None,
               num_features: int = 10_000, max_dilations_per_kernel: int = 32, random_state: int | None = None,
               bn: bool = True, fc_dropout: float = 0.0) -> nn.Module:
    """tsai ``MiniRocket`` (Dempster et al. 2021): frozen random-kernel features, trainable head.

    The feature biases are fitted here, once, on ``fit_data`` (n_samples, n_channels, seq_len);
    :func:`build_model` passes the training set's inputs (labels are not used). The head is
    BatchNorm then a zero-initialised linear layer, so training mode needs batches of 2 or more.
    The kernels are fixed; ``random_state`` picks the samples behind the bias quantiles (and the
    channel combinations). ``None`` draws it from torch's generator, so the torch seed fixes the model.
    """
    if fit_data is None:
        raise InputError(FIT_DATA_MISSING.format(model="minirocket"))
    fit_data = np.asarray(fit_data, dtype=np.float32)
    if fit_data.ndim != 3 or fit_data.shape[1:] != (n_channels, seq_len):
        raise InputError(SHAPE.format(arg="fit_data", expected=f"(n_samples, {n_channels}, {seq_len})",
                                      received=fit_data.shape, fix="Pass the training inputs as the model sees them."))
    if seq_len < MINIROCKET_MIN_LENGTH:
        raise ConfigError(MINIROCKET_TOO_SHORT.format(minimum=MINIROCKET_MIN_LENGTH, length=seq_len))
    module = import_tsai("minirocket", "MINIROCKET_Pytorch")
    if random_state is None:
        random_state = int(torch.randint(2**31 - 1, ()).item())
    with numpy_random_preserved():  # tsai reseeds numpy's global generator while fitting
        model = module.MiniRocket(n_channels, n_classes, seq_len, num_features=num_features,
                                  max_dilations_per_kernel=max_dilations_per_kernel, random_state=random_state,
                                  bn=bn, fc_dropout=fc_dropout)
        model.fit(fit_data)
    return model


@MODELS.register("minirocket_linear")
class FeatureLinear(nn.Module):
    """A linear layer over fixed feature vectors: a linear probe, the frozen-feature regime.

    Inputs (batch, n_features), the MiniRocket features of ``data.features=minirocket``. With
    ``standardise`` (default) each feature is centred and scaled by its mean and standard
    deviation over ``fit_data`` (every training sample, validation part included; no labels
    are read, as for the features themselves), kept as buffers; a constant feature is only
    centred. The weights start at zero, as in tsai's MiniRocket head, so training starts from
    uniform predictions. ``seq_len`` is part of the factory contract and unused.
    """

    mean: Tensor  # (n_features,) buffers
    scale: Tensor

    def __init__(self, n_features: int, n_classes: int, seq_len: int | None = None, *,
                 fit_data: np.ndarray | None = None, standardise: bool = True) -> None:
        super().__init__()
        mean, scale = torch.zeros(n_features), torch.ones(n_features)
        if standardise:
            if fit_data is None:
                raise InputError(FEATURE_STATS_MISSING.format(model="minirocket_linear", n_features=n_features))
            fit = np.asarray(fit_data, dtype=np.float64)
            if fit.ndim != 2 or fit.shape[1] != n_features:
                raise InputError(SHAPE.format(arg="fit_data", expected=f"(n_samples, {n_features})",
                                              received=fit.shape, fix="Pass the training features."))
            std = fit.std(axis=0)
            mean = torch.as_tensor(fit.mean(axis=0), dtype=torch.float32)
            scale = torch.as_tensor(np.where(std > 0, std, 1.0), dtype=torch.float32)
        self.register_buffer("mean", mean)
        self.register_buffer("scale", scale)
        self.head = nn.Linear(n_features, n_classes)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.head((x - self.mean) / self.scale)


def build_model(name: str, *, data: TaskData, options: dict[str, Any] | None = None) -> nn.Module:
    """Build a registered model for ``data``'s channels, classes and length.

    ``options`` go to the model's constructor; an unknown key raises :class:`ConfigError`
    listing the accepted ones. A factory that takes ``fit_data`` (``minirocket``,
    ``minirocket_linear``) receives the inputs of ``data.train``, validation rows included (no
    labels are read), unless ``options`` already holds it. A feature model on series, or a
    series model on ``data.features``, raises :class:`ConfigError`.
    """
    factory = MODELS.get(name)
    _check_inputs(name, data)
    options = dict(options or {})
    accepted = _accepted_options(factory)
    if not _takes_var_keyword(factory):  # tsai factories check against the tsai constructor
        _check_options(name, options, accepted)
    if "fit_data" in accepted and "fit_data" not in options:
        options["fit_data"] = dataset_inputs(data.train).reshape(-1, *data.input_shape)
    return factory(data.input_shape[0], data.n_classes, data.input_shape[-1], **options)


def _check_inputs(name: str, data: TaskData) -> None:
    """Feature models need ``data.features``; series models need series."""
    features = data.extras.get("features")
    if name in FEATURE_MODELS and not features:
        series = ", ".join(n for n in MODELS.names() if n not in FEATURE_MODELS)
        raise ConfigError(NEEDS_FEATURES.format(model=name, shape=tuple(data.input_shape), series=series))
    if features and name not in FEATURE_MODELS:
        raise ConfigError(NEEDS_SERIES.format(model=name, features=features, n_features=data.input_shape[-1]))


def import_tsai(model: str, module: str) -> Any:
    """Import ``tsai.models.<module>``, leaving the global random state and warning filters as they were.

    Importing tsai reseeds numpy's and Python's global generators and adds global warning
    filters (among them: ignore every FutureWarning); a seeded run must not depend on whether
    tsai was already imported.
    """
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            return importlib.import_module(f"tsai.models.{module}")
    except ImportError as error:
        raise InputError(TSAI_MISSING.format(model=model, error=error)) from error
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


@contextmanager
def numpy_random_preserved() -> Iterator[None]:
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


def _accepted_options(*constructors: Callable[..., Any]) -> set[str]:
    """Keyword names the constructors take, minus those set from the data."""
    names: set[str] = set()
    for constructor in constructors:
        names |= {p.name for p in inspect.signature(constructor).parameters.values()
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names - _DATA_ARGS


def _takes_var_keyword(constructor: Callable[..., Any]) -> bool:
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(constructor).parameters.values())


def _check_options(model: str, options: Iterable[str], accepted: set[str]) -> None:
    bad = sorted(set(options) - accepted)
    if bad:
        raise ConfigError(UNKNOWN_OPTION.format(bad=bad, model=model, accepted=", ".join(sorted(accepted))))


__all__ = ["FCN", "FeatureLinear", "MODELS", "StackedLSTM", "build_model", "inception_time", "lstm_plus", "minirocket",
           "resnet"]
