#!/usr/bin/env bash
# The run command: start ComfyUI with this pack loaded on 127.0.0.1 and print its URL.
# Reuses your ComfyUI when COMFYUI_DIR is set (links the pack into its custom_nodes/ and runs its main.py with
# COMFYUI_PYTHON, default `python3`); otherwise provisions a CPU-only ComfyUI host first (~3 minutes once): the
# newest core the tests run on, 0.33.0, or SPACETIME_CORE=0.3.75; with the lab extension (lab/: its loader node and
# the lab_shapes examples, linked by provision.sh) and the lab models in its checkpoints, so the lab example workflows
# run without a GPU.
# usage: [COMFYUI_DIR=...] [SPACETIME_CORE=0.33.0|0.3.75] [PORT=8188] tools/run.sh [extra main.py args, e.g. --cpu]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-8188}
if [ -n "${COMFYUI_DIR:-}" ] && [ "$COMFYUI_DIR" != "${SPACETIME_HOST:-}/ComfyUI" ]; then
  [ -f "$COMFYUI_DIR/main.py" ] || { echo "COMFYUI_DIR=$COMFYUI_DIR has no main.py" >&2; exit 2; }
  PY=${COMFYUI_PYTHON:-python3}
  LINK="$COMFYUI_DIR/custom_nodes/spacetime_attention"
  [ -e "$LINK" ] || ln -s "$REPO" "$LINK"
  EXTRA=()
  TEMPLATES="spacetime_attention"
else
  CORE=${SPACETIME_CORE:-0.33.0}; [ "$CORE" = all ] && CORE=0.33.0   # all (the test default) means the newest
  eval "$("$REPO/tools/provision.sh" --core "$CORE")"
  PY=$SPACETIME_HOST_PYTHON
  EXTRA=(--cpu)
  TEMPLATES="spacetime_attention; the lab: spacetime_lab"
  # The CPU host has no real weights: offer the lab models (UNet and DiT) so the lab extension's examples
  # (lab_shapes, lab_shapes_dit) run at once.
  for LAB in "$REPO"/lab/fixtures/spacetime_lab*.safetensors; do
    [ -f "$LAB" ] && ln -sf "$LAB" "$COMFYUI_DIR/models/checkpoints/$(basename "$LAB")"
  done
fi
cd "$COMFYUI_DIR"
echo "SpaceTime Attention: ComfyUI starting at http://127.0.0.1:$PORT/  (example workflows: Templates in the left sidebar > Extensions > $TEMPLATES)"
exec "$PY" main.py --listen 127.0.0.1 --port "$PORT" --disable-api-nodes "${EXTRA[@]}" "$@"
