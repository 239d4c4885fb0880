"""Time per epoch of one process against two data-parallel processes (torchrun, gloo, CPU) for
the same global batch, on gait walks read one file per access (``data.lazy``).

Not a test. Generates the gait demo's PD-GaM-layout walks once, then runs the same recipe
under ``torchrun --standalone --nproc_per_node=1`` and ``--nproc_per_node=2`` (each process
``OMP_NUM_THREADS=1``, recipe ``threads: 1``), alternating, and reads each run's
``history.csv``: the median seconds of the epochs after the first (training + validation
pass; each process trains on half of every global batch). Prints the ratio two / one
process (ideal on two free cores: 0.5).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ddp_scaling.py [--method erm] [--epochs 4] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def recipe(folder: Path, args: argparse.Namespace) -> Path:
    data = {"root": str(folder / "walks"), "subjects": args.subjects, "walks_per_subject": args.walks,
            "max_frames": 120, "lazy": True}
    content = {"name": "ddp_scaling", "domain": "gait", "dataset": "demo", "model": "tcn", "method": args.method,
               "threads": 1, "epochs": args.epochs, "batch_size": args.batch_size, "val_fraction": 0.2,
               "min_steps": 0, "lilaw": {"warmup_epochs": 0}, "model_args": {"dropout": 0.0}, "data": data}
    path = folder / "ddp_scaling.yaml"
    path.write_text(json.dumps(content))  # JSON is YAML
    return path


def launch(recipe_path: Path, out: Path, processes: int) -> tuple[list[float], float]:
    """Epoch seconds (after the first) and wall seconds of one torchrun launch."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               "-m", "lilaw_health", "run", str(recipe_path), "--out", str(out), "--quiet"]
    started = time.perf_counter()
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    if run.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{run.stdout}\n{run.stderr}")
    seconds = pd.read_csv(out / "history.csv")["seconds"].tolist()[1:]
    return seconds, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="erm", help="erm or lilaw (LiLAW's meta step is shared too)")
    parser.add_argument("--epochs", type=int, default=4, help="the first is not timed")
    parser.add_argument("--batch-size", type=int, default=32, help="global: the processes share each batch")
    parser.add_argument("--subjects", type=int, default=48)
    parser.add_argument("--walks", type=int, default=6, help="recordings per subject (two walks each)")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = recipe(folder, args)
        from lilaw_health.domains.gait.data import load_data

        data = load_data("demo", options=json.loads(path.read_text())["data"])  # writes the walks once
        seconds: dict[int, list[float]] = {1: [], 2: []}
        wall: dict[int, list[float]] = {1: [], 2: []}
        for repeat in range(args.repeats):
            for processes in seconds:
                epochs, total = launch(path, folder / f"run{processes}_{repeat}", processes)
                seconds[processes] += epochs
                wall[processes].append(total)
    print(f"gait demo walks read per access (data.lazy), {len(data.train)} training + validation walks of 120 "
          f"frames, tcn, {args.method}, global batch {args.batch_size}, {args.epochs - 1} timed epochs x "
          f"{args.repeats} launch(es), OMP_NUM_THREADS=1 per process, CPU gloo")
    print(f"{'processes':<10}{'median s/epoch':>16}{'wall s/launch':>15}")
    for processes in seconds:
        print(f"{processes:<10}{statistics.median(seconds[processes]):>16.3f}{statistics.median(wall[processes]):>15.1f}")
    print(f"two / one process, time per epoch: "
          f"{statistics.median(seconds[2]) / statistics.median(seconds[1]):.2f} (ideal 0.50)")


if __name__ == "__main__":
    main()
