"""A run folder: checked before anything is written, never runs code from its checkpoints,
and refuses inputs that would train something meaningless (tiny UCR files, one epoch)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
import torch

from lilaw_health.cli import main
from lilaw_health.experiment import OUT_IS_FILE, OUT_NOT_WRITABLE, OUT_UNDER_FILE
from lilaw_health.core.data import SINGLE_SAMPLE_CLASSES
from tests.domains.ecg.fixtures import univariate, write


def _toy(folder: Path, train_labels, test_labels=(1, 2)) -> list[str]:
    """A tiny UCR dataset; returns the --set arguments that train on it for one epoch."""
    rows = lambda labels: univariate([(label, [0.1 * i + label for i in range(8)]) for label in labels])  # noqa: E731
    write(folder, "Toy", "tsv", rows(train_labels), rows(test_labels))
    return ["dataset=Toy", f"data.root={folder}", "epochs=1", "min_steps=0", "val_fraction=0.5", "batch_size=4",
            "threads=1"]


def test_a_crafted_checkpoint_in_the_output_folder_runs_no_code(tmp_path, capsys):
    out, marker = tmp_path / "run", tmp_path / "pwned"  # 12 validation series: enough to read best.pt
    args = ["run", "ecg5000", "--out", str(out), "--quiet", "--set", *_toy(tmp_path / "data", [1, 1, 2, 2] * 6)]
    assert main([*args, "method=erm"]) == 0

    class RunsCode:
        def __reduce__(self):
            return (Path.touch, (marker,))

    for name in ("last.pt", "initial.pt", "best.pt"):
        saved = out / "checkpoints" / name
        torch.save({"model": RunsCode()}, saved)
        (out / "metrics.json").unlink(missing_ok=True)
        assert main([*args, "method=erm"]) == 2
        assert f"checkpoint {saved} holds objects other than tensors" in capsys.readouterr().err
        assert not marker.exists()
        saved.unlink()  # without the crafted file the run finishes again
        assert main([*args, "method=erm"]) == 0


def test_a_truncated_last_checkpoint_names_the_file_and_no_resume_recovers(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", "ecg5000", "--out", str(out), "--quiet", "--set", *_toy(tmp_path / "data", [1, 1, 2, 2] * 2)]
    assert main(args) == 0
    last = out / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:100])
    (out / "metrics.json").unlink()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"checkpoint {last} cannot be read" in err and "--no-resume" in err
    assert main([*args[:4], "--no-resume", *args[4:]]) == 0


def test_a_failed_validation_writes_nothing_and_the_corrected_command_runs(tmp_path, capsys):
    data = _toy(tmp_path / "data", [1, 1, 2, 2] * 2)
    out = tmp_path / "run"
    assert main(["run", "ecg5000", "--out", str(out), "--quiet", "--set", *data, "model=nope"]) == 2
    assert "unknown ecg model 'nope'" in capsys.readouterr().err
    assert not out.exists()
    assert main(["run", "ecg5000", "--out", str(out), "--quiet", "--set", *data, "model=fcn"]) == 0


def test_a_folder_with_no_finished_epoch_is_not_a_run(tmp_path):
    data = _toy(tmp_path / "data", [1, 1, 2, 2] * 2)
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.yaml").write_text("name: something_else\n")  # left by an older version or a crash
    assert main(["run", "ecg5000", "--out", str(out), "--quiet", "--set", *data]) == 0


def test_training_data_with_one_class_is_refused(tmp_path, capsys):
    data = _toy(tmp_path / "data", [1] * 8, test_labels=(1,))
    assert main(["run", "ecg5000", "--out", str(tmp_path / "run"), "--quiet", "--set", *data]) == 2
    assert ("the training data of Toy holds a single class (['1']); a classifier needs at least two"
            in capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_a_class_with_one_sample_trains_and_is_named_as_in_the_file(tmp_path, capsys, caplog):
    data = _toy(tmp_path / "data", [5, 5, 5, 7, 7, 7, 9], test_labels=(5, 7))
    assert main(["run", "ecg5000", "--out", str(tmp_path / "run"), "--quiet", "--set", *data]) == 0
    assert SINGLE_SAMPLE_CLASSES.format(names=["9"]) in caplog.text
    difficulty = pd.read_csv(tmp_path / "run" / "difficulty.csv")
    assert difficulty.loc[difficulty["label"] == 2, "split"].tolist() == ["train"]  # class ids: 5, 7, 9 -> 0, 1, 2


def test_a_dataset_of_single_sample_classes_is_refused(tmp_path, capsys):
    data = _toy(tmp_path / "data", [1, 2, 3], test_labels=(1, 2))
    assert main(["run", "ecg5000", "--out", str(tmp_path / "run"), "--quiet", "--set", *data]) == 2
    assert "the validation split would miss class(es) ['1', '2', '3']" in capsys.readouterr().err


def test_cuda_without_a_gpu_says_how_to_choose_the_cpu(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    out = tmp_path / "run"
    assert main(["run", "ecg5000", "--out", str(out), "--set", "device=cuda"]) == 2
    err = capsys.readouterr().err
    assert "device=cuda: CUDA is not available here" in err and "Train on the CPU with device=cpu" in err
    assert not out.exists()


def test_negative_learning_rate_is_refused_before_the_folder_exists(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "ecg5000", "--out", str(out), "--set", "lr=-1"]) == 2
    assert "lr and weight_decay must be >= 0; received lr=-1.0" in capsys.readouterr().err
    assert not out.exists()


def test_an_output_folder_that_cannot_be_one_is_named(tmp_path, capsys, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["run", "ecg5000", "--out", str(afile)]) == 2
    assert OUT_IS_FILE.format(path=afile) in capsys.readouterr().err
    assert main(["compare", "ecg5000", "--out", str(afile / "sub")]) == 2
    assert OUT_UNDER_FILE.format(path=afile / "sub", file=afile) in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    assert main(["run", "ecg5000", "--out", str(locked / "run")]) == 2
    assert OUT_NOT_WRITABLE.format(path=locked / "run", folder=locked) in capsys.readouterr().err
