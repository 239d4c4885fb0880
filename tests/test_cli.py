"""The command line, end to end on real UCR data: the ecg5000_noisy recipe on ECG5000 for the whole run
folder, on the smaller ECG200 (100 + 100 beats) where a test checks only the plumbing of compare and
of a rerun. Few epochs and a narrow FCN: the full-width one spent 90 % of the time predicting the
4,500 ECG5000 test beats."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

from lilaw_health.cli import main
from lilaw_health.recipe import recipe_summary

RUN_FILES = {"config.yaml", "metrics.json", "history.csv", "trajectory.csv", "difficulty.csv",
             "learning_curves.png", "lilaw_scalars.png", "report.md", "report.html", "checkpoints"}
NARROW = "model_args.widths=[16,32,16]"  # the real FCN's layers and data path, ~60x fewer multiply-adds
SMALL = "dataset=ECG200"


def test_run_writes_the_whole_output_folder(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "ecg5000_noisy", "--out", str(out), "--quiet",
                 "--set", "epochs=2", "min_steps=0", "noise.rate=0.2", "method=lilaw", "seed=3", NARROW]) == 0
    assert RUN_FILES <= {p.name for p in out.iterdir()}
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]) == {"accuracy", "balanced_accuracy", "macro_f1", "auroc"}
    assert set(metrics["final_scalars"]) == {"alpha", "beta", "delta"}
    assert metrics["seed"] == 3 and metrics["noise"]["rate"] == 0.2
    assert 0 < metrics["detection"]["auroc"] <= 1
    difficulty = pd.read_csv(out / "difficulty.csv")
    assert len(difficulty) == 500 and difficulty["sample_id"].is_unique
    assert set(difficulty["split"]) == {"train", "val"}
    assert difficulty["is_flipped"].sum() > 0
    assert "final scalars: alpha=" in capsys.readouterr().out


def test_compare_prints_mean_and_std_per_method(tmp_path, capsys):
    out = tmp_path / "cmp"
    args = ["compare", "ecg5000_noisy", "--out", str(out), "--quiet", "--seeds", "0", "1",
            "--set", "epochs=1", "min_steps=0", NARROW, SMALL]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "erm" in printed and "lilaw" in printed and "±" in printed
    assert "relative to erm" in printed and "time_vs_erm" in printed
    cost = pd.read_csv(out / "cost.csv")
    assert cost["method"].tolist() == ["erm", "lilaw"] and cost.loc[0, "time_vs_erm"] == 1.0
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(zip(runs["method"], runs["seed"])) == [("erm", 0), ("erm", 1), ("lilaw", 0), ("lilaw", 1)]
    assert (out / "comparison.html").exists() and (out / "summary.csv").exists()
    before = (out / "erm" / "seed0" / "metrics.json").stat().st_mtime_ns
    assert main(args) == 0  # finished runs are read back, not retrained
    assert (out / "erm" / "seed0" / "metrics.json").stat().st_mtime_ns == before


def test_compare_jobs_trains_runs_in_parallel_processes_with_the_same_results(tmp_path, capsys):
    args = ["--quiet", "--methods", "erm", "lilaw", "--seeds", "0", "--set", "epochs=1", "min_steps=0", NARROW, SMALL]
    assert main(["compare", "ecg5000_noisy", "--out", str(tmp_path / "one"), *args]) == 0
    assert main(["compare", "ecg5000_noisy", "--out", str(tmp_path / "two"), "--jobs", "2", *args]) == 0
    one, two = (pd.read_csv(tmp_path / name / "runs.csv") for name in ("one", "two"))
    same = ["method", "seed", "accuracy", "balanced_accuracy", "macro_f1", "auroc", "alpha", "beta", "delta"]
    pd.testing.assert_frame_equal(one[same], two[same])
    assert "2 at a time" in (tmp_path / "two" / "comparison.html").read_text()
    assert main(["compare", "ecg5000_noisy", "--out", str(tmp_path / "bad"), "--jobs", "0", *args]) == 2
    assert "--jobs must be >= 1" in capsys.readouterr().err


def test_compare_over_named_settings_writes_one_comparison_each_and_a_joint_table(tmp_path, capsys):
    out = tmp_path / "grid"
    args = ["compare", "ecg5000_noisy", "--out", str(out), "--quiet", "--seeds", "0",
            "--set", "epochs=1", "min_steps=0", NARROW, SMALL,
            "--setting", "clean", "noise.kind=none", "noise.rate=0", "--setting", "sym20", "noise.rate=0.2"]
    assert main(args) == 0
    table = pd.read_csv(out / "settings.csv")
    assert list(zip(table["setting"], table["method"])) == [("clean", "erm"), ("clean", "lilaw"),
                                                             ("sym20", "erm"), ("sym20", "lilaw")]
    assert table.loc[table["method"] == "erm", "time_vs_erm"].tolist() == [1.0, 1.0]
    for setting, rate in (("clean", 0.0), ("sym20", 0.2)):
        metrics = json.loads((out / setting / "lilaw" / "seed0" / "metrics.json").read_text())
        assert metrics["noise"]["rate"] == rate and metrics["epochs_run"] == 1  # --set applies to every setting
        assert (out / setting / "summary.csv").exists()
    assert (out / "settings.md").read_text().startswith("| setting | method | runs | accuracy |")
    assert (out / "settings.png").read_bytes().startswith(b"\x89PNG")
    assert "2 settings" in capsys.readouterr().out and "settings.png" in (out / "settings.md").read_text()
    assert main([*args, "--setting", "clean", "noise.rate=0.4"]) == 2
    assert "--setting clean is given twice" in capsys.readouterr().err
    assert main(["compare", "ecg5000_noisy", "--out", str(out), "--setting", "a/b", "noise.rate=0.4"]) == 2
    assert "setting name 'a/b' must be a folder name" in capsys.readouterr().err


def test_user_errors_exit_2_with_a_message(tmp_path, capsys):
    assert main(["run", "ecg5000_noisy", "--out", str(tmp_path), "--set", "method=lilwa"]) == 2
    assert ("unknown method 'lilwa'; valid names are: cb_ce, clean, dynamic_loss, erm, focal, gce, "
            "label_smoothing, lilaw, sce") in capsys.readouterr().err
    assert main(["run", "ecg5000_noisy", "--out", str(tmp_path), "--set", "dataset=NOPE"]) == 2
    assert "UCR train file not found" in capsys.readouterr().err


def test_help_explains_every_recipe_key(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for key in ("noise.rate", "lilaw.meta_every", "lilaw.detach_weights", "patience", "--set", "--out",
                "dynamic_loss.ratio2", "imbalance.factor"):
        assert key in text


def test_list_names_everything(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    for name in ("ecg5000_noisy", "lilaw", "erm", "symmetric", "instance", "focal", "fcn", "lstm", "dynamic_loss",
                 "gce", "long_tailed", "effective_number"):
        assert name in text
    assert "  ucr                  The default for time series other than ECG5000: any UCR/UEA" in text  # with its summary


def test_recipe_summary_is_the_first_sentence_of_the_leading_comment(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("# Pain on a real-\n# world mix. More detail\n# here.\nname: r\n# not this\n")
    assert recipe_summary(path) == "Pain on a real-world mix"
    path.write_text("name: r\n")
    assert recipe_summary(path) == ""
    path.write_text("# " + "word " * 40 + "\n")
    assert recipe_summary(path, width=20) == "word word word..."  # cut at a word


def test_rerun_with_another_recipe_in_the_same_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "ecg5000_noisy", "--out", str(out), "--quiet", "--set", "epochs=1", "min_steps=0", "method=erm", NARROW,
                 SMALL]) == 0
    assert main(["run", "ecg5000_noisy", "--out", str(out), "--quiet", "--set", "epochs=1", "min_steps=0", "method=erm",
                 NARROW, SMALL, "noise.rate=0.1"]) == 2
    assert "holds a run of a different recipe" in capsys.readouterr().err
    assert main(["run", "ecg5000_noisy", "--out", str(out), "--quiet", "--no-resume", "--set", "epochs=1", "min_steps=0",
                 "method=erm", NARROW, SMALL, "noise.rate=0.1"]) == 0


@pytest.mark.parametrize("dataset, n_classes", [("ECG200", 2), ("Chinatown", 2)])
def test_any_ucr_dataset_runs_by_name(tmp_path, dataset, n_classes):
    out = tmp_path / dataset
    assert main(["run", "ecg5000", "--out", str(out), "--quiet", "--set", f"dataset={dataset}", "epochs=2", "min_steps=0",
                 "val_fraction=0.2"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == dataset and len(metrics["class_names"]) == n_classes


def test_compare_jobs_give_each_worker_its_own_gpu(monkeypatch):
    import os
    import queue

    import torch

    from lilaw_health.compare import _claim_gpu, worker_gpus

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert worker_gpus("auto", 3) == ["0", "1", "0"] and worker_gpus("cuda", 2) == ["0", "1"]
    assert worker_gpus("cuda:1", 2) == [] and worker_gpus("cpu", 2) == []
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4, 6")
    assert worker_gpus("auto", 2) == ["4", "6"]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert worker_gpus("auto", 2) == []
    claimed = queue.Queue()
    claimed.put("6")
    _claim_gpu(claimed, False)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "4, 6"
    _claim_gpu(claimed, True)  # monkeypatch restores the variable afterwards
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "6"


def _death_signal() -> int:
    import ctypes

    value = ctypes.c_int()
    ctypes.CDLL(None, use_errno=True).prctl(2, ctypes.byref(value))  # PR_GET_PDEATHSIG
    return value.value


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_compare_workers_end_with_the_process_that_started_them():
    import multiprocessing
    import signal
    from concurrent.futures import ProcessPoolExecutor

    from lilaw_health.compare import exit_with_parent

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=exit_with_parent) as pool:
        assert pool.submit(_death_signal).result() == signal.SIGTERM
