"""Face encoders that return logits, by name: landmarks, a small CNN, ResNet-18, and both streams.

A model's ``forward`` takes a batch mapping: ``image`` (batch, C, H, W) in [0, 1] and/or
``landmarks`` (batch, n_landmarks, 2 or 3), MediaPipe Face Mesh points (x, y normalised to
the crop, z a relative depth); pairwise data adds ``reference_image`` and
``reference_landmarks``, a neutral frame of the same person. It returns logits
(batch, n_outputs): ``data.n_classes``, which is 1 for a regression (e.g. PSPI).

What a model reads (channels, crop size, landmark count, whether pairs are given) comes from
the first training sample, so one name serves grayscale and RGB crops, single frames and pairs:

- ``landmarks``: an MLP on landmarks centred on their mean and divided by the inter-ocular
  distance (landmarks 33 and 263); for pairs, the normalised target and target minus
  reference, concatenated (the difference is the expression, the target keeps the face's
  configuration, which a difference alone loses). Each feature is then standardised with
  the mean and standard deviation of up to ``FIT_SAMPLES`` training faces, kept as buffers:
  faces differ little next to their common shape, and on raw features the MLP's loss stayed
  near log(2) for 100 Adam steps on a two-expression task that it solves in about 10 with
  them (tests/domains/pain/test_models.py).
- ``cnn``: four Conv-BatchNorm-ReLU-MaxPool blocks (16, 32, 64, 64 filters), global average
  pool, linear. For pairs the input is the channel stack [target, target - reference]: one
  encoder pass, and the eye-aligned crops of one person line up pixel to pixel.
- ``resnet18``: torchvision's ResNet-18, never downloaded; its first conv takes the channel
  count (pairs: the same stack as ``cnn``). ``weights`` loads a state dict from a file.
- ``two_stream``: the ``cnn`` encoder and the ``landmarks`` MLP, embeddings concatenated, linear.

torchvision is imported inside ``resnet18`` only.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any

import torch
from torch import Tensor, nn

from lilaw_health.core.data import ArrayDataset, TaskData, stack_samples
from lilaw_health.core.errors import BAD_VALUE, ConfigError, InputError
from lilaw_health.core.registry import Registry

logger = logging.getLogger(__name__)

MODELS: Registry = Registry("pain model")

UNKNOWN_OPTION = ("unknown option(s) {bad} for pain model {model!r}; accepted: {accepted}. "
                  "Fix the keys under model_args in the recipe.")
NOT_A_FACE_SAMPLE = ("pain models read samples that are mappings with 'image' and/or 'landmarks' tensors; the "
                     "first training sample is {received}. Load the data with the pain domain's loader.")
MISSING_PART = "pain model {model!r} reads {key!r}, which the {where} lacks (keys: {keys}). {fix}"
WEIGHTS_MISSING = ("resnet18 weights file not found: {path}. Set model_args.weights to the path of a state dict "
                   "saved with torch.save(torchvision.models.resnet18().state_dict(), path), or leave it out.")
WEIGHTS_UNREADABLE = ("resnet18 weights {path} cannot be read as a state dict with torch.load(weights_only=True) "
                      "({error}). Save the tensors only: torch.save(model.state_dict(), path).")
WEIGHTS_INCOMPATIBLE = ("resnet18 weights {path} do not fit torchvision's resnet18 with {channels} input channel(s): "
                        "{detail}. Pass a torchvision.models.resnet18 state dict (3-channel first conv, "
                        "any number of classes).")

IMAGE_MEAN, IMAGE_STD = 0.45, 0.225  # about ImageNet's channel statistics, which pretrained ResNets expect
EYE_CORNERS = (33, 263)  # outer eye corners of MediaPipe Face Mesh
FIT_SAMPLES = 512  # training faces whose landmark features set the standardisation
# Floor of a feature's standard deviation, in inter-ocular distances: below MediaPipe's jitter (about 1%),
# so that a feature that hardly varies in training (one subject, reference == target) is not blown up.
STD_FLOOR = 1e-2
_DATA_ARGS = frozenset({"inputs", "n_outputs"})


@dataclass(frozen=True)
class FaceInputs:
    """What the data gives a model, read from one sample.

    Attributes
    ----------
    image_shape : (C, H, W) or None
    landmark_shape : (n_landmarks, 2 or 3) or None
    paired_image, paired_landmarks : bool
        Whether ``reference_image`` / ``reference_landmarks`` are given.
    train : Dataset, optional
        Where :meth:`landmark_fit` reads training faces (None: no standardisation).
    """

    image_shape: tuple[int, ...] | None
    landmark_shape: tuple[int, ...] | None
    paired_image: bool = False
    paired_landmarks: bool = False
    train: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def from_data(cls, data: TaskData) -> FaceInputs:
        """Shapes from the first training sample."""
        n = len(data.train)  # type: ignore[arg-type]
        if n == 0:
            raise InputError(NOT_A_FACE_SAMPLE.format(received="missing (the training set is empty)"))
        sample = data.train[0][0]
        if not isinstance(sample, Mapping) or not ({"image", "landmarks"} & set(sample)):
            received = f"a mapping with keys {sorted(sample)}" if isinstance(sample, Mapping) else type(sample).__name__
            raise InputError(NOT_A_FACE_SAMPLE.format(received=received))
        image, landmarks = sample.get("image"), sample.get("landmarks")
        return cls(image_shape=tuple(image.shape) if image is not None else None,
                   landmark_shape=tuple(landmarks.shape) if landmarks is not None else None,
                   paired_image="reference_image" in sample, paired_landmarks="reference_landmarks" in sample,
                   train=data.train)

    def landmark_fit(self) -> dict[str, Tensor] | None:
        """``landmarks`` (and ``reference_landmarks``), (n_fit, n_landmarks, 2 or 3), of up to
        ``FIT_SAMPLES`` evenly spaced training samples (no labels are read); None without ``train``."""
        if self.train is None or self.landmark_shape is None:
            return None
        n = len(self.train)
        positions = torch.linspace(0, n - 1, min(n, FIT_SAMPLES)).round().long().unique()
        samples: Any = (self.train.gather(positions) if type(self.train) is ArrayDataset  # one read, not n
                        else stack_samples([self.train[int(i)][0] for i in positions]))
        return {key: samples[key].float() for key in ("landmarks", "reference_landmarks") if key in samples}

    def require(self, model: str, key: str) -> None:
        if (self.image_shape if key == "image" else self.landmark_shape) is None:
            other = "landmarks" if key == "image" else "cnn"
            present = [k for k, shape in (("image", self.image_shape), ("landmarks", self.landmark_shape)) if shape]
            raise InputError(MISSING_PART.format(model=model, key=key, where="data", keys=present,
                                                 fix=f"Load the data with {key}, or use the {other!r} model."))


def normalise_landmarks(landmarks: Tensor, *, use_depth: bool = True) -> Tensor:
    """Centre landmarks on their mean and divide by the inter-ocular distance.

    Parameters
    ----------
    landmarks : Tensor, shape (batch, n_landmarks, 2 or 3)
        MediaPipe Face Mesh order (landmarks 33 and 263 are the outer eye corners).
    use_depth : bool, default True
        Keep z (scaled like x and y); False drops it.

    Returns
    -------
    Tensor, shape (batch, n_landmarks, 3 or 2)
        Invariant to shifting and zooming the face in the crop. The distance is floored at
        1e-3 of the crop so that a face of coincident points does not divide by zero.
    """
    points = landmarks if use_depth else landmarks[..., :2]
    left, right = EYE_CORNERS
    distance = (landmarks[:, left, :2] - landmarks[:, right, :2]).norm(dim=-1).clamp_min(1e-3)
    return (points - points.mean(dim=1, keepdim=True)) / distance.view(-1, 1, 1)


class LandmarkFeatures(nn.Module):
    """Flattened normalised landmarks (pairs: also target minus reference), standardised. No parameters."""

    feature_mean: Tensor
    feature_std: Tensor

    def __init__(self, inputs: FaceInputs, *, model: str, use_depth: bool) -> None:
        super().__init__()
        inputs.require(model, "landmarks")
        n_landmarks, dims = inputs.landmark_shape or (0, 0)
        if n_landmarks <= max(EYE_CORNERS) or dims not in (2, 3):
            raise InputError(BAD_VALUE.format(arg="landmarks", expected="(n_landmarks >= 264, 2 or 3) per sample "
                                              "(MediaPipe Face Mesh order)", received=inputs.landmark_shape,
                                              fix="Use MediaPipe Face Mesh's 468 landmarks."))
        self.model, self.use_depth, self.paired = model, use_depth, inputs.paired_landmarks
        self.size = n_landmarks * (dims if use_depth else 2) * (2 if self.paired else 1)
        fit_faces = inputs.landmark_fit()
        fit = self._raw(fit_faces) if fit_faces is not None else torch.zeros(1, self.size)
        self.register_buffer("feature_mean", fit.mean(dim=0))
        self.register_buffer("feature_std", fit.std(dim=0, unbiased=False).clamp_min(STD_FLOOR))

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        return (self._raw(batch) - self.feature_mean) / self.feature_std

    def _raw(self, batch: Mapping[str, Tensor]) -> Tensor:
        target = normalise_landmarks(_part(batch, "landmarks", self.model), use_depth=self.use_depth)
        if not self.paired:
            return target.flatten(1)
        reference = normalise_landmarks(_part(batch, "reference_landmarks", self.model), use_depth=self.use_depth)
        return torch.cat([target.flatten(1), (target - reference).flatten(1)], dim=1)


class ImageStack(nn.Module):
    """Standardised image channels; for pairs the stack [target, target - reference]. No parameters."""

    def __init__(self, inputs: FaceInputs, *, model: str) -> None:
        super().__init__()
        inputs.require(model, "image")
        self.model, self.paired = model, inputs.paired_image
        self.channels = (inputs.image_shape or (0,))[0] * (2 if self.paired else 1)

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        target = _part(batch, "image", self.model)
        standardised = (target - IMAGE_MEAN) / IMAGE_STD
        if not self.paired:
            return standardised
        difference = (target - _part(batch, "reference_image", self.model)) / IMAGE_STD
        return torch.cat([standardised, difference], dim=1)


def conv_encoder(in_channels: int, widths: Sequence[int]) -> nn.Sequential:
    """Conv3x3-BatchNorm-ReLU-MaxPool2 per width, then global average pooling: (batch, widths[-1])."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                   nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]
        in_channels = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


def mlp(in_features: int, hidden: Sequence[int], dropout: float) -> nn.Sequential:
    """Linear-ReLU-Dropout per hidden width (nothing when ``hidden`` is empty)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_features, width), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        in_features = width
    return nn.Sequential(*layers)


@MODELS.register("landmarks")
class LandmarkMLP(nn.Module):
    """MLP on normalised landmarks (see :func:`normalise_landmarks`); ``hidden`` widths, then linear."""

    def __init__(self, inputs: FaceInputs, n_outputs: int, *, hidden: Sequence[int] = (256, 128),
                 dropout: float = 0.2, use_depth: bool = True) -> None:
        super().__init__()
        _check_values(hidden=hidden, dropout=dropout, use_depth=use_depth)
        self.features = LandmarkFeatures(inputs, model="landmarks", use_depth=use_depth)
        self.trunk = mlp(self.features.size, hidden, dropout)
        self.head = nn.Linear(hidden[-1] if hidden else self.features.size, n_outputs)

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self.head(self.trunk(self.features(batch)))


@MODELS.register("cnn")
class FaceCNN(nn.Module):
    """Small image CNN (:func:`conv_encoder` with ``widths``), dropout, linear; a CPU trains it."""

    def __init__(self, inputs: FaceInputs, n_outputs: int, *, widths: Sequence[int] = (16, 32, 64, 64),
                 dropout: float = 0.2) -> None:
        super().__init__()
        _check_values(widths=widths, dropout=dropout)
        self.stack = ImageStack(inputs, model="cnn")
        self.encoder = conv_encoder(self.stack.channels, widths)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(widths[-1], n_outputs))

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self.head(self.encoder(self.stack(batch)))


@MODELS.register("two_stream")
class TwoStream(nn.Module):
    """The ``cnn`` encoder on images and the ``landmarks`` MLP, embeddings concatenated, dropout, linear."""

    def __init__(self, inputs: FaceInputs, n_outputs: int, *, widths: Sequence[int] = (16, 32, 64, 64),
                 hidden: Sequence[int] = (256, 128), dropout: float = 0.2, use_depth: bool = True) -> None:
        super().__init__()
        _check_values(widths=widths, hidden=hidden, dropout=dropout, use_depth=use_depth)
        self.stack = ImageStack(inputs, model="two_stream")
        self.encoder = conv_encoder(self.stack.channels, widths)
        self.features = LandmarkFeatures(inputs, model="two_stream", use_depth=use_depth)
        self.trunk = mlp(self.features.size, hidden, dropout)
        landmark_size = hidden[-1] if hidden else self.features.size
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(widths[-1] + landmark_size, n_outputs))

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        image = self.encoder(self.stack(batch))
        return self.head(torch.cat([image, self.trunk(self.features(batch))], dim=1))


@MODELS.register("resnet18")
class ResNet18(nn.Module):
    """torchvision ResNet-18 (``weights=None``: never downloads), first conv sized to the channels.

    ``weights``, a path, loads a state dict with ``torch.load(weights_only=True)``. An ImageNet
    first conv (3 channels) is summed over its channels for grayscale crops; for pairs, the
    difference channels start at zero, so the loaded network first sees the target as it was
    trained to. A classifier of another size is left freshly initialised.
    """

    def __init__(self, inputs: FaceInputs, n_outputs: int, *, weights: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        from torchvision.models import resnet18

        _require(weights is None or isinstance(weights, (str, os.PathLike)), "weights", "a file path or null",
                 weights)
        self.stack = ImageStack(inputs, model="resnet18")
        self.backbone = resnet18(weights=None, num_classes=n_outputs)
        self.backbone.conv1 = nn.Conv2d(self.stack.channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        if weights is not None:
            target_channels = (inputs.image_shape or (0,))[0]
            state = _adapt_state(_read_state_dict(weights), self.backbone, weights, target_channels)
            self.backbone.load_state_dict(state, strict=False)

    def forward(self, batch: Mapping[str, Tensor]) -> Tensor:
        return self.backbone(self.stack(batch))


def build_model(name: str, *, data: TaskData, options: dict[str, Any] | None = None) -> nn.Module:
    """Build a registered model for ``data``'s inputs and outputs.

    Shapes are read from the first training sample; a landmark model also reads the landmarks
    of up to ``FIT_SAMPLES`` evenly spaced training samples (validation rows included; no
    labels) to standardise its features.

    Raises
    ------
    UnknownNameError
        If ``name`` is not registered (the error lists the names).
    ConfigError
        If ``options`` holds a key the model does not take, or a bad value.
    InputError
        If the data lacks what the model reads (e.g. images for ``cnn``), or ``weights`` is unusable.
    """
    factory = MODELS.get(name)
    options = dict(options or {})
    _check_options(name, options, factory)
    return factory(FaceInputs.from_data(data), data.n_classes, **options)


def _part(batch: Mapping[str, Tensor], key: str, model: str) -> Tensor:
    if not isinstance(batch, Mapping) or key not in batch:
        keys = sorted(batch) if isinstance(batch, Mapping) else type(batch).__name__
        raise InputError(MISSING_PART.format(model=model, key=key, where="batch", keys=keys,
                                             fix="Give the model batches shaped like its training samples."))
    return batch[key]


def _read_state_dict(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    if not os.path.isfile(path):
        raise InputError(WEIGHTS_MISSING.format(path=path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a file that is not a checkpoint
        reason = f"{type(error).__name__}: {error}"[:300]
        raise InputError(WEIGHTS_UNREADABLE.format(path=path, error=reason)) from error
    if not isinstance(state, Mapping) or not all(isinstance(v, Tensor) for v in state.values()):
        raise InputError(WEIGHTS_UNREADABLE.format(path=path, error=f"it holds a {type(state).__name__}, "
                                                   "not a mapping of names to tensors"))
    return dict(state)


def _adapt_state(state: dict[str, Tensor], backbone: nn.Module, path: Any, channels: int) -> dict[str, Tensor]:
    """The file's tensors fitted to ``backbone``: first conv adapted, a classifier of another size dropped."""
    expected = backbone.state_dict()
    conv = state.get("conv1.weight")
    if conv is not None and conv.shape != expected["conv1.weight"].shape:
        state["conv1.weight"] = _adapt_first_conv(conv, channels, expected["conv1.weight"].shape[1], path)
    if state.get("fc.weight") is not None and state["fc.weight"].shape != expected["fc.weight"].shape:
        logger.info("resnet18 weights %s: classifier of another size left freshly initialised", path)
        state = {key: value for key, value in state.items() if not key.startswith("fc.")}
    problems = {"shapes": [f"{key} {tuple(value.shape)} instead of {tuple(expected[key].shape)}"
                           for key, value in state.items() if key in expected and value.shape != expected[key].shape],
                "missing": sorted(set(expected) - set(state) - {"fc.weight", "fc.bias"}),
                "unexpected": sorted(set(state) - set(expected))}
    details = [f"{kind} {', '.join(keys[:3])}" for kind, keys in problems.items() if keys]
    if details:
        raise InputError(WEIGHTS_INCOMPATIBLE.format(path=path, channels=expected["conv1.weight"].shape[1],
                                                     detail="; ".join(details)))
    return state


def _adapt_first_conv(conv: Tensor, channels: int, model_channels: int, path: Any) -> Tensor:
    """A 3-channel first conv for ``channels`` (1: summed; 3: kept), zeros for any difference channels."""
    if conv.ndim != 4 or conv.shape[1] != 3 or channels not in (1, 3):
        raise InputError(WEIGHTS_INCOMPATIBLE.format(path=path, channels=model_channels,
                                                     detail=f"conv1.weight {tuple(conv.shape)} cannot be adapted "
                                                            f"to {model_channels} channel(s)"))
    target = conv.sum(dim=1, keepdim=True) if channels == 1 else conv
    return torch.cat([target, torch.zeros_like(target)], dim=1) if model_channels == 2 * channels else target


def _check_options(model: str, options: Iterable[str], factory: Callable[..., Any]) -> None:
    """Refuse keys that are not keyword parameters of the factory (those set from the data excepted)."""
    accepted = {p.name for p in inspect.signature(factory).parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - _DATA_ARGS
    bad = sorted(set(options) - accepted)
    if bad:
        raise ConfigError(UNKNOWN_OPTION.format(bad=bad, model=model, accepted=", ".join(sorted(accepted))))


def _check_values(**values: Any) -> None:
    """Check the model options given: ``widths``, ``hidden`` (may be empty), ``dropout``, ``use_depth``."""
    for arg, value in values.items():
        if arg in ("widths", "hidden"):
            ok = (isinstance(value, Sequence) and not isinstance(value, str) and (arg == "hidden" or len(value) > 0)
                  and all(isinstance(w, Integral) and not isinstance(w, bool) and int(w) > 0 for w in value))
            _require(ok, arg, f"a {'' if arg == 'hidden' else 'non-empty '}list of positive integers", value)
        elif arg == "dropout":
            ok = isinstance(value, Real) and not isinstance(value, bool) and 0 <= float(value) < 1
            _require(ok, arg, "a number in [0, 1)", value)
        else:
            _require(isinstance(value, bool), arg, "true or false", value)


def _require(ok: bool, arg: str, expected: str, received: Any) -> None:
    if not ok:
        raise ConfigError(BAD_VALUE.format(arg=f"model_args.{arg}", expected=expected, received=repr(received),
                                           fix="Fix the value under model_args in the recipe."))


__all__ = ["MODELS", "FaceCNN", "FaceInputs", "LandmarkMLP", "ResNet18", "TwoStream", "build_model",
           "normalise_landmarks"]
