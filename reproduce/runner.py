"""Batch runs: every prompt × mode × seed through one worker thread per ComfyUI server, resumable.

Output layout: `OUT/run.json` (what this run is), `OUT/<mode>/<key>_s<seed>.png` and, written last and
atomically, its sidecar `OUT/<mode>/<key>_s<seed>.json`. An item whose sidecar exists is finished, so an
interrupted run continues where it stopped and never redoes or loses finished images.
"""
from __future__ import annotations

import hashlib
import json
import queue
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import ReproduceError
from .client import ComfyClient, ExecutionFailed
from .prompts import Prompt, PromptSet
from .workflow import fill, missing_classes


@dataclass(frozen=True)
class Item:
    prompt: Prompt
    mode: str
    seed: int

    def stem(self, out: Path) -> Path:
        return out / self.mode / f"{self.prompt.key}_s{self.seed}"


@dataclass
class Summary:
    done: int = 0
    skipped: int = 0
    failed: int = 0


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def _check_run_file(out: Path, prompts: PromptSet, template: dict) -> None:
    """Refuse to mix two different experiments in one folder (resuming the same one is fine)."""
    identity = {"prompts": prompts.name, "prompt_file_sha256": hashlib.sha256(prompts.path.read_bytes()).hexdigest(),
                "workflow_sha256": hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()}
    run_file = out / "run.json"
    if run_file.exists():
        try:
            previous = json.loads(run_file.read_text())
        except ValueError:
            previous = {}
        if {k: previous.get(k) for k in identity} != identity:
            raise ReproduceError(f"{out} holds a run with another prompt set or workflow: choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(run_file, json.dumps({**identity, "workflow": template}, indent=1).encode())


def preflight(clients: list[ComfyClient], template: dict, modes: list[str], probe: Prompt) -> None:
    """Fail before any work if a mode cannot run on a server (missing nodes) or the template is unusable."""
    for client in clients:
        info = client.object_info()
        for mode in modes:
            absent = missing_classes(fill(template, probe.text, 0, mode, info), info)
            if absent:
                raise ReproduceError(f"mode {mode}: the server at {client.url} has no node {', '.join(absent)} "
                                     "(install the SpaceTime pack there, or drop this mode)")


def _sidecar(item: Item, prompts: PromptSet, client: ComfyClient, workflow: dict, entry: dict,
             images: list[str], seconds: float) -> dict:
    outputs = entry.get("outputs", {})
    layout = next((o["spacetime_layout"][0] for o in outputs.values() if o.get("spacetime_layout")), None)
    return {"key": item.prompt.key, "index": item.prompt.index, "prompt_set": prompts.name,
            "prompt": item.prompt.text, "mode": item.mode, "seed": item.seed, "images": images,
            "layout": layout, "server": client.url, "prompt_id": entry.get("prompt_id"),
            "seconds": round(seconds, 2), "workflow": workflow,
            "node_outputs": {nid: {k: v for k, v in o.items() if k != "images"} for nid, o in outputs.items()
                             if any(k != "images" for k in o)}}


def _run_item(item: Item, prompts: PromptSet, client: ComfyClient, template: dict, out: Path) -> None:
    start = time.monotonic()
    workflow = fill(template, item.prompt.text, item.seed, item.mode, client.object_info())
    entry = client.run(workflow)
    listed = [img for o in entry.get("outputs", {}).values() for img in o.get("images", [])
              if img.get("type") == "output"]
    if not listed:
        raise ExecutionFailed("the workflow saved no image (add a SaveImage node)")
    stem = item.stem(out)
    stem.parent.mkdir(parents=True, exist_ok=True)
    names = []
    for n, image in enumerate(listed):
        suffix = Path(image["filename"]).suffix or ".png"
        path = stem.with_name(stem.name + (f"_{n}" if n else "") + suffix)
        _write_atomic(path, client.view(image))
        names.append(path.name)
    record = _sidecar(item, prompts, client, workflow, entry, names, time.monotonic() - start)
    _write_atomic(stem.with_suffix(".json"), json.dumps(record, indent=1).encode())


def run_batch(prompts: PromptSet, template: dict, modes: list[str], seeds: list[int], servers: list[str],
              out: Path, log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)) -> Summary:
    """Render every unfinished item; returns counts. Raises ReproduceError only when no server can go on."""
    clients = [ComfyClient(url) for url in servers]
    preflight(clients, template, modes, prompts.prompts[0])
    _check_run_file(out, prompts, template)
    items = [Item(p, m, s) for m in modes for s in seeds for p in prompts.prompts]
    todo = [i for i in items if not i.stem(out).with_suffix(".json").exists()]
    summary = Summary(skipped=len(items) - len(todo))
    log(f"{len(items)} items, {summary.skipped} already finished, {len(todo)} to render on {len(clients)} server(s)")
    pending: queue.Queue[Item] = queue.Queue()
    for item in todo:
        pending.put(item)
    lock, started, lost = threading.Lock(), time.monotonic(), []

    def worker(client: ComfyClient) -> None:
        while True:
            try:
                item = pending.get_nowait()
            except queue.Empty:
                return
            try:
                _run_item(item, prompts, client, template, out)
                status = "ok"
            except ExecutionFailed as err:
                status = f"FAILED: {err}"
            except ReproduceError as err:  # this server is gone: hand the item back, stop this worker
                pending.put(item)
                with lock:
                    lost.append(str(err))
                    log(f"server {client.url} dropped: {err}")
                return
            with lock:
                summary.done += status == "ok"
                summary.failed += status != "ok"
                finished = summary.done + summary.failed
                eta = (time.monotonic() - started) / finished * (len(todo) - finished)
                log(f"[{finished}/{len(todo)}] {item.mode} {item.prompt.key} s{item.seed} {status} "
                    f"({client.url}, eta {eta / 60:.1f} min)")

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if not pending.empty():
        raise ReproduceError(f"{pending.qsize()} items left and no server answers ({lost[-1]}); "
                             "finished images are kept: rerun the same command to continue")
    return summary
