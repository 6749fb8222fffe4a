"""Load on the editor's prediction route: many longest-prompt predictions at once, while an unrelated request
(`GET /system_stats`, what the frontend polls) is timed again and again. Used by the server test that bounds that
latency and by benchmarks/bench_route_latency.py."""
from __future__ import annotations

import itertools
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from layout_model.schema import MAX_TEXT_CHARS

ROUTE = "/spacetime/layout/predict"
TYPIST = "typist"
# Sentences of the kind users type: objects with attributes and spatial relations, so the parser and the solver
# both work (the 64-object cap is reached); the longest prompt costs ~0.14 s of prediction on the 2-core CI VM.
SCENE = ("A white couch stands to the left of a silver bed.", "A red lamp hangs above a wooden table.",
         "A black dog sleeps below the window, beside a small grey cat.",
         "Two green bottles sit on the shelf to the right of the clock.",
         "A person holds a tennis racket next to the bench.", "A laptop rests on the desk above a blue backpack.")


def longest_prompt() -> str:
    """Realistic text as long as the route accepts (MAX_TEXT_CHARS): the most a single prediction can cost."""
    text = ""
    for sentence in itertools.cycle(SCENE):
        if len(text) + len(sentence) + 1 > MAX_TEXT_CHARS:
            return text.rstrip()
        text += sentence + " "


@dataclass
class LoadResult:
    latencies: list[float]              # seconds of each GET /system_stats timed while predictions were in flight
    answers: list[tuple[str, int, object]]   # (editor id, HTTP status, JSON body) of every prediction
    seconds: float                      # from the first prediction sent to the last answered

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)

    @property
    def worst(self) -> float:
        return max(self.latencies)

    def statuses(self, editor: str | None = None) -> list[int]:
        return [status for who, status, _ in self.answers if editor is None or who == editor]


def time_get(server, path: str = "/system_stats") -> float:
    start = time.perf_counter()
    server.get_json(path)
    return time.perf_counter() - start


def probe_under_load(server, editors: int = 40, burst: int = 15, burst_gap_s: float = 0.05,
                     probe_gap_s: float = 0.1) -> LoadResult:
    """Fires one longest-prompt prediction from each of `editors` editor ids at once, between `burst` from one
    editor (the typist: its first just before them, the rest one every `burst_gap_s`, none waiting for its answer);
    times /system_stats every `probe_gap_s` (a frontend polls about as often) until every prediction has answered.
    The typist goes first so that it holds a place before the others fill the queue."""
    text = longest_prompt()
    latencies: list[float] = []
    done = threading.Event()

    def predict(editor: str) -> tuple[str, int, object]:
        body = {"text": text, "width": 512, "height": 512, "seed": 0, "editor": editor}
        return (editor, *server.post_json(ROUTE, body))

    def probe() -> None:
        while not done.is_set():
            latencies.append(time_get(server))
            time.sleep(probe_gap_s)

    prober = threading.Thread(target=probe)
    start = time.perf_counter()
    with ThreadPoolExecutor(editors + burst) as pool:
        futures = [pool.submit(predict, TYPIST), *(pool.submit(predict, f"editor-{i}") for i in range(editors))]
        prober.start()
        for _ in range(burst - 1):
            futures.append(pool.submit(predict, TYPIST))
            time.sleep(burst_gap_s)
        answers = [future.result() for future in futures]
    seconds = time.perf_counter() - start
    done.set()
    prober.join()
    return LoadResult(latencies, answers, seconds)
