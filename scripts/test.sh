#!/usr/bin/env bash
# Set up, then run the test suite. Extra arguments go to pytest; without any, the suite runs
# on every core (pytest-xdist: one worker per core, each test module whole on one worker).
# A single file or test: ./scripts/test.sh tests/core/test_trainer.py
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ $# -eq 0 ]; then
  set -- -n auto --dist loadfile
  # one PyTorch thread per worker: the workers share the cores (two threads each made a run 3x slower)
  export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
fi
exec .venv/bin/python -m pytest "$@"
