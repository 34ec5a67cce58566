"""Delivery: at-least-once across a killed worker process, no double delivery between two
workers, routing by handler, and brokers that close and come back."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from jobplug import Capability, Job
from jobplug_contract.base import contract
from jobplug_contract.harness import Harness
from jobplug_contract.recorder import poll
from jobplug_contract.suite.lifecycle import noop


def spawn_worker(h: Harness, handler: str, marker: Path, errors: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    with errors.open("wb") as err_file:  # Popen keeps its own copy of the descriptor
        return spawn(h, handler, marker, env, err_file)


def spawn(
    h: Harness, handler: str, marker: Path, env: dict[str, str], err_file: Any
) -> subprocess.Popen[bytes]:
    cls = h.broker_class
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobplug_contract.child",
            "--broker-class",
            f"{cls.__module__}:{cls.__qualname__}",
            "--url",
            h.url,
            "--handler",
            handler,
            "--marker",
            str(marker),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=err_file,
    )


class DeliveryContract:
    @contract(Capability.DURABLE, timeout=120)
    async def test_job_survives_worker_killed_mid_job(self, h: Harness) -> None:
        name = h.name("kill9")
        producer = h.worker("producer")
        job = Job(name, {"token": "survivor"})
        with tempfile.TemporaryDirectory() as tmp:
            marker, errors = Path(tmp) / "started", Path(tmp) / "stderr"
            child = spawn_worker(h, name, marker, errors)
            try:
                await producer.perform(job)

                async def started() -> bool:
                    if child.poll() is not None:
                        err = errors.read_text(errors="replace")
                        raise AssertionError(f"worker process exited early:\n{err[-2000:]}")
                    return marker.exists() and marker.read_text().strip() != ""

                await poll(started, 30, "the worker process to start the job")
                child.send_signal(signal.SIGKILL)
                await asyncio.to_thread(child.wait, 10)
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait(10)
        await producer.stop()
        worker = h.worker("rescuer")
        worker.register(name, noop)
        async with worker:
            await h.recorder.wait(
                lambda: bool(h.recorder.finished(name)),
                h.setup.redelivery_timeout + 5,
                "the killed worker's job to be handed out again",
            )
        run = h.recorder.of(name)[0]
        assert (run.job_id, run.args) == (job.id, {"token": "survivor"})

    @contract()
    async def test_two_workers_never_run_one_job_twice(self, h: Harness) -> None:
        name = h.name("shared")
        count = 120

        async def work(args: dict[str, Any]) -> None:
            await asyncio.sleep((args["token"] % 4) / 1000)

        first, second = h.worker("a", concurrency=4), h.worker("b", concurrency=4)
        for worker in (first, second):
            worker.register(name, work)
        await first.start()
        await second.start()
        # A producer of its own that comes and goes while the workers run: its stop()
        # closes only its own connection, never the workers' subscriptions.
        producer = h.worker("producer")
        await producer.perform_many([Job(name, {"token": i}) for i in range(count // 2)])
        await producer.stop()
        await first.perform_many([Job(name, {"token": i}) for i in range(count // 2, count)])
        await h.recorder.wait(
            lambda: len({r.args["token"] for r in h.recorder.finished(name)}) == count,
            h.wait * 2,
            f"{count} jobs over two workers",
        )
        await first.stop()
        await second.stop()
        tokens = h.recorder.tokens(name)
        twice = sorted({t for t in tokens if tokens.count(t) > 1})
        assert not twice, f"jobs run more than once: {twice[:10]}"
        workers = {r.worker for r in h.recorder.of(name)}
        assert workers, "no job ran"

    @contract()
    async def test_worker_only_receives_its_own_handlers(self, h: Harness) -> None:
        mine, other = h.name("mine"), h.name("other")
        worker = h.worker("mine")
        worker.register(mine, noop)
        await worker.perform(Job(other, {"token": "other"}))
        await worker.perform(Job(mine, {"token": "mine"}))
        async with worker:
            await h.recorder.wait(lambda: bool(h.recorder.finished(mine)), h.wait, "own job")
        assert not h.recorder.of(other), "ran a job of a handler it did not register"
        assert not h.recorder.dead, "a job of another handler was dead-lettered"
        helper = h.worker("other")
        helper.register(other, noop)
        async with helper:
            await h.recorder.wait(
                lambda: bool(h.recorder.finished(other)), h.wait, "the other handler's job, kept"
            )

    @contract()
    async def test_close_is_idempotent_and_a_new_broker_sees_the_jobs(self, h: Harness) -> None:
        name = h.name("reopen")
        producer = h.worker("producer")
        await producer.perform_many([Job(name, {"token": i}) for i in range(3)])
        await producer.stop()
        await producer.broker.close()  # again: closing twice is harmless
        broker = h.broker()
        await broker.connect()
        await broker.close()
        await broker.close()
        worker = h.worker()
        worker.register(name, noop)
        async with worker:
            await h.recorder.wait(
                lambda: sorted(h.recorder.tokens(name)) == [0, 1, 2], h.wait, "the three jobs"
            )
