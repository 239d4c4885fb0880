"""Face encoders by name: logits for classification and regression, pairs, weights files, errors, learning."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
import torchvision

from lilaw_health.core.data import ArrayDataset, TaskData
from lilaw_health.core.errors import BAD_VALUE, ConfigError, InputError, UnknownNameError
from lilaw_health.domains.pain.models import (
    MISSING_PART,
    MODELS,
    NOT_A_FACE_SAMPLE,
    UNKNOWN_OPTION,
    WEIGHTS_INCOMPATIBLE,
    WEIGHTS_MISSING,
    WEIGHTS_UNREADABLE,
    build_model,
    normalise_landmarks,
)

NAMES = ["cnn", "landmarks", "resnet18", "two_stream"]
SIZE = 64


def _inputs(n: int, *, channels: int = 1, paired: bool = False, image: bool = True,
            seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    inputs = {"landmarks": rng.uniform(0.2, 0.8, size=(n, 468, 3)).astype(np.float32)}
    if image:
        inputs["image"] = rng.random((n, channels, SIZE, SIZE), dtype=np.float32)
    if paired:
        inputs.update({f"reference_{key}": rng.permutation(value) for key, value in inputs.items()})
    return inputs


def _data(inputs: dict[str, np.ndarray], *, n_outputs: int = 2) -> TaskData:
    n = len(inputs["landmarks"])
    if n_outputs == 1:
        train = ArrayDataset(inputs, np.linspace(0, 16, n), task="regression")
        return TaskData(train=train, test=train, n_classes=1, class_names=["pspi"], input_shape=(1, SIZE, SIZE),
                        task="regression", target_range=(0, 16))
    train = ArrayDataset(inputs, np.arange(n) % n_outputs)
    return TaskData(train=train, test=train, n_classes=n_outputs, class_names=["no pain", "pain"],
                    input_shape=(1, SIZE, SIZE))


def _batch(inputs: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {key: torch.from_numpy(value) for key, value in inputs.items()}


def test_registered_names():
    assert MODELS.names() == NAMES


@pytest.mark.parametrize("paired", [False, True])
@pytest.mark.parametrize("n_outputs", [2, 1])
@pytest.mark.parametrize("name", NAMES)
def test_forward_and_backward(name, n_outputs, paired):
    torch.manual_seed(0)
    inputs = _inputs(4, paired=paired)
    model = build_model(name, data=_data(inputs, n_outputs=n_outputs))
    logits = model(_batch(inputs))
    assert logits.shape == (4, n_outputs)
    logits.square().mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    model.eval()
    with torch.no_grad():
        assert model({key: value[:1] for key, value in _batch(inputs).items()}).shape == (1, n_outputs)


@pytest.mark.parametrize("name", ["cnn", "resnet18", "two_stream"])
def test_rgb_images_set_the_channel_count(name):
    inputs = _inputs(3, channels=3, paired=True)
    model = build_model(name, data=_data(inputs))
    assert model(_batch(inputs)).shape == (3, 2)
    first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 6  # [target, target - reference], 3 channels each


@pytest.mark.parametrize("name", NAMES)
def test_same_torch_seed_gives_same_init(name):
    def init(seed):
        torch.manual_seed(seed)
        return build_model(name, data=_data(_inputs(2))).state_dict()

    first, again, other = init(0), init(0), init(1)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


def test_landmark_features_ignore_where_and_how_big_the_face_is():
    inputs = _inputs(3, image=False, paired=True)
    model = build_model("landmarks", data=_data(inputs)).eval()
    batch = _batch(inputs)
    moved = {key: value * 0.7 + 0.1 for key, value in batch.items()}  # zoom and shift x, y and z alike
    with torch.no_grad():
        torch.testing.assert_close(model(moved), model(batch), atol=1e-4, rtol=1e-4)
    normalised = normalise_landmarks(batch["landmarks"])
    torch.testing.assert_close(normalised.mean(dim=1), torch.zeros(3, 3), atol=1e-6, rtol=0)
    torch.testing.assert_close((normalised[:, 33, :2] - normalised[:, 263, :2]).norm(dim=-1), torch.ones(3))


def _two_expressions(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One face whose 12 landmarks (e.g. a lowered jaw) move for label 1; every copy shifted, zoomed, jittered."""
    face_rng, rng = np.random.default_rng(0), np.random.default_rng(seed)
    face = face_rng.uniform(0.25, 0.75, size=(468, 3))
    moved = face_rng.choice(468, 12, replace=False)
    labels = np.arange(n) % 2
    faces = np.repeat(face[None], n, axis=0)
    faces[:, moved, 1] += 0.03 * labels[:, None]
    faces = faces * rng.uniform(0.8, 1.2, size=(n, 1, 1)) + rng.uniform(-0.1, 0.1, size=(n, 1, 3))
    return (faces + rng.normal(scale=0.004, size=faces.shape)).astype(np.float32), labels


def test_landmarks_model_learns_to_separate_two_expressions():
    """Fails without the feature standardisation: the loss then stays near log(2) for 100 steps."""
    faces, labels = _two_expressions(128, seed=1)
    torch.manual_seed(0)
    data = _data({"landmarks": faces})
    model = build_model("landmarks", data=data)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch, targets = data.train.gather(torch.arange(len(labels))), torch.as_tensor(labels)
    for step in range(100):
        loss = torch.nn.functional.cross_entropy(model(batch), targets)
        if loss.item() < 0.01:
            break
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert loss.item() < 0.01, f"loss {loss.item():.3f} after 100 steps"
    new_faces, new_labels = _two_expressions(200, seed=2)
    model.eval()
    with torch.no_grad():
        assert (model(batch).argmax(dim=1) == targets).all()
        predicted = model({"landmarks": torch.from_numpy(new_faces)}).argmax(dim=1).numpy()
    assert (predicted == new_labels).mean() >= 0.9  # new faces: 0.93 to 0.98 over four seeds


def test_resnet18_loads_imagenet_shaped_weights_into_a_grayscale_model(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))  # a download would land here
    torch.manual_seed(0)
    source = torchvision.models.resnet18(weights=None)  # 3 channels, 1000 classes
    path = tmp_path / "resnet18.pt"
    torch.save(source.state_dict(), path)
    model = build_model("resnet18", data=_data(_inputs(2)), options={"weights": str(path)})
    loaded = model.backbone.state_dict()
    torch.testing.assert_close(loaded["conv1.weight"], source.conv1.weight.sum(dim=1, keepdim=True))
    assert torch.equal(loaded["layer3.1.conv2.weight"], source.layer3[1].conv2.weight)
    assert torch.equal(loaded["bn1.running_var"], source.bn1.running_var)
    assert loaded["fc.weight"].shape == (2, 512)  # a classifier of another size stays freshly initialised
    assert not (tmp_path / "hub").exists()

    paired = build_model("resnet18", data=_data(_inputs(2, paired=True)), options={"weights": path})
    conv = paired.backbone.conv1.weight
    torch.testing.assert_close(conv[:, :1], source.conv1.weight.sum(dim=1, keepdim=True))
    assert torch.equal(conv[:, 1:], torch.zeros_like(conv[:, 1:]))  # the difference channel starts at zero


def test_resnet18_weights_errors(tmp_path):
    data = _data(_inputs(2))
    missing = tmp_path / "nowhere.pt"
    with pytest.raises(InputError, match=re.escape(WEIGHTS_MISSING.format(path=missing))):
        build_model("resnet18", data=data, options={"weights": str(missing)})

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"these bytes are not a checkpoint")
    start = WEIGHTS_UNREADABLE.split("{error}")[0].format(path=garbage)
    with pytest.raises(InputError, match=re.escape(start)) as raised:
        build_model("resnet18", data=data, options={"weights": str(garbage)})
    assert str(raised.value).endswith("Save the tensors only: torch.save(model.state_dict(), path).")

    other = tmp_path / "cnn.pt"
    torch.save(build_model("cnn", data=data).state_dict(), other)
    start = WEIGHTS_INCOMPATIBLE.split("{detail}")[0].format(path=other, channels=1)
    with pytest.raises(InputError, match=re.escape(start)) as raised:
        build_model("resnet18", data=data, options={"weights": str(other)})
    assert "missing conv1.weight" not in str(raised.value) and "unexpected" in str(raised.value)

    message = BAD_VALUE.format(arg="model_args.weights", expected="a file path or null", received="3",
                               fix="Fix the value under model_args in the recipe.")
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_model("resnet18", data=data, options={"weights": 3})


def test_unknown_model_and_option_errors():
    data = _data(_inputs(2))
    with pytest.raises(UnknownNameError, match="valid names are: cnn, landmarks, resnet18, two_stream"):
        build_model("vit", data=data)
    message = UNKNOWN_OPTION.format(bad=["depth", "widht"], model="cnn", accepted="dropout, widths")
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_model("cnn", data=data, options={"widht": (8,), "depth": 3})


@pytest.mark.parametrize(("name", "option", "value", "expected"), [
    ("cnn", "widths", [], "a non-empty list of positive integers"),
    ("two_stream", "hidden", [64, 0], "a list of positive integers"),
    ("landmarks", "dropout", 1.0, "a number in [0, 1)"),
    ("landmarks", "use_depth", "yes", "true or false"),
])
def test_bad_option_values(name, option, value, expected):
    message = BAD_VALUE.format(arg=f"model_args.{option}", expected=expected, received=repr(value),
                               fix="Fix the value under model_args in the recipe.")
    with pytest.raises(ConfigError, match=re.escape(message)):
        build_model(name, data=_data(_inputs(2)), options={option: value})


def test_data_without_what_the_model_reads():
    landmarks_only = _data(_inputs(2, image=False))
    message = MISSING_PART.format(model="cnn", key="image", where="data", keys=["landmarks"],
                                  fix="Load the data with image, or use the 'landmarks' model.")
    with pytest.raises(InputError, match=re.escape(message)):
        build_model("cnn", data=landmarks_only)
    assert build_model("landmarks", data=landmarks_only)(_batch(_inputs(2, image=False))).shape == (2, 2)

    plain = ArrayDataset(np.zeros((2, 1, SIZE, SIZE)), np.array([0, 1]))
    plain_data = TaskData(train=plain, test=plain, n_classes=2, class_names=["a", "b"], input_shape=(1, SIZE, SIZE))
    with pytest.raises(InputError, match=re.escape(NOT_A_FACE_SAMPLE.format(received="Tensor"))):
        build_model("cnn", data=plain_data)


def test_a_pair_model_given_a_single_frame_names_the_missing_key():
    inputs = _inputs(2, paired=True)
    model = build_model("two_stream", data=_data(inputs))
    single = {key: value for key, value in _batch(inputs).items() if not key.startswith("reference_")}
    message = MISSING_PART.format(model="two_stream", key="reference_image", where="batch",
                                  keys=["image", "landmarks"],
                                  fix="Give the model batches shaped like its training samples.")
    with pytest.raises(InputError, match=re.escape(message)):
        model(single)
