"""Gait encoders by name: logits and gradients, padding invariance, option and input errors, learnability."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from lilaw_health.core.data import ArrayDataset, TaskData
from lilaw_health.core.errors import (
    BAD_VALUE,
    SHAPE,
    ConfigError,
    InputError,
    UnknownNameError,
)
from lilaw_health.domains.gait.model_checks import BAD_OPTION_FIX, FEATURES_FIX, KEY_MISSING, NOT_A_SAMPLE
from lilaw_health.domains.gait.models import EMBEDDING_FIX, MASK_NOT_PREFIX, MODELS, UNKNOWN_OPTION, build_model
from lilaw_health.domains.gait.skeleton import PARENTS
from lilaw_health.domains.gait.stgcn import JOINTS_FIX, normalised_adjacency

NAMES = ["gru", "mlp_head", "stgcn", "tcn", "transformer"]
SEQUENCE_MODELS = ["gru", "stgcn", "tcn", "transformer"]
LENGTH, N_CLASSES, EMBEDDING = 40, 4, 16


def _close(actual: torch.Tensor, expected: torch.Tensor, *, rtol: float | None = None,
           atol: float | None = None) -> None:
    """torch.testing.assert_close's default tolerances, without its first call's slow import."""
    default_rtol, default_atol = (1.3e-6, 1e-5) if actual.dtype == torch.float32 else (1e-7, 1e-7)
    np.testing.assert_allclose(actual.detach().double().numpy(), expected.detach().double().numpy(),
                               rtol=default_rtol if rtol is None else rtol, atol=default_atol if atol is None else atol)


def _inputs(n: int, *, seed: int = 0, keys: tuple[str, ...] = ("features", "mask", "joints", "embedding"),
            real: tuple[int, ...] | None = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    lengths = real or tuple(rng.integers(25, LENGTH + 1, size=n))
    parts = {"features": rng.normal(size=(n, LENGTH, 263)), "joints": rng.normal(size=(n, LENGTH, 22, 3)),
             "mask": (np.arange(LENGTH) < np.array(lengths)[:, None]).astype(np.float32),
             "embedding": rng.normal(size=(n, EMBEDDING))}
    return {key: parts[key].astype(np.float32) for key in keys}


def _data(keys: tuple[str, ...] = ("features", "mask", "joints", "embedding")) -> TaskData:
    train = ArrayDataset(_inputs(8, keys=keys), np.arange(8) % N_CLASSES)
    return TaskData(train=train, test=train, n_classes=N_CLASSES, class_names=list("0123"),
                    input_shape=(LENGTH, 263))


def _batch(n: int = 3, **kwargs) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(value) for key, value in _inputs(n, seed=1, **kwargs).items()}


def _model(name: str, data: TaskData | None = None, **options) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(name, data=data or _data(), options=options)


def test_registered_names():
    assert MODELS.names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_forward_backward_gives_logits_and_gradients(name):
    model = _model(name)
    logits = model(_batch(4))
    assert logits.shape == (4, N_CLASSES)
    torch.nn.functional.cross_entropy(logits, torch.arange(4)).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    model.eval()
    with torch.no_grad():
        assert model(_batch(1)).shape == (1, N_CLASSES)


@pytest.mark.parametrize("name", SEQUENCE_MODELS)
def test_padded_frames_do_not_change_the_output(name):
    model = _model(name).eval()
    batch = _batch(4, real=(40, 31, 25, 33))
    changed = {key: value.clone() for key, value in batch.items()}
    padded = changed["mask"] == 0
    changed["features"][padded] = 1e3 * torch.randn(int(padded.sum()), 263)
    changed["joints"][padded] = -7.0
    real_changed = {key: value.clone() for key, value in batch.items()}
    real_changed["features"][1, 20] += 3.0
    real_changed["joints"][1, 20] += 3.0
    with torch.no_grad():
        reference = model(batch)
        _close(model(changed), reference, rtol=0, atol=1e-5)
        assert (model(real_changed)[1] - reference[1]).abs().max() > 1e-4  # a real frame does count


def test_stgcn_reads_the_ric_slice_without_joints():
    model = _model("stgcn", data=_data(keys=("features", "mask"))).eval()
    batch = _batch(2, keys=("features", "mask"))
    ric = batch["features"][..., 4:67].reshape(2, LENGTH, 21, 3)
    joints = torch.cat([torch.zeros(2, LENGTH, 1, 3), ric], dim=2)
    with torch.no_grad():
        _close(model(batch), model({**batch, "joints": joints}))
        assert not torch.allclose(model(batch), model({**batch, "joints": torch.randn(2, LENGTH, 22, 3)}))


def test_stgcn_refuses_a_skeleton_other_than_smpl_22():
    train = ArrayDataset({"joints": np.zeros((4, LENGTH, 17, 3), np.float32), "mask": np.ones((4, LENGTH))},
                         np.arange(4))
    data = TaskData(train=train, test=train, n_classes=N_CLASSES, class_names=list("0123"), input_shape=(LENGTH,))
    with pytest.raises(InputError) as info:
        build_model("stgcn", data=data)
    assert str(info.value) == SHAPE.format(arg="the samples' joints", expected="(L, 22, 3)",
                                           received=(LENGTH, 17, 3), fix=JOINTS_FIX)


def test_adjacency_is_the_normalised_smpl_skeleton():
    adjacency = normalised_adjacency(PARENTS).numpy()
    assert adjacency.shape == (22, 22) and np.allclose(adjacency, adjacency.T)
    assert (adjacency > 0).sum() == 22 + 2 * 21  # self loops and both directions of the 21 bones
    assert adjacency[7, 4] > 0 and adjacency[7, 10] > 0 and adjacency[7, 8] == 0  # left ankle: knee, foot
    assert np.isclose(np.linalg.eigvalsh(adjacency).max(), 1.0)  # D^-1/2 (I + A) D^-1/2 has spectral radius 1
    degree = np.array([1 + sum(p == j for p in PARENTS) + (PARENTS[j] >= 0) for j in range(22)])
    assert np.isclose(adjacency[9, 12], 1 / np.sqrt(degree[9] * degree[12]))


def test_mlp_head_is_512_128_64_n_classes_on_512_d_embeddings():
    train = ArrayDataset({"embedding": np.zeros((4, 512), np.float32)}, np.arange(4))
    data = TaskData(train=train, test=train, n_classes=N_CLASSES, class_names=list("0123"), input_shape=(512,))
    linear = [m for m in _model("mlp_head", data=data).modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(512, 128), (128, 64), (64, N_CLASSES)]


def test_missing_embedding_says_which_key_and_how_to_supply_it():
    with pytest.raises(InputError) as info:
        _model("mlp_head", data=_data(keys=("features", "mask")))
    assert str(info.value) == KEY_MISSING.format(model="mlp_head", key="embedding", where="sample",
                                                 present="'features', 'mask'", fix=EMBEDDING_FIX)
    model = _model("mlp_head")
    with pytest.raises(InputError, match=re.escape("reads the input 'embedding', which the batch lacks")):
        model(_batch(2, keys=("features", "mask")))


def test_sequence_model_without_features_names_the_key():
    with pytest.raises(InputError) as info:
        _model("tcn", data=_data(keys=("embedding",)))
    assert str(info.value) == KEY_MISSING.format(model="tcn", key="features", where="sample",
                                                 present="'embedding'", fix=FEATURES_FIX)


def test_samples_that_are_not_dicts_are_refused():
    train = ArrayDataset(np.zeros((4, LENGTH, 263), np.float32), np.arange(4))
    data = TaskData(train=train, test=train, n_classes=N_CLASSES, class_names=list("0123"), input_shape=(LENGTH, 263))
    with pytest.raises(InputError) as info:
        build_model("tcn", data=data)
    assert str(info.value) == NOT_A_SAMPLE.format(model="tcn", received=f"Tensor of shape ({LENGTH}, 263)")


def test_a_mask_with_a_gap_is_refused():
    batch = _batch(2)
    batch["mask"][1, 5] = 0.0
    with pytest.raises(InputError) as info:
        _model("gru")(batch)
    assert str(info.value) == MASK_NOT_PREFIX.format(arg="mask", index=1)


def test_unknown_name_and_unknown_option():
    with pytest.raises(UnknownNameError, match="unknown gait model 'lstm'; valid names are: gru, mlp_head"):
        build_model("lstm", data=_data())
    with pytest.raises(ConfigError) as info:
        _model("tcn", widht=32)
    assert str(info.value) == UNKNOWN_OPTION.format(bad=["widht"], model="tcn",
                                                    accepted="dilations, dropout, kernel_size, width")


@pytest.mark.parametrize(("name", "options", "option", "expected", "received"), [
    ("tcn", {"width": 0}, "width", "a positive integer", 0),
    ("tcn", {"kernel_size": 4}, "kernel_size", "an odd positive integer", 4),
    ("transformer", {"n_heads": 5}, "n_heads", "a divisor of d_model=64", 5),
    ("gru", {"dropout": 1.0}, "dropout", "a number in [0, 1)", 1.0),
    ("stgcn", {"strides": (1, 2)}, "strides", "3 strides, one per block", (1, 2)),
    ("mlp_head", {"hidden_sizes": (128, -1)}, "hidden_sizes[1]", "a positive integer", -1),
])
def test_bad_option_values_raise_config_error(name, options, option, expected, received):
    with pytest.raises(ConfigError) as info:
        _model(name, **options)
    assert str(info.value) == BAD_VALUE.format(arg=f"model_args.{option} of gait model {name!r}", expected=expected,
                                               received=repr(received), fix=BAD_OPTION_FIX)


def _waves(n: int, generator: torch.Generator) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Class 0 sways with a period of 10 frames, class 1 of 6, in 8 noisy features; same amplitude."""
    labels = torch.arange(n) % 2
    period = torch.where(labels == 0, 10.0, 6.0)
    phase = 2 * torch.pi * torch.rand(n, 1, generator=generator)
    wave = torch.sin(2 * torch.pi * torch.arange(LENGTH) / period[:, None] + phase)
    features = 0.5 * torch.randn(n, LENGTH, 263, generator=generator)
    features[:, :, :8] += wave.unsqueeze(-1)
    lengths = torch.randint(25, LENGTH + 1, (n, 1), generator=generator)
    mask = (torch.arange(LENGTH) < lengths).float()
    return {"features": features * mask.unsqueeze(-1), "mask": mask}, labels


def test_tcn_learns_to_separate_slow_from_fast_walks_within_40_steps():
    generator = torch.Generator().manual_seed(0)
    train, train_labels = _waves(256, generator)
    test, test_labels = _waves(128, generator)
    model = _model("tcn", width=32)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(40):  # about 20 steps suffice; shuffled labels stay near 0.5
        chosen = torch.randint(len(train_labels), (32,), generator=generator)
        loss = torch.nn.functional.cross_entropy(model({k: v[chosen] for k, v in train.items()}), train_labels[chosen])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(test).argmax(dim=1) == test_labels).float().mean().item()
    assert accuracy >= 0.95, accuracy
