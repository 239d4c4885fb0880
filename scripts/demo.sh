#!/usr/bin/env bash
# Set up, then run the embedded default: ERM vs LiLAW on the real ECG5000 with 40%
# symmetric label noise, 3 seeds; prints the table and writes runs/ecg5000_noisy/.
# The 6 runs train one per core (--jobs; the table is the same as one at a time, tested).
# Extra arguments go to `lilaw-health compare` (e.g. --seeds 0 --set epochs=5, or --jobs 1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/lilaw-health compare ecg5000_noisy --jobs "$(nproc 2>/dev/null || echo 1)" "$@"
