#!/usr/bin/env bash
# Set up omvarld on this machine and run the main job once, on the embedded SQLite store.
#
#   ./setup.sh            # venv, dependencies, offline model build, then `omvarld weekly`
#   ./setup.sh --replay   # the same, but the weekly job reads the recorded responses
#
# Safe to run again: every step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PIP="$VENV/bin/pip"
"$PIP" install -q --upgrade pip

# torch first and on its own: the local CPU wheel. An unpinned torch pulled in by
# sentence-transformers would download a multi-GB CUDA build.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "==> installing torch 2.13.0 (CPU)"
  "$PIP" install -q torch==2.13.0
fi

echo "==> installing omvarld and its pinned dependencies"
"$PIP" install -q -c requirements.lock -e ".[dev]"

export HF_HUB_OFFLINE=1
echo "==> building the offline embedding model (once)"
"$VENV/bin/omvarld" models build

echo "==> running the weekly job on SQLite (data/omvarld.sqlite)"
"$VENV/bin/omvarld" weekly "$@"
