"""Time per epoch and peak memory as the training set grows n, 10n, 100n: walks in memory
against walks read one at a time per access (gait ``data.lazy``).

Not a test. ``--layout pd_gam`` (default) writes a PD-GaM-layout folder of random (T, 263) walks
once (the largest size; the smaller sizes list a prefix of it); ``--layout gaitgen`` writes one
GAITGen ``.npz`` export per size instead (every walk a training walk of its own subject). Then it runs every (size, dataset) in a fresh Python
process, which loads the data, trains a small temporal CNN with ERM and reports the median
seconds of its epochs after the first (training pass + validation pass) and its peak resident
memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the whole process, imports included;
also printed above the RSS the process had after its imports). Prints the exponent b of
time ~ size^b fitted by least squares in log-log (target: 1, linear) and the ratio of peak
memory at the largest size to the smallest (target for the lazy dataset: flat, 1).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scaling.py [--layout pd_gam|gaitgen] [--base 60] [--factors 1 10 100]
        [--epochs 3] [--workers 0]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

FEATURE_WIDTH = 263
WALKS_PER_SUBJECT = 10  # subject ids have 3 digits: at most 9990 walks


def write_walks(folder: Path, n_walks: int, frames: int, seed: int = 0) -> list[str]:
    """Random walks as ``new_joint_vecs/<id>.npy``, one subject per ``WALKS_PER_SUBJECT`` walks
    (so a size that is a multiple of it keeps each subject on one side); returns the ids."""
    rng = np.random.default_rng(seed)
    (folder / "new_joint_vecs").mkdir(parents=True)
    ids = [f"{i // WALKS_PER_SUBJECT:03d}-12-{i:06d}_wid00_0" for i in range(n_walks)]
    for seq_id in ids:
        np.save(folder / "new_joint_vecs" / f"{seq_id}.npy", rng.normal(size=(frames, FEATURE_WIDTH)).astype(np.float32))
    np.save(folder / "Mean.npy", np.zeros(FEATURE_WIDTH))
    np.save(folder / "Std.npy", np.ones(FEATURE_WIDTH))
    return ids


def size_root(shared: Path, ids: list[str], n_train: int, frames: int, root: Path) -> Path:
    """A PD-GaM root whose train.txt lists the first ``n_train`` walks (test: the next tenth)."""
    root.mkdir()
    (root / "new_joint_vecs").symlink_to(shared / "new_joint_vecs")
    for name in ("Mean.npy", "Std.npy"):
        (root / name).symlink_to(shared / name)
    annotations = root / "Annotations" / "Gait"
    annotations.mkdir(parents=True)
    n_test = max(WALKS_PER_SUBJECT, n_train // 10)
    scores = np.random.default_rng(1).integers(0, 4, size=len(ids))
    for split, chosen in (("train", ids[:n_train]), ("test", ids[n_train:n_train + n_test])):
        (root / f"{split}.txt").write_text("\n".join(chosen) + "\n")
        rows = [f"{seq_id},{frames},{scores[ids.index(seq_id)]}" for seq_id in chosen]
        (annotations / f"{split}.csv").write_text("\n".join(rows) + "\n")
    return root


def write_npz(path: Path, n_walks: int, frames: int, seed: int = 0) -> Path:
    """``n_walks`` random walks as a GAITGen ``.npz`` export, random scores 0-3."""
    from lilaw_health.domains.gait.gaitgen import write_gaitgen_npz

    rng = np.random.default_rng(seed)
    walks = [rng.normal(size=(frames, FEATURE_WIDTH)).astype(np.float32) for _ in range(n_walks)]
    return write_gaitgen_npz(path, [f"walk{i:06d}" for i in range(n_walks)],
                             rng.integers(0, 4, size=n_walks).tolist(), walks)


def rss_mb() -> float:
    """The process's resident memory now (MB), from /proc/self/statm."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def child(root: str, lazy: bool, epochs: int, frames: int, workers: int) -> None:
    """One run: load, train, print seconds per epoch and memory as JSON."""
    import time

    import torch

    from lilaw_health.core import METHODS, MethodContext, TrainConfig, Trainer
    from lilaw_health.core.losses import cross_entropy
    from lilaw_health.domains.gait import DOMAIN
    from lilaw_health.recipe import load_recipe
    from lilaw_health.splits import prepare_splits

    start_rss = rss_mb()
    started = time.perf_counter()
    source = {"path": root} if root.endswith(".npz") else {"root": root}
    data = DOMAIN.load_data("gaitgen" if root.endswith(".npz") else "pd_gam",
                            options={**source, "max_frames": frames, "min_frames": 1, "lazy": lazy})
    recipe = load_recipe("gait_demo", overrides=["mix.dataset=", "val_fraction=0.2", "mix.meta_val=both"])
    splits = prepare_splits(data, recipe)
    load_seconds = time.perf_counter() - started
    torch.manual_seed(0)
    model = DOMAIN.build_model("tcn", data=data, options={"width": 16, "dilations": [1, 2], "dropout": 0.0})
    trainer = Trainer(model, METHODS.get("erm")(MethodContext(loss_fn=cross_entropy, n_classes=4)),
                      config=TrainConfig(epochs=epochs, batch_size=32, device="cpu", workers=workers))
    seconds = trainer.fit(splits.train, splits.val).history["seconds"].tolist()[1:]
    print(json.dumps({"n_train": len(splits.train), "seconds": float(np.median(seconds)), "load": load_seconds,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "start_mb": start_rss}))


def exponent(sizes: list[int], seconds: list[float]) -> float:
    """b of seconds ~ a * size^b, least squares in log-log."""
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layout", choices=["pd_gam", "gaitgen"], default="pd_gam",
                        help="a .npy file per walk (PD-GaM) or one GAITGen .npz export per size")
    parser.add_argument("--base", type=int, default=60, help="walks in the smallest training set (n), a multiple of 10")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--epochs", type=int, default=3, help="the first is not timed")
    parser.add_argument("--frames", type=int, default=60, help="frames per walk (and max_frames)")
    parser.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--child", nargs=2, metavar=("ROOT", "LAZY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1] == "lazy", args.epochs, args.frames, args.workers)
        return
    sizes = [args.base * factor for factor in args.factors]
    if args.base % WALKS_PER_SUBJECT or max(sizes) * 1.1 >= 1000 * WALKS_PER_SUBJECT:
        parser.error(f"--base must be a multiple of {WALKS_PER_SUBJECT}, and the largest size below 9000")
    with tempfile.TemporaryDirectory() as folder:
        shared = Path(folder) / "walks"
        if args.layout == "pd_gam":
            ids = write_walks(shared, max(sizes) + max(WALKS_PER_SUBJECT, max(sizes) // 10), args.frames)
        results: dict[str, list[dict]] = {"eager": [], "lazy": []}
        for size in sizes:
            if args.layout == "pd_gam":
                root = size_root(shared, ids, size, args.frames, Path(folder) / f"n{size}")
            else:
                root = write_npz(Path(folder) / f"n{size}.npz", size, args.frames)
            for kind in results:  # alternate, so that the machine's load drifts over both alike
                command = [sys.executable, __file__, "--child", str(root), kind, "--epochs", str(args.epochs),
                           "--frames", str(args.frames), "--workers", str(args.workers)]
                run = subprocess.run(command, capture_output=True, text=True)
                if run.returncode:
                    sys.exit(f"{' '.join(command)} failed:\n{run.stderr}")
                results[kind].append(json.loads(run.stdout.strip().splitlines()[-1]))
    print(f"{args.layout} layout, gait walks of {args.frames} frames x 263, tcn width 16, ERM, batch 32, workers {args.workers} (their memory "
          f"not in the peak), {args.epochs - 1} timed epochs (median), one process per run; peak = ru_maxrss (whole "
          f"process), above = peak - RSS after imports")
    print(f"{'dataset':<8}{'walks':>8}{'train':>8}{'s/epoch':>10}{'load s':>9}{'peak MB':>10}{'above MB':>10}")
    for kind, rows in results.items():
        for size, row in zip(sizes, rows):
            print(f"{kind:<8}{size:>8}{row['n_train']:>8}{row['seconds']:>10.3f}{row['load']:>9.2f}"
                  f"{row['peak_mb']:>10.0f}{row['peak_mb'] - row['start_mb']:>10.0f}")
    for kind, rows in results.items():
        if len(sizes) < 2:
            break
        b = exponent([row["n_train"] for row in rows], [row["seconds"] for row in rows])
        first, last = rows[0], rows[-1]
        print(f"{kind}: time per epoch ~ size^{b:.2f}; peak memory {last['peak_mb'] / first['peak_mb']:.2f}x "
              f"({(last['peak_mb'] - last['start_mb']) / (first['peak_mb'] - first['start_mb']):.2f}x above "
              f"imports) from {sizes[0]} to {sizes[-1]} walks")
    lazy, eager = results["lazy"][-1], results["eager"][-1]
    print(f"at {sizes[-1]} walks: lazy / eager time per epoch {lazy['seconds'] / eager['seconds']:.2f}, "
          f"peak memory {lazy['peak_mb'] / eager['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
