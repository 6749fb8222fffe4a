#!/usr/bin/env bash
# The test command: provisions the real ComfyUI hosts (and the browser for the browser tier) on a fresh machine,
# then runs the unit tier once and the host, server and browser tiers on each core, one pytest process per tier
# and core, so the unit tier never imports ComfyUI and no core's modules leak into another's run.
# usage: [SPACETIME_CORE=all|0.3.75|0.33.0] tools/test.sh [lint|unit|host|server|browser|all] [extra pytest args]
#   lint            the ecosystem's static checks, `comfy-test lint --strict` (cp1252-safe Python, native ComfyUI
#                   patterns, namespaced JS extensions), from its own venv in the cache; no ComfyUI needed.
#   SPACETIME_CORE  the cores to test (default all: 0.3.75 then 0.33.0); one of them for quick local runs.
#                   Each core runs with its own pinned frontend (the one its requirements name).
# Each core's artifacts (server logs, screenshots) go to test-artifacts/<core>/ (or $SPACETIME_ARTIFACTS/<core>).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
ALL_CORES="0.3.75 0.33.0"
TIER=${1:-all}; shift || true
case "$TIER" in lint|unit|host|server|browser) TIERS=$TIER ;; all) TIERS="lint unit host server browser" ;;
  *) echo "usage: tools/test.sh [lint|unit|host|server|browser|all] [pytest args]" >&2; exit 2 ;; esac
COMFY_TEST_VERSION=0.4.15
case "${SPACETIME_CORE:-all}" in all) CORES=$ALL_CORES ;; 0.3.75|0.33.0) CORES=$SPACETIME_CORE ;;
  *) echo "SPACETIME_CORE must be all, 0.3.75 or 0.33.0 (got '$SPACETIME_CORE')" >&2; exit 2 ;; esac
WANT_BROWSER=""; case " $TIERS " in *" browser "*) WANT_BROWSER=--browser ;; esac
ARTIFACTS=${SPACETIME_ARTIFACTS:-$REPO/test-artifacts}
ENV_DIR=$(mktemp -d); trap 'rm -rf "$ENV_DIR"' EXIT
WANT_HOSTS=""; case " $TIERS " in *" unit "*|*" host "*|*" server "*|*" browser "*) WANT_HOSTS=1 ;; esac
for core in $CORES; do
  [ -n "$WANT_HOSTS" ] && "$REPO/tools/provision.sh" --core "$core" $WANT_BROWSER > "$ENV_DIR/$core.env"
done
cd "$REPO"
status=0; failed=()

# run_tier CORE TIER [pytest args]: one pytest process in that core's venv; says the core in its banner and verdict.
run_tier() {
  local core=$1 tier=$2 label rc; shift 2
  label="$tier on ComfyUI $core"; [ "$tier" = unit ] && label="unit (no ComfyUI; run in the $core venv)"
  echo "=== tier: $label ==="
  set +e
  (
    # shellcheck disable=SC1090
    . "$ENV_DIR/$core.env"
    export SPACETIME_ARTIFACTS="$ARTIFACTS/$core"
    "$SPACETIME_HOST_PYTHON" -m pytest -c tests/pytest.ini --rootdir tests "tests/$tier" -p no:cacheprovider -rfEs "$@"
  )
  rc=$?
  set -e
  if [ $rc -eq 5 ]; then echo "tier $label: no tests ran" >&2; rc=1; fi
  if [ $rc -ne 0 ]; then echo "tier $label FAILED (exit $rc)" >&2; status=1; failed+=("$tier@$core"); fi
}

# run_lint: comfy-test's static levels (the installation-test suite many packs run in CI), pinned.
run_lint() {
  local venv=${SPACETIME_CACHE:-$HOME/.cache/spacetime-attention}/comfy-test-$COMFY_TEST_VERSION
  echo "=== tier: lint (comfy-test $COMFY_TEST_VERSION) ==="
  if [ ! -x "$venv/bin/comfy-test" ]; then
    python3 -m venv "$venv" && "$venv/bin/pip" install -q "comfy-test==$COMFY_TEST_VERSION" >&2
  fi
  if "$venv/bin/comfy-test" lint --strict "$REPO"; then
    echo "1 passed, 0 failed"
  else
    echo "tier lint FAILED" >&2; status=1; failed+=("lint")
  fi
}

for tier in $TIERS; do
  if [ "$tier" = lint ]; then
    run_lint
  elif [ "$tier" = unit ]; then
    run_tier "${CORES##* }" unit "$@"          # once, in the newest selected core's venv
  else
    for core in $CORES; do run_tier "$core" "$tier" "$@"; done
  fi
done
if [ $status -ne 0 ]; then echo "FAILED tiers (tier@core): ${failed[*]}" >&2; fi
exit $status
