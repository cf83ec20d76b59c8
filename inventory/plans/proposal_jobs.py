"""Running a proposal as a job: the optimiser in a worker thread, its progress and its answer written as it goes.

The request records the proposal (``running``, committed), hands it to the process's :class:`ProposalRunner` and
waits up to :data:`WAIT_SECONDS` for it: a quick run answers at once (201, ``done``), a longer one answers 202 and
is read later at ``GET /api/v1/plans/proposals/{id}``.

* The job is an asyncio task the runner holds (the event loop keeps only weak references to tasks), independent
  of the request: a client that hangs up or times out does not stop it.
* The optimiser runs in a daemon thread of its own (not the loop's default executor, which a shutting-down
  process would wait for until the time limit). Its progress callback stores the latest
  :class:`~inventory.placement.problem.Progress` in a lock-guarded holder; a writer task copies it to the row
  every :data:`PROGRESS_EVERY` seconds when it changed. At the end the writer stops, then the answer
  (:func:`inventory.plans.proposals.answer_with_ids`) or the error is written with ``finished_at`` — so nothing is
  written to a proposal after it reads ``done`` or ``failed``.
* Every write uses a session of its own (:meth:`inventory.store.db.Database.write`), never the request's.
* At most :data:`MAX_RUNNING` jobs run in one process; another proposal meanwhile is refused (409) before anything
  is recorded.
* On shutdown (:meth:`ProposalRunner.running`, an application lifespan) running jobs are cancelled and their
  proposals marked ``failed`` (:data:`STOPPED`); the thread, which cannot be stopped, ends with the process. A
  process that dies without that leaves its proposals ``running``: reads report them failed after their time
  limit + 60 s (:mod:`inventory.plans.proposals`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import asdict
from typing import Any, Final, TypeVar

from sqlalchemy import update

from inventory.errors import Conflict
from inventory.placement.problem import Answer, Progress, ProgressCallback
from inventory.placement.solve import solve_coverage, solve_median, solve_stock
from inventory.plans.proposals import Prepared, answer_with_ids, plain
from inventory.store.db import Database
from inventory.store.models import PlanProposal, utcnow

WAIT_SECONDS: Final = 2.0
"""How long ``POST /api/v1/plans/propose`` waits for its run before answering 202."""
PROGRESS_EVERY: Final = 0.5
"""Seconds between progress writes while a run goes on."""
MAX_RUNNING: Final = 4
"""Runs at once in one process (each may keep a core busy up to its time limit)."""
STOPPED: Final = "服务停止，计算已中断，请重新计算"

log = logging.getLogger(__name__)
T = TypeVar("T")


class LatestProgress:
    """The newest progress report of a run, handed from the solver's thread to the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: Progress | None = None
        self._version = 0

    def put(self, progress: Progress) -> None:
        """Keep this report (called from the solver's thread)."""
        with self._lock:
            self._latest = progress
            self._version += 1

    def take(self) -> tuple[int, Progress | None]:
        """(how many reports so far, the newest)."""
        with self._lock:
            return self._version, self._latest


def progress_json(progress: Progress) -> dict[str, Any]:
    """A progress report as stored in the row."""
    result: dict[str, Any] = plain(asdict(progress))
    return result


def solve(prepared: Prepared, progress: ProgressCallback) -> Answer:
    """Run the optimiser the request asks for on the prepared instance (blocking)."""
    req, instance = prepared.request, prepared.instance
    target = float(prepared.meta["target_minutes"])
    limit = req.time_limit_seconds
    if req.objective == "stock":
        assert prepared.stock is not None
        return solve_stock(instance, prepared.stock, target, max_sites=req.p, time_limit=limit, progress=progress)
    assert req.p is not None
    if req.objective == "median":
        return solve_median(instance, req.p, time_limit=limit, progress=progress)
    return solve_coverage(instance, req.p, target, time_limit=limit, progress=progress)


async def in_daemon_thread(fn: Callable[[], T], name: str) -> T:
    """``fn()`` in a daemon thread; cancelling the wait leaves the thread to finish (its result is dropped)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result, error = fn(), None
        except BaseException as exc:  # handed to the awaiting task
            result, error = None, exc
        with suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=target, name=name, daemon=True).start()
    return await future


class ProposalRunner:
    """The process's running proposals (module doc); one per application."""

    def __init__(self, db: Database, *, wait_seconds: float = WAIT_SECONDS, progress_every: float = PROGRESS_EVERY,
                 max_running: int = MAX_RUNNING) -> None:
        self.db = db
        self.wait_seconds = wait_seconds
        self.progress_every = progress_every
        self.max_running = max_running
        self._tasks: dict[int, asyncio.Task[None]] = {}

    @property
    def running_ids(self) -> list[int]:
        """Proposals whose job is still going in this process."""
        return sorted(self._tasks)

    def check_capacity(self) -> None:
        """Conflict when :data:`MAX_RUNNING` runs are going on already (call before recording a new one)."""
        if len(self._tasks) >= self.max_running:
            raise Conflict(f"已有 {len(self._tasks)} 个选址优化正在计算，请稍后再试", field="objective")

    def start(self, prepared: Prepared) -> None:
        """Run the recorded proposal as a job (its row must be committed)."""
        ident = prepared.proposal_id
        if ident in self._tasks:
            return
        task = asyncio.create_task(self._run(prepared), name=f"proposal-{ident}")
        self._tasks[ident] = task
        task.add_done_callback(lambda _: self._tasks.pop(ident, None))

    async def wait(self, proposal_id: int, seconds: float | None = None) -> bool:
        """Wait up to ``seconds`` (default :attr:`wait_seconds`) for the job; True when it is over (or unknown)."""
        task = self._tasks.get(proposal_id)
        if task is None:
            return True
        done, _ = await asyncio.wait({task}, timeout=self.wait_seconds if seconds is None else seconds)
        return bool(done)

    async def close(self) -> None:
        """Cancel the running jobs; each marks its proposal failed (:data:`STOPPED`)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @asynccontextmanager
    async def running(self, _app: object = None) -> AsyncIterator[ProposalRunner]:
        """An application lifespan: on shutdown, :meth:`close`."""
        try:
            yield self
        finally:
            await self.close()

    async def _run(self, prepared: Prepared) -> None:
        ident = prepared.proposal_id
        holder, stop = LatestProgress(), asyncio.Event()
        writer = asyncio.create_task(self._report(ident, holder, stop), name=f"proposal-{ident}-progress")
        try:
            answer = await in_daemon_thread(lambda: solve(prepared, holder.put), f"proposal-{ident}")
        except asyncio.CancelledError:
            await self._stop(writer, stop)
            with suppress(Exception):
                await self._finish(ident, status="failed", error=STOPPED)
            raise
        except Exception as exc:
            log.exception("proposal %s: the optimiser failed", ident)
            await self._stop(writer, stop)
            await self._finish(ident, status="failed", error=f"计算失败：{type(exc).__name__}: {exc}"[:2000])
            return
        await self._stop(writer, stop)
        final = Progress(stage="done", seconds=answer.seconds, objective=answer.objective, bound=answer.bound,
                         gap=answer.gap)
        await self._finish(ident, status="done", answer=answer_with_ids(answer, prepared.meta),
                           progress=progress_json(final))

    @staticmethod
    async def _stop(writer: asyncio.Task[None], stop: asyncio.Event) -> None:
        """Let the progress writer finish the write it is in, then end."""
        stop.set()
        with suppress(Exception):
            await asyncio.shield(writer)

    async def _report(self, ident: int, holder: LatestProgress, stop: asyncio.Event) -> None:
        """Write the newest progress every :attr:`progress_every` seconds while it changes, until ``stop``."""
        written = 0
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.progress_every)
            version, progress = holder.take()
            if stop.is_set() or progress is None or version == written:
                continue
            try:
                async with self.db.write() as session:
                    await session.execute(update(PlanProposal).where(
                        PlanProposal.id == ident, PlanProposal.status == "running").values(
                        progress=progress_json(progress)))
                written = version
            except Exception:  # a lost progress report is no reason to stop the run
                log.warning("proposal %s: progress not written", ident, exc_info=True)

    async def _finish(self, ident: int, **values: Any) -> None:
        async with self.db.write() as session:
            await session.execute(update(PlanProposal).where(
                PlanProposal.id == ident, PlanProposal.status == "running").values(finished_at=utcnow(), **values))
