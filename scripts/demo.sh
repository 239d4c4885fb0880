#!/usr/bin/env bash
# Set up, then run the embedded default: ERM vs LiLAW on the real ECG5000 with 40%
# symmetric label noise, 3 seeds; prints the table and writes runs/ecg5000_noisy/.
# Extra arguments go to `lilaw-health compare` (e.g. --seeds 0 --set epochs=5).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/lilaw-health compare ecg5000_noisy "$@"
