"""Data-parallel training under ``torchrun`` on the CPU (two processes, gloo): LiLAW's scalars
stay bit-identical on both processes, difficulty.csv holds every sample once, the result matches
one process with the same global batch, and a run killed mid-epoch resumes exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.distributed as dist

from lilaw_health.cli import main
from lilaw_health.core.checkpoint import load_checkpoint
from lilaw_health.core.distributed import TRACE_VARIABLE
from lilaw_health.core.dynamics import SharedDynamics, TrainingDynamics
from lilaw_health.core.errors import ConfigError
from lilaw_health.core.methods import SINGLE_PROCESS_METHOD, check_data_parallel
from lilaw_health.core.task import CLASSIFICATION, Regression
from lilaw_health.core.trainer import RESUME_OTHER_WORLD_SIZE

pytestmark = pytest.mark.skipif(not (dist.is_available() and dist.is_gloo_available() and Path("/proc").is_dir()),
                                reason="needs torch.distributed with gloo, and /proc to find the worker processes")

REPO = Path(__file__).resolve().parents[1]
EPOCHS = 3
N_TRAIN, N_VAL = 1575, 525  # 3000 rows: 30 % test, then 25 % of the rest for validation
# against one process, measured: the same trajectory, losses within 1.2e-7, AUM within 2e-7 (float32 sums
# in another order, as written to the CSV files)
TOLERANCE = {"trajectory": 1e-6, "loss": 1e-6, "aum": 1e-5}


def _recipe(folder: Path) -> Path:
    """A binary CSV task (3000 rows, 1575 training samples: 50 steps per epoch, the last uneven)
    with a dropout-free MLP, so one process and two differ only in the order of float sums."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 6))
    table = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])
    table["label"] = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] + 0.3 * rng.normal(size=len(x)) > 0).astype(int)
    table["sex"] = rng.choice(["f", "m"], size=len(x))
    table.to_csv(folder / "toy.csv", index=False)
    recipe = {"name": "toy", "domain": "tabular", "dataset": "csv", "model": "mlp", "method": "lilaw",
              "threads": 1, "epochs": EPOCHS, "batch_size": 32, "val_fraction": 0.25,
              "model_args": {"hidden_sizes": [16], "dropout": 0.0}, "noise": {"kind": "symmetric", "rate": 0.2},
              "data": {"path": str(folder / "toy.csv"), "target": "label", "positive_label": 1, "sensitive": ["sex"]}}
    path = folder / "toy.yaml"
    path.write_text(json.dumps(recipe))  # JSON is YAML
    return path


def _torchrun(recipe: Path, out: Path, trace: Path) -> subprocess.Popen:
    trace.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", TRACE_VARIABLE: str(trace)}
    return subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                             "-m", "lilaw_health", "run", str(recipe), "--out", str(out), "--quiet"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finished(process: subprocess.Popen) -> None:
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One torchrun run with two processes and the same recipe in this process."""
    folder = tmp_path_factory.mktemp("ddp")
    recipe = _recipe(folder)
    process = _torchrun(recipe, folder / "ddp", folder / "trace")
    assert main(["run", str(recipe), "--out", str(folder / "single"), "--quiet"]) == 0
    _finished(process)
    return folder


def _traces(folder: Path) -> list[dict]:
    return [json.loads((folder / f"rank{rank}.json").read_text()) for rank in (0, 1)]


def _table(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name)


def test_two_processes_agree_bit_for_bit_and_match_one_process(runs):
    rank0, rank1 = _traces(runs / "trace")
    steps_per_epoch = -(-N_TRAIN // 32)  # the last batch of 7 is shared 4 + 3
    assert len(rank0["trajectory"]) == (EPOCHS - 1) * steps_per_epoch  # one meta step per step after the warm-up
    assert rank0["trajectory"] == rank1["trajectory"]  # alpha, beta, delta after every step, as exact floats
    assert rank0["history"] == rank1["history"]  # per epoch: scalars, losses, validation score
    assert rank0["parameters"] == rank1["parameters"]
    single, ddp = runs / "single", runs / "ddp"
    trajectory = _table(ddp, "trajectory.csv")
    assert len(trajectory) == len(rank0["trajectory"])
    np.testing.assert_allclose(trajectory[["alpha", "beta", "delta"]], _table(single, "trajectory.csv")[
        ["alpha", "beta", "delta"]], rtol=0, atol=TOLERANCE["trajectory"])
    assert (trajectory[["beta", "delta"]].iloc[-1] != [2.0, 6.0]).all()  # the scalars did learn
    history = _table(ddp, "history.csv")
    for column in ("train_loss", "train_objective", "val_loss"):
        np.testing.assert_allclose(history[column], _table(single, "history.csv")[column], atol=TOLERANCE["loss"])
    difficulty, reference = _table(ddp, "difficulty.csv"), _table(single, "difficulty.csv")
    assert difficulty["sample_id"].is_unique and len(difficulty) == N_TRAIN + N_VAL
    assert set(difficulty["sample_id"]) == set(reference["sample_id"])
    assert difficulty.groupby("split").size().to_dict() == {"train": N_TRAIN, "val": N_VAL}
    train = difficulty[difficulty["split"] == "train"].set_index("sample_id")
    assert train["aum"].notna().all()  # every training sample was presented, on one process or the other
    expected = reference[reference["split"] == "train"].set_index("sample_id").loc[train.index]
    np.testing.assert_allclose(train["aum"], expected["aum"], atol=TOLERANCE["aum"])
    np.testing.assert_array_equal(train["forgetting_events"], expected["forgetting_events"])


def _workers(parent: int) -> list[int]:
    """The processes torchrun started (children in their own sessions)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    return children


def test_a_run_killed_mid_epoch_resumes_exactly(runs, capsys):
    out = runs / "killed"
    process = _torchrun(runs / "toy.yaml", out, runs / "trace_killed")
    last, deadline = out / "checkpoints" / "last.pt", time.monotonic() + 240
    while not last.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert last.exists(), process.communicate()[0] if process.poll() is not None else "no checkpoint in time"
    for pid in [*_workers(process.pid), process.pid]:
        os.kill(pid, signal.SIGKILL)
    process.communicate(timeout=60)
    saved_epoch = load_checkpoint(last)["state"]["epoch"]
    assert 1 <= saved_epoch < EPOCHS and not (out / "metrics.json").exists()  # killed after epoch 0, mid-run

    _finished(_torchrun(runs / "toy.yaml", out, runs / "trace_killed"))
    for name in ("trajectory.csv", "difficulty.csv"):
        pd.testing.assert_frame_equal(_table(out, name), _table(runs / "ddp", name))
    pd.testing.assert_frame_equal(_table(out, "history.csv").drop(columns="seconds"),
                                  _table(runs / "ddp", "history.csv").drop(columns="seconds"))
    rank0, rank1 = _traces(runs / "trace_killed")
    assert rank0 == rank1

    # one process cannot continue what two started: the sharding would differ
    assert main(["run", str(runs / "toy.yaml"), "--out", str(out), "--quiet"]) == 2
    expected = RESUME_OTHER_WORLD_SIZE.format(path=last, saved=2, world=1)
    assert expected in capsys.readouterr().err.replace("\n", " ")


def test_methods_that_train_in_one_process_are_refused_with_several():
    check_data_parallel("lilaw", world_size=2)
    check_data_parallel("dynamic_loss", world_size=1)
    with pytest.raises(ConfigError) as error:
        check_data_parallel("dynamic_loss", world_size=2)
    assert str(error.value).startswith(SINGLE_PROCESS_METHOD.split("{why}")[0].format(method="dynamic_loss"))
    assert "lilaw" in str(error.value) and "dynamic_loss, " not in str(error.value)


@pytest.mark.parametrize("task", [CLASSIFICATION, Regression((0.0, 4.0))], ids=["classification", "regression"])
def test_gathered_dynamics_replay_the_batches_in_one_process_order(task):
    generator = torch.Generator().manual_seed(0)
    direct, merged = TrainingDynamics(20, task=task), TrainingDynamics(20, task=task)
    shared = SharedDynamics(merged)
    for step in range(12):
        positions = torch.randint(0, 20, (8,), generator=generator)  # repeats, as the balanced sampler draws
        outputs = torch.randn(8, 3 if task is CLASSIFICATION else 1, generator=generator)
        targets = (torch.randint(0, 3, (8,), generator=generator) if task is CLASSIFICATION
                   else 4 * torch.rand(8, generator=generator))
        direct.record(positions, outputs, targets, alpha=10.0)
        shared.record(step, positions, outputs, targets, alpha=10.0)
        if step % 4 == 3:  # three epochs of four steps
            direct.end_epoch()
            shared.end_epoch()
    pd.testing.assert_frame_equal(merged.scores(), direct.scores())
    assert merged.forgetting.sum() > 0
