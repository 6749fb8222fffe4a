"""The box editor's predictions, kept off aiohttp's event loop and bounded.

Prediction is pure Python, so run on the loop it would stall every other request of ComfyUI (progress, queue,
/system_stats) for as long as it takes. Here jobs run on a small thread pool (the GIL is handed back to the loop
every few milliseconds), at most `workers` at once. A request that cannot start at once waits, and waiting is
bounded twice: an editor keeps only its newest waiting request (a typist's stale prompts are dropped, not queued),
and at most `max_waiting` requests wait across editors. Only stdlib here, so the unit tier can test it without
ComfyUI.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")


class Refused(Exception):
    """A request the queue did not run: `status` is its HTTP answer, `field` the request field the answer names."""

    def __init__(self, status: int, field: str, message: str):
        super().__init__(message)
        self.status, self.field = status, field


class PredictionQueue:
    """Runs blocking jobs on its own threads, newest-per-editor and FIFO among editors."""

    def __init__(self, workers: int, max_waiting: int):
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spacetime-predict")
        self._free = workers
        self._max_waiting = max_waiting
        self._waiting: OrderedDict[Hashable, asyncio.Future] = OrderedDict()   # editor (or a token) -> its turn

    async def run(self, editor: str | None, job: Callable[[], T]) -> T:
        """Runs `job` on a worker thread once it is this request's turn and returns its result. Raises Refused
        (409) when a newer request of the same editor replaces this one while it waits, or (503) when too many
        wait; a request without an editor is never replaced."""
        await self._wait_for_turn(editor)
        loop = asyncio.get_running_loop()
        work = self._executor.submit(job)
        # the slot is freed when the thread is done, even if the awaiting request goes away before that (and not
        # at all once the server's loop is closed)
        work.add_done_callback(lambda _: loop.is_closed() or loop.call_soon_threadsafe(self._release))
        return await asyncio.wrap_future(work)

    async def _wait_for_turn(self, editor: str | None) -> None:
        if editor is not None and editor in self._waiting:
            self._waiting.pop(editor).set_exception(
                Refused(409, "editor", "superseded by a newer request from the same editor"))
        if self._free and not self._waiting:
            self._free -= 1
            return
        if len(self._waiting) >= self._max_waiting:
            raise Refused(503, "editor", f"the layout predictor is busy ({self._max_waiting} requests waiting); "
                                         "try again")
        key: Hashable = editor if editor is not None else object()
        turn = asyncio.get_running_loop().create_future()
        self._waiting[key] = turn
        try:
            await turn
        except asyncio.CancelledError:
            if self._waiting.get(key) is turn:
                del self._waiting[key]
            elif turn.done() and not turn.cancelled() and turn.exception() is None:
                self._release()   # the turn was given but the request went away: hand it on
            raise

    def _release(self) -> None:
        self._free += 1
        while self._free and self._waiting:
            _, turn = self._waiting.popitem(last=False)
            if not turn.done():
                self._free -= 1
                turn.set_result(None)
