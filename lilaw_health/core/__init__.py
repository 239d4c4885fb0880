"""The domain-agnostic engine: LiLAW weighting, Dynamic Loss, methods, trainer, noise, metrics.

Nothing here imports a domain, mediapipe, tsai or fairlearn.
"""

from lilaw_health.core.data import ArrayDataset, LabeledView, TaskData, stratified_split
from lilaw_health.core.difficulty import difficulty_table, write_difficulty
from lilaw_health.core.dynamic_loss import DynamicLoss, DynamicLossMethod  # also registers dynamic_loss
from lilaw_health.core.errors import ConfigError, InputError, LilawError, UnknownNameError
from lilaw_health.core.lazy import LazyDataset
from lilaw_health.core.lilaw import LiLAW, LiLAWConfig
from lilaw_health.core.losses import CLASS_WEIGHTS, PER_SAMPLE_LOSSES
from lilaw_health.core.memory import PeakMemory
from lilaw_health.core.methods import METHODS, DynamicLossConfig, Method, MethodContext, build_method, method_loss
from lilaw_health.core.metrics import classification_metrics, detection_metrics
from lilaw_health.core.noise import NoisyLabels, inject_label_noise, long_tailed_subsample
from lilaw_health.core.trainer import TrainConfig, Trainer, TrainResult
from lilaw_health.core.weighting import (
    LiLAWWeights,
    lilaw_weights,
    lilaw_weights_multilabel,
    lilaw_weights_regression,
    weighted_mean,
)

__all__ = [
    "ArrayDataset", "CLASS_WEIGHTS", "ConfigError", "DynamicLoss", "DynamicLossConfig", "DynamicLossMethod",
    "InputError", "LabeledView", "LazyDataset", "LiLAW", "LiLAWConfig", "LiLAWWeights", "LilawError", "METHODS", "Method",
    "MethodContext", "NoisyLabels", "PER_SAMPLE_LOSSES", "PeakMemory", "TaskData", "TrainConfig", "TrainResult",
    "Trainer", "UnknownNameError", "classification_metrics", "detection_metrics", "difficulty_table",
    "inject_label_noise", "lilaw_weights", "lilaw_weights_multilabel", "lilaw_weights_regression",
    "long_tailed_subsample", "build_method", "method_loss", "stratified_split", "weighted_mean", "write_difficulty",
]
