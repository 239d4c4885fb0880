"""Face extraction throughput on one CPU core: cold (MediaPipe on every frame) against cached reads.

Not a test: timings on a shared machine are noisy. The frames are real faces, JPEG files in a
temporary folder: scikit-image's astronaut (512x512) and LFW faces (25x25, upscaled to
192x192 as extract_faces would), cycled, each copy with one pixel changed so that no two
files have the same content (the cache is keyed by content). The process is pinned to one
core; MediaPipe's start-up (about 1 s) is paid before timing and printed apart.

    .venv/bin/python benchmarks/landmark_throughput.py [--frames 50] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data, transform

from lilaw_health.domains.pain.faces import detect_face, extract_faces


def source_faces() -> list[np.ndarray]:
    """The astronaut and the 100 LFW faces of scikit-image, as uint8 arrays."""
    lfw = [(transform.resize(face, (192, 192), order=3) * 255).clip(0, 255).astype(np.uint8)
           for face in data.lfw_subset()[:100]]
    return [data.astronaut(), *lfw]


def write_frames(folder: Path, count: int) -> list[Path]:
    """``count`` JPEG files cycling through the source faces, each with a distinct pixel."""
    sources = source_faces()
    paths = []
    for index in range(count):
        frame = sources[index % len(sources)].copy()
        frame[0, 0] = index % 256
        frame[0, 1] = index // 256
        paths.append(folder / f"frame_{index:05d}.jpg")
        Image.fromarray(frame).save(paths[-1], quality=95)
    return paths


def pin_to_one_core() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity here)"
    core = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    return f"pinned to core {core}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the cached frames")
    args = parser.parse_args()
    pinned = pin_to_one_core()
    with tempfile.TemporaryDirectory() as folder:
        paths = write_frames(Path(folder), args.frames)
        start = time.perf_counter()
        detect_face(data.astronaut())
        startup = time.perf_counter() - start
        cache = Path(folder) / "cache"
        start = time.perf_counter()
        cold = extract_faces(paths, cache_dir=cache)
        cold_seconds = time.perf_counter() - start
        cached_seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            cached = extract_faces(paths, cache_dir=cache)
            cached_seconds.append(time.perf_counter() - start)
        assert cold.computed == args.frames and cached.computed == 0, "the frames must all miss, then all hit"
    cached_median = statistics.median(cached_seconds)
    print(f"{args.frames} frames (astronaut 512x512 + LFW faces upscaled to 192x192, JPEG), {pinned}; "
          f"{cold.counts()['ok']} ok, counts {cold.counts()}")
    print(f"MediaPipe start-up (first detect, not timed below): {startup:.2f} s")
    print(f"{'pass':<10}{'seconds':>10}{'frames/s':>12}")
    print(f"{'cold':<10}{cold_seconds:>10.2f}{args.frames / cold_seconds:>12.1f}")
    print(f"{'cached':<10}{cached_median:>10.2f}{args.frames / cached_median:>12.1f}   (median of {args.repeats})")
    print(f"cached reads are {cold_seconds / cached_median:.1f}x faster than cold extraction")


if __name__ == "__main__":
    main()
