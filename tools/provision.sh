#!/usr/bin/env bash
# Provision what the tests need and print `export` lines for them:
#   the ComfyUI host of one core (always), and for the browser tier Debian's chromium plus playwright-core (npm).
# usage: eval "$(tools/provision.sh [--core 0.33.0|0.3.75] [--browser])"   (default core: the newest, 0.33.0)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${SPACETIME_CACHE:-$HOME/.cache/spacetime-attention}
CORE=0.33.0; BROWSER=""
while [ $# -gt 0 ]; do
  case "$1" in --core) CORE=$2; shift 2 ;; --browser) BROWSER=1; shift ;;
    *) echo "usage: tools/provision.sh [--core 0.33.0|0.3.75] [--browser]" >&2; exit 2 ;; esac
done
HOST=$("$REPO/.ci/install_host.sh" "$CORE" | tail -n 1)
echo "export SPACETIME_CORE_VERSION='$CORE'"
echo "export SPACETIME_HOST='$HOST'"
echo "export COMFYUI_DIR='$HOST/ComfyUI'"
echo "export SPACETIME_HOST_PYTHON='$HOST/.venv/bin/python'"
# Imports come from PYTHONPATH alone, in this order: the torchvision shim, ComfyUI (before the repository, whose
# nodes/ package would otherwise shadow ComfyUI's nodes.py), the repository (layout_model, lab, reproduce, ...)
# and tests/ (the harness package `support`, shared by the tests, the lab and the benchmarks). PYTHONSAFEPATH
# keeps Python from putting the current directory first, which from the repository root is that same shadowing.
echo "export PYTHONPATH='$HOST/shim:$HOST/ComfyUI:$REPO:$REPO/tests'"
echo "export PYTHONSAFEPATH=1"
# The lab is an extension of its own (its checkpoint loader node, the lab_shapes example): this host has it.
ln -sfn "$REPO/lab" "$HOST/ComfyUI/custom_nodes/spacetime_lab"
if [ -n "$BROWSER" ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq >&2
    COUNT=$(apt-get install -s chromium 2>/dev/null | grep -c '^Inst ' || true)
    echo "[provision] The browser tier needs a browser: installing Debian's chromium with apt-get, system-wide:" \
         "${COUNT:-100+} Debian packages (Chromium and its libraries, a few hundred MB). Run another tier" \
         "(tools/test.sh unit|host|server) to skip it." >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  fi
  NODE_DIR="$CACHE/node"
  if [ ! -d "$NODE_DIR/node_modules/playwright-core" ]; then
    echo "[provision] installing playwright-core" >&2
    mkdir -p "$NODE_DIR" && (cd "$NODE_DIR" && npm install --silent --no-audit --no-fund playwright-core@1.65.1 >&2)
  fi
  echo "export NODE_PATH='$NODE_DIR/node_modules'"
  echo "export SPACETIME_CHROMIUM='$(command -v chromium)'"
fi
