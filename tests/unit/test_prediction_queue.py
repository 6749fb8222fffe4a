"""nodes/prediction_queue.py: jobs run off the event loop, one editor keeps only its newest waiting request, the
number waiting is capped, and a slot is never lost (errors, cancelled waiters)."""
from __future__ import annotations

import asyncio
import importlib.util
import threading

import pytest

from support.paths import REPO


def _load_queue_module():
    """The module alone, by path: `nodes` is ComfyUI's nodes.py on this PYTHONPATH, and the pack's nodes package
    imports ComfyUI; the queue itself is stdlib only."""
    spec = importlib.util.spec_from_file_location("prediction_queue", REPO / "nodes" / "prediction_queue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


queue_module = _load_queue_module()
PredictionQueue, Refused = queue_module.PredictionQueue, queue_module.Refused


class Gate:
    """A job that blocks its worker thread until opened, and says when it has started."""

    def __init__(self, value: object = None):
        self.value, self.started, self.opened = value, threading.Event(), threading.Event()

    def __call__(self):
        self.started.set()
        assert self.opened.wait(10), "gate never opened"
        return self.value

    async def wait_started(self) -> None:
        assert await asyncio.to_thread(self.started.wait, 10)


async def _settle() -> None:
    """Lets every created task run up to its first real wait (queued requests register synchronously)."""
    for _ in range(3):
        await asyncio.sleep(0)


def test_job_runs_on_a_worker_thread_and_returns_its_value():
    async def scenario():
        queue = PredictionQueue(workers=1, max_waiting=4)
        return await queue.run("editor-a", threading.get_ident), threading.get_ident()

    worker, loop_thread = asyncio.run(scenario())
    assert worker != loop_thread


def test_newer_request_of_the_same_editor_replaces_its_waiting_one():
    async def scenario():
        queue = PredictionQueue(workers=1, max_waiting=4)
        busy = Gate("busy")
        running = asyncio.create_task(queue.run("other", busy))
        await busy.wait_started()
        stale = asyncio.create_task(queue.run("typist", lambda: "stale"))
        await _settle()
        fresh = asyncio.create_task(queue.run("typist", lambda: "fresh"))
        await _settle()
        with pytest.raises(Refused) as refused:
            await asyncio.wait_for(stale, 5)
        busy.opened.set()
        return refused.value, await running, await fresh

    refused, running, fresh = asyncio.run(scenario())
    assert (refused.status, refused.field) == (409, "editor") and "superseded" in str(refused)
    assert (running, fresh) == ("busy", "fresh")


def test_a_running_request_is_not_replaced():
    async def scenario():
        queue = PredictionQueue(workers=1, max_waiting=4)
        first = Gate("first")
        running = asyncio.create_task(queue.run("typist", first))
        await first.wait_started()
        newer = asyncio.create_task(queue.run("typist", lambda: "second"))
        await _settle()
        first.opened.set()
        return await running, await newer

    assert asyncio.run(scenario()) == ("first", "second")


def test_different_editors_and_anonymous_requests_wait_in_arrival_order():
    async def scenario():
        queue = PredictionQueue(workers=1, max_waiting=4)
        order: list[str] = []
        busy = Gate()
        running = asyncio.create_task(queue.run("busy", busy))
        await busy.wait_started()
        waiting = []
        for name, editor in (("a", "editor-a"), ("anon-1", None), ("anon-2", None), ("b", "editor-b")):
            waiting.append(asyncio.create_task(queue.run(editor, lambda name=name: order.append(name))))
            await _settle()
        busy.opened.set()
        await asyncio.gather(running, *waiting)
        return order

    assert asyncio.run(scenario()) == ["a", "anon-1", "anon-2", "b"]   # anonymous ones never replace each other


def test_requests_beyond_the_waiting_cap_are_refused_but_an_editors_newer_request_takes_its_place():
    async def scenario():
        queue = PredictionQueue(workers=1, max_waiting=2)
        busy = Gate()
        running = asyncio.create_task(queue.run("busy", busy))
        await busy.wait_started()
        first = asyncio.create_task(queue.run("editor-a", lambda: "a"))
        stale = asyncio.create_task(queue.run("editor-b", lambda: "b-stale"))
        await _settle()
        with pytest.raises(Refused) as over_cap:
            await queue.run("editor-c", lambda: "c")
        replacing = asyncio.create_task(queue.run("editor-b", lambda: "b-fresh"))   # the cap is full
        await _settle()
        busy.opened.set()
        await running
        results = await asyncio.gather(first, stale, replacing, return_exceptions=True)
        return over_cap.value, results

    over_cap, (first, stale, replacing) = asyncio.run(scenario())
    assert (over_cap.status, over_cap.field) == (503, "editor") and "busy" in str(over_cap)
    assert first == "a" and isinstance(stale, Refused) and stale.status == 409 and replacing == "b-fresh"


def test_never_more_jobs_at_once_than_workers():
    running, most = 0, 0
    lock = threading.Lock()

    def job():
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        threading.Event().wait(0.02)
        with lock:
            running -= 1

    async def scenario():
        queue = PredictionQueue(workers=2, max_waiting=8)
        await asyncio.gather(*(queue.run(f"editor-{i}", job) for i in range(8)))

    asyncio.run(scenario())
    assert most == 2


def test_a_failing_job_raises_to_its_request_and_frees_its_slot():
    def broken():
        raise ValueError("predictor bug")

    async def scenario():
        queue = PredictionQueue(workers=1, max_waiting=1)
        with pytest.raises(ValueError, match="predictor bug"):
            await queue.run("editor-a", broken)
        return await asyncio.wait_for(queue.run("editor-a", lambda: "next"), 5)

    assert asyncio.run(scenario()) == "next"


def test_a_waiting_request_that_goes_away_frees_its_place():
    async def scenario():
        queue = PredictionQueue(workers=1, max_waiting=1)
        busy = Gate()
        running = asyncio.create_task(queue.run("busy", busy))
        await busy.wait_started()
        gone = asyncio.create_task(queue.run("editor-a", lambda: "never"))
        await _settle()
        gone.cancel()
        await _settle()
        after = asyncio.create_task(queue.run("editor-b", lambda: "b"))   # would be over the cap of 1
        await _settle()
        busy.opened.set()
        await running
        return gone.cancelled(), await asyncio.wait_for(after, 5)

    assert asyncio.run(scenario()) == (True, "b")
