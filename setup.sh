#!/usr/bin/env bash
# Set up omvarld on this machine and run the main job once, on the embedded SQLite store.
#
#   ./setup.sh            # venv, dependencies, offline model build, then `omvarld weekly`
#   ./setup.sh --replay   # the same, but the weekly job reads the recorded responses
#
# Safe to run again: every step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")"

# Debian's chromium drives the browser tests (through Playwright) and the Pango libraries
# render the digest's PDF; installed once when this machine can (root with apt-get).
if ! command -v chromium >/dev/null || ! ldconfig -p 2>/dev/null | grep -q libpangoft2; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing chromium and Pango (Debian packages)"
    apt-get update -q >/dev/null
    apt-get install -y -q chromium fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 >/dev/null
  else
    echo "note: install Debian's chromium and libpangoft2-1.0-0 for the browser tests and PDF digests" >&2
  fi
fi

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
