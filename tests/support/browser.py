"""Run a Playwright (playwright-core, Node.js) scenario against the real server and read its JSON result."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from .cores import running_core_label
from .paths import REPO, artifacts_dir

SCENARIOS = REPO / "tests" / "browser" / "pw"


def run_scenario(name: str, *args: str, timeout: float = 240) -> dict:
    """Runs tests/browser/pw/<name>.cjs; the script prints `RESULT {json}` as its last result line."""
    proc = subprocess.run(["node", str(SCENARIOS / f"{name}.cjs"), *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())
    log = artifacts_dir() / f"browser-{name}.log"
    log.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise AssertionError(f"scenario {name} on {running_core_label()} printed no result (exit {proc.returncode}); "
                             f"see {log}")
    result = json.loads(lines[-1][len("RESULT "):])
    if "fatal" in result:
        raise AssertionError(f"scenario {name} failed on {running_core_label()}: {result['fatal']}")
    return result


def screenshot_path(name: str) -> str:
    return str(Path(artifacts_dir()) / f"{name}.png")
