#!/usr/bin/env bash
# Provision what the tests need and print `export` lines for them:
#   the ComfyUI host (always), and for the browser tier Debian's chromium plus playwright-core from npm.
# usage: eval "$(tools/provision.sh [--browser])"
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SPACETIME_CACHE:-$HOME/.cache/spacetime-attention}
HOST=$("$REPO/.ci/install_host.sh" | tail -n 1)
echo "export SPACETIME_HOST='$HOST'"
echo "export COMFYUI_DIR='$HOST/ComfyUI'"
echo "export SPACETIME_HOST_PYTHON='$HOST/.venv/bin/python'"
echo "export PYTHONPATH='$HOST/shim'"
if [ "${1:-}" = "--browser" ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    echo "[provision] installing Debian chromium" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  fi
  NODE_DIR="$CACHE/node"
  if [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
    echo "[provision] installing playwright-core" >&2
    mkdir -p "$NODE_DIR" && (cd "$NODE_DIR" && npm install --silent --no-audit --no-fund playwright-core@1.65.1 >&2)
  fi
  echo "export NODE_PATH='$NODE_DIR/node_modules'"
  echo "export SPACETIME_CHROMIUM='$(command -v chromium)'"
fi
