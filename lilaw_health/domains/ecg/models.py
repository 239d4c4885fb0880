"""Time-series encoders that return logits, by name.

``fcn`` is the fully convolutional baseline of Wang, Yan and Oates (2017), strong on UCR
data; ``lstm`` is the LiLAW paper's 2-layer stacked LSTM for ECG5000.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from lilaw_health.core.data import TaskData
from lilaw_health.core.registry import Registry

MODELS: Registry = Registry("ecg model")


@MODELS.register("fcn")
class FCN(nn.Module):
    """Three Conv1d-BatchNorm-ReLU blocks (128, 256, 128 filters), global average pool, linear.

    Kernels are (7, 5, 3) rather than the original (8, 5, 3): with ``padding="same"`` an even
    kernel makes PyTorch copy a padded input every call, which made training 4x slower on CPU.
    """

    def __init__(self, n_channels: int, n_classes: int, *, widths: tuple[int, ...] = (128, 256, 128),
                 kernels: tuple[int, ...] = (7, 5, 3)) -> None:
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
    """The paper's 2-layer stacked LSTM; classifies from the last time step's hidden state."""

    def __init__(self, n_channels: int, n_classes: int, *, hidden_size: int = 64, num_layers: int = 2,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_channels, hidden_size, num_layers=num_layers, batch_first=True, dropout=dropout)
        self.head = nn.Linear(hidden_size, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.lstm(x.transpose(1, 2))  # (batch, channels, time) -> (batch, time, channels)
        return self.head(out[:, -1])


def build_model(name: str, *, data: TaskData, options: dict[str, Any] | None = None) -> nn.Module:
    """Build a registered model for ``data``'s channels and classes; ``options`` go to its constructor."""
    factory = MODELS.get(name)
    return factory(data.input_shape[0], data.n_classes, **dict(options or {}))


__all__ = ["FCN", "MODELS", "StackedLSTM", "build_model"]
