"""The consuming side of a Worker: fetch loop, job execution, outcomes, shutdown.

One ``Consumer`` per started worker. It keeps at most ``concurrency`` jobs in flight: the
fetch loop asks the broker for as many jobs as there are free slots (so a batch fetch
fills the pool in one round trip), each job runs in its own task, and successes are acked
in batches by one flusher task. Sync handlers run in a thread pool of ``concurrency``
threads. The retry policy lives here, not in brokers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from jobplug.broker import Broker, ConsumerConfig, Delivery
from jobplug.errors import BrokerError, Discard, Retry
from jobplug.handlers import ArgsMismatch, Registration
from jobplug.job import Job, utcnow
from jobplug.middleware import CallNext
from jobplug.plugins import call as call_hook
from jobplug.policy import backoff_seconds, describe, failure_traceback, retry_time

if TYPE_CHECKING:
    import pluggy

log = logging.getLogger("jobplug.worker")

#: Pause between fetch attempts while the broker is unreachable (doubles up to the max).
_RECONNECT_MIN, _RECONNECT_MAX = 0.05, 5.0
#: Seconds stop() waits for an ack already sent to the broker before giving up on it.
_ACK_DRAIN = 10.0


class Consumer:
    def __init__(
        self,
        broker: Broker,
        handlers: dict[str, Registration],
        chain: Callable[[CallNext], CallNext],
        pm: pluggy.PluginManager,
        config: ConsumerConfig,
        fetch_timeout: float,
    ) -> None:
        self.broker = broker
        self.handlers = handlers
        self.pm = pm
        self.config = config
        self.concurrency = config.concurrency
        self.fetch_timeout = fetch_timeout
        self._run = chain(self._call_handler)
        self._executor = ThreadPoolExecutor(config.concurrency, thread_name_prefix="jobplug")
        self._running: dict[asyncio.Task[None], Delivery] = {}
        self._slot_free = asyncio.Event()
        self._acks: list[Delivery] = []
        self._ack_ready = asyncio.Event()
        self._fetcher: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._stopping = False
        self._interrupting: set[asyncio.Task[None]] = set()  # job tasks stop() cancels
        self.put_back = 0  # jobs still running when stop() ended, released to the broker
        self.counts: Counter[str] = Counter()  # outcomes, for the summary line (summary.py)
        self._acks_closing = False

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        await self.broker.subscribe(self.config)
        self._flusher = asyncio.create_task(self._flush_acks(), name="jobplug-acks")
        self._fetcher = asyncio.create_task(self._fetch_loop(), name="jobplug-fetch")

    async def stop(self, grace: float, force: asyncio.Event) -> None:
        """Stop fetching, let running jobs finish within ``grace`` (or until ``force``)."""
        self._stopping = True
        if self._fetcher is not None:
            await _cancel(self._fetcher)
        if self._running:
            await _wait_or_force(set(self._running), grace, force)
        interrupted = [self._running[t] for t in self._running if not t.done()]
        self.put_back = len(interrupted)
        self._interrupting.update(self._running)
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        if interrupted:
            log.warning("grace period over: %d running job(s) put back", len(interrupted))
            await self._guard("release", self.broker.release(interrupted))
        # Let the flusher finish the ack it may be awaiting: cancelling it there would drop
        # that batch, and the broker would hand those finished jobs out again.
        self._acks_closing = True
        self._ack_ready.set()
        if self._flusher is not None:
            await asyncio.wait({self._flusher}, timeout=0 if force.is_set() else _ACK_DRAIN)
            await _cancel(self._flusher)
        await self.flush()
        await self._guard("unsubscribe", self.broker.unsubscribe())
        self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def in_flight(self) -> int:
        return len(self._running)

    # -- fetching --------------------------------------------------------------------
    async def _fetch_loop(self) -> None:
        pause = _RECONNECT_MIN
        while not self._stopping:
            free = self.concurrency - len(self._running)
            if free <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            try:
                deliveries = await self.broker.fetch(free, self.fetch_timeout)
            except Exception as exc:
                if isinstance(exc, BrokerError):
                    log.warning("fetch failed (%s); retrying in %.2fs", exc, pause)
                else:
                    # An adapter bug, not an outage: a worker that stopped fetching here
                    # would still report running while its jobs wait, so say it loudly.
                    log.exception("fetch raised an unexpected error; retrying in %.2fs", pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, _RECONNECT_MAX)
                continue
            pause = _RECONNECT_MIN
            for delivery in deliveries:
                task = asyncio.create_task(self.process(delivery))
                self._running[task] = delivery
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._slot_free.set()

    # -- running one job -------------------------------------------------------------
    async def process(self, delivery: Delivery) -> None:
        job = delivery.job
        reg = self.handlers.get(job.handler)
        if reg is None:  # a broker should not hand these out; never lose it if one does
            await self._dead(delivery, None, "stray job: no handler", None)
            return
        log.debug("job started %s id=%s fails=%d", job.handler, job.id, job.fails)
        call_hook(self.pm, "jobplug_job_started", job=job)
        started = time.perf_counter()
        try:
            await self._run(job)
        except Discard:
            self._succeeded(delivery, started, "discarded")
        except Retry as retry:
            await self._failed(delivery, reg, retry, started, retry_at=retry_time(retry))
        except ArgsMismatch as exc:
            await self._dead(delivery, exc, str(exc), started)
        except Exception as exc:
            await self._failed(delivery, reg, exc, started)
        except asyncio.CancelledError as exc:
            if not self._raised_by_handler():
                raise
            await self._failed(delivery, reg, exc, started)
        except BaseException as exc:
            # SystemExit, KeyboardInterrupt or a custom BaseException out of a handler (the
            # worker's own signals never arrive this way): escaping the task would kill the
            # worker with the job neither counted nor settled, so a poison job would
            # crash-loop forever. It is a failure like any other.
            await self._failed(delivery, reg, exc, started)
        else:
            self._succeeded(delivery, started, "succeeded")

    def _raised_by_handler(self) -> bool:
        """Whether a CancelledError came from the handler itself (a library's leaked timeout),
        not from a cancellation of this job's task: then it is a failure like any other;
        otherwise the job is stranded, neither acked nor put back."""
        task = asyncio.current_task()
        if task is None or task not in self._running or task in self._interrupting:
            return False
        cancelling = getattr(task, "cancelling", None)  # Python >= 3.11
        return not (cancelling is not None and cancelling())

    async def _call_handler(self, job: Job) -> Any:
        reg = self.handlers[job.handler]
        params = () if reg.convert is None else (reg.convert(job.args),)
        if reg.is_async:
            return await reg.func(*params)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: reg.func(*params))

    def _succeeded(self, delivery: Delivery, started: float, outcome: str) -> None:
        duration = time.perf_counter() - started
        job = delivery.job
        self.counts[outcome] += 1
        log.debug("job %s %s id=%s duration=%.4fs", outcome, job.handler, job.id, duration)
        call_hook(self.pm, "jobplug_job_succeeded", job=job, duration=duration)
        self._acks.append(delivery)
        self._ack_ready.set()

    async def _failed(
        self,
        delivery: Delivery,
        reg: Registration,
        error: BaseException,
        started: float,
        retry_at: datetime | None = None,
    ) -> None:
        duration = time.perf_counter() - started
        job = delivery.job
        job.fails += 1
        job.last_error = describe(error)
        job.last_traceback = failure_traceback(error)
        job.failed_at = utcnow()
        if job.fails >= reg.spec.max_fails:  # gocraft: retry while max_fails - fails > 0
            await self._dead(delivery, error, job.last_error, started, skip=reg.spec.skip_dead)
            return
        at = retry_at or job.failed_at + timedelta(seconds=backoff_seconds(reg, job))
        self.counts["failed"] += 1
        log.warning(
            "job failed %s id=%s duration=%.4fs fails=%d retry_at=%s error=%s%s",
            job.handler,
            job.id,
            duration,
            job.fails,
            at.isoformat(),
            job.last_error,
            _traceback_lines(job),
        )
        call_hook(
            self.pm, "jobplug_job_failed", job=job, error=error, duration=duration, retry_at=at
        )
        await self._guard("retry", self.broker.retry(delivery, at))

    async def _dead(
        self,
        delivery: Delivery,
        error: BaseException | None,
        reason: str,
        started: float | None,
        skip: bool = False,
    ) -> None:
        job = delivery.job
        job.last_error = reason
        if error is None or isinstance(error, ArgsMismatch):
            job.last_traceback = None  # not a handler's exception
        if job.failed_at is None or started is None:
            job.failed_at = utcnow()
        ran = "" if started is None else f" duration={time.perf_counter() - started:.4f}s"
        event = "dropped" if skip else "dead"
        self.counts[event] += 1
        log.log(
            logging.WARNING if skip else logging.ERROR,
            "job %s %s id=%s%s fails=%d error=%s%s",
            event,
            job.handler,
            job.id,
            ran,
            job.fails,
            reason,
            _traceback_lines(job),
        )
        call_hook(self.pm, "jobplug_job_dead", job=job, error=error)
        if skip:
            self._acks.append(delivery)
            self._ack_ready.set()
        else:
            await self._guard("bury", self.broker.bury(delivery))

    # -- acks ------------------------------------------------------------------------
    async def _flush_acks(self) -> None:
        while not self._acks_closing:
            await self._ack_ready.wait()
            self._ack_ready.clear()
            await self.flush()

    async def flush(self) -> None:
        if not self._acks:
            return
        batch, self._acks = self._acks, []
        await self._guard("ack", self.broker.ack(batch))

    async def _guard(self, what: str, op: Any) -> None:
        """Run a broker write; on failure log it: the broker recovers the job (at-least-once)."""
        try:
            await op
        except BrokerError as exc:
            log.error("broker %s failed: %s; the job will be recovered by the broker", what, exc)


def _traceback_lines(job: Job) -> str:
    """The failed/dead log line's tail: the job's kept traceback on the lines below."""
    return f"\n{job.last_traceback}" if job.last_traceback else ""


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it, cancelling again if a broker's await swallowed it
    (``asyncio.wait_for`` can, before Python 3.12)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.05)
    if not task.cancelled() and task.exception() is not None:
        log.error("%s ended with %r", task.get_name(), task.exception())


async def _wait_or_force(
    tasks: set[asyncio.Task[None]], grace: float, force: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    forced = asyncio.create_task(force.wait())
    pending = {t for t in tasks if not t.done()}
    try:
        while pending and not forced.done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait(
                {*pending, forced}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
            )
            pending = {t for t in pending if not t.done()}
    finally:
        forced.cancel()
