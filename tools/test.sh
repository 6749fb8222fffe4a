#!/usr/bin/env bash
# The test command: provisions the real ComfyUI host (and the browser for the browser tier) on a fresh
# machine, then runs the tiers one pytest process each, so the unit tier never imports ComfyUI.
# usage: tools/test.sh [unit|host|server|browser|all] [extra pytest args]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
TIER=${1:-all}; shift || true
case "$TIER" in unit|host|server|browser) TIERS=$TIER ;; all) TIERS="unit host server browser" ;;
  *) echo "usage: tools/test.sh [unit|host|server|browser|all] [pytest args]" >&2; exit 2 ;; esac
WANT_BROWSER=""; case " $TIERS " in *" browser "*) WANT_BROWSER=--browser ;; esac
eval "$("$REPO/tools/provision.sh" $WANT_BROWSER)"
cd "$REPO"
status=0
for tier in $TIERS; do
  echo "=== tier: $tier ==="
  set +e
  "$SPACETIME_HOST_PYTHON" -m pytest -c tests/pytest.ini --rootdir tests "tests/$tier" -p no:cacheprovider -q -rs "$@"
  rc=$?
  set -e
  if [ $rc -eq 5 ]; then echo "tier $tier: no tests ran" >&2; rc=1; fi
  if [ $rc -ne 0 ]; then echo "tier $tier FAILED (exit $rc)" >&2; status=1; fi
done
exit $status
