"""Device and precision keys: device=auto, amp refused or left off on the CPU, float32 meta step."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lilaw_health.core import METHODS, LiLAW, MethodContext, TrainConfig, Trainer
from lilaw_health.core.device import (
    AMP_NEEDS_CUDA,
    BAD_AMP,
    BAD_DEVICE,
    CUDA_UNAVAILABLE,
    full_precision,
    resolve_device,
)
from lilaw_health.core.errors import ConfigError
from lilaw_health.core.losses import cross_entropy
from tests.core.toy_data import blob_views

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without a GPU")


def _views(n=60):
    return blob_views(n, seed=0)


def _trainer(**config):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    method = METHODS.get("lilaw")(MethodContext(loss_fn=cross_entropy, n_classes=3))
    return Trainer(model, method, config=TrainConfig(epochs=2, batch_size=16, **config))


def _pattern(template: str) -> str:
    """A template's text up to its first field, as a regular expression."""
    return template.split("{")[0].replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")


def test_device_auto_takes_cuda_only_when_there_is_one():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert TrainConfig().device == "auto"
    assert resolve_device("cpu") == torch.device("cpu")


@no_cuda
def test_auto_trains_on_the_cpu_here_and_cuda_is_refused():
    assert _trainer().device == torch.device("cpu")
    with pytest.raises(ConfigError, match=r"device=cuda: CUDA is not available here \((no GPU is visible|this PyTorch "
                                          r"has no CUDA support)\)\. Train on the CPU with device=cpu, or device=auto"):
        resolve_device("cuda")
    assert CUDA_UNAVAILABLE.startswith("device={name}: CUDA is not available here")
    with pytest.raises(ConfigError, match=r"device=cuda:1: CUDA is not available here"):
        _trainer(device="cuda:1")


def test_unknown_device_and_amp_values_are_named():
    with pytest.raises(ConfigError, match=_pattern(BAD_DEVICE) + "'tpu'"):
        TrainConfig(device="tpu")
    with pytest.raises(ConfigError, match=_pattern(BAD_DEVICE) + "'mps'"):
        resolve_device("mps")
    with pytest.raises(ConfigError, match=r"amp must be one of auto, on, off; received 'fast'"):
        TrainConfig(amp="fast")
    assert BAD_AMP.startswith("amp must be one of")


def test_amp_on_is_refused_on_the_cpu_with_the_fix():
    with pytest.raises(ConfigError, match=r"amp=on trains in mixed precision .* needs a CUDA device; this run trains "
                                          r"on cpu\. Use amp=auto"):
        _trainer(device="cpu", amp="on")
    assert AMP_NEEDS_CUDA.startswith("amp=on trains in mixed precision")


def test_amp_auto_leaves_a_cpu_run_in_float32_and_unchanged():
    train, val = _views()
    auto, off = _trainer(device="cpu"), _trainer(device="cpu", amp="off")
    assert not auto.amp and auto._scaler is None
    first, second = auto.fit(train, val), off.fit(train, val)
    for key, tensor in auto.model.state_dict().items():
        assert tensor.dtype == torch.float32 and torch.equal(tensor, off.model.state_dict()[key]), key
    assert first.trajectory.equals(second.trajectory) and len(first.trajectory) > 0


def test_full_precision_casts_half_outputs_only():
    assert full_precision(torch.ones(2, dtype=torch.float16)).dtype == torch.float32
    assert full_precision(torch.ones(2, dtype=torch.bfloat16)).dtype == torch.float32
    double = torch.ones(2, dtype=torch.float64)
    assert full_precision(double) is double


def test_meta_step_stays_float32_on_half_precision_outputs():
    """Under autocast a model's outputs are float16; LiLAW's meta loss and gradients must be the
    float32 ones of the same (cast) values, else most updates of the scalars round away."""
    torch.manual_seed(0)
    outputs, targets = torch.randn(16, 3).half(), torch.randint(0, 3, (16,))
    lilaw = LiLAW()
    loss, grads = lilaw.meta_gradients(outputs, targets, cross_entropy(outputs.float(), targets).half())
    expected_loss, expected = lilaw.meta_gradients(outputs.float(), targets,
                                                   cross_entropy(outputs.float(), targets).half().float())
    assert loss.dtype == torch.float32 and all(g.dtype == torch.float32 for g in grads)
    assert torch.equal(loss, expected_loss) and all(torch.equal(g, e) for g, e in zip(grads, expected))
