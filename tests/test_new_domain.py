"""A new domain needs its own folder and one registry line, nothing else: a tiny domain with
structured samples and an augmentation, defined here, runs through the recipe, `run`,
`compare` and `list` with no change to the package."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from lilaw_health import domains
from lilaw_health.cli import main

TINY_DOMAIN = '''
"""A tiny domain: sequences with a padding mask, a mean-pooling model, one augmentation."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lilaw_health.core.data import ArrayDataset, TaskData
from lilaw_health.core.domain import Domain
from lilaw_health.core.registry import Registry

AUGMENTATIONS = Registry("tiny augmentation")


@AUGMENTATIONS.register("shift")
def shift(x, *, generator, amount=0.1):
    if amount < 0:
        raise ValueError(f"amount must be >= 0; received {amount}")
    return {**x, "sequence": x["sequence"] + amount * torch.randn(x["sequence"].shape, generator=generator)}


class Pooled(nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.head = nn.Linear(2, n_classes)

    def forward(self, x):
        mask = x["mask"].unsqueeze(-1)
        return self.head((x["sequence"] * mask).sum(1) / mask.sum(1).clamp(min=1))


def _split(n, seed):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    sequence = rng.normal(size=(n, 5, 2)) + 2 * y[:, None, None]
    mask = (np.arange(5)[None, :] < rng.integers(1, 6, size=(n, 1))).astype(np.float32)
    return ArrayDataset({"sequence": sequence, "mask": mask}, y)


class TinyDomain(Domain):
    name = "tiny"
    default_dataset = "walks"
    default_model = "pooled"

    def load_data(self, dataset, *, options):
        return TaskData(train=_split(80, 0), test=_split(40, 1), n_classes=2, class_names=["slow", "fast"],
                        input_shape=(5, 2), name=dataset)

    def build_model(self, name, *, data, options):
        return Pooled(data.n_classes)

    def model_names(self):
        return ["pooled"]

    def augmentations(self):
        return AUGMENTATIONS


DOMAIN = TinyDomain()
'''


@pytest.fixture
def tiny_domain(tmp_path, monkeypatch):
    package = tmp_path / "tiny_domain_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(TINY_DOMAIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(domains.DOMAIN_MODULES, "tiny", "tiny_domain_pkg")  # the one registry line
    yield tmp_path
    sys.modules.pop("tiny_domain_pkg", None)


def test_a_domain_defined_outside_the_package_runs_end_to_end(tiny_domain, capsys):
    recipe = tiny_domain / "tiny.yaml"
    recipe.write_text(textwrap.dedent("""\
        name: tiny
        domain: tiny
        epochs: 4
        batch_size: 16
        lr: 0.05
        val_fraction: 0.2
        augment: [{name: shift, amount: 0.05}]
        """))
    out = tiny_domain / "run"
    assert main(["run", str(recipe), "--out", str(out), "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "walks" and metrics["test"]["accuracy"] > 0.5  # the domain's defaults
    assert main(["compare", str(recipe), "--out", str(tiny_domain / "cmp"), "--quiet", "--seeds", "0"]) == 0
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "tiny models:\n  pooled" in listed and "tiny augmentations:\n  shift" in listed
    assert main(["run", str(recipe), "--out", str(tiny_domain / "bad"), "--set",
                 "augment=[{name: shift, amount: -1}]"]) == 2
    assert "augment[0] (shift): amount must be >= 0; received -1" in capsys.readouterr().err
    assert not (tiny_domain / "bad").exists()
