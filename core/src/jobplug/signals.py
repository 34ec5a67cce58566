"""Signal handling for :meth:`Worker.run`: the first SIGINT/SIGTERM/SIGQUIT stops gracefully,
a second one forces (running jobs are put back at once)."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobplug.worker import Worker

log = logging.getLogger("jobplug.worker")


async def serve_until_signal(worker: Worker) -> None:
    """Start ``worker``, wait for a signal, stop it; a second signal forces the stop."""
    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    signals = [signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGQUIT", None)]

    def on_signal(signum: int) -> None:
        if stop_requested.is_set():
            log.warning("second signal: putting running jobs back and exiting")
            worker.force_stop()
        else:
            log.info(
                "signal %d: stopping (waiting up to %.0fs for running jobs)", signum, worker.grace
            )
            stop_requested.set()

    installed = []
    for sig in signals:
        if sig is not None:
            try:
                loop.add_signal_handler(sig, on_signal, int(sig))
                installed.append(sig)
            except (NotImplementedError, RuntimeError):  # not the main thread / Windows
                pass
    try:
        await worker.start()
        await stop_requested.wait()
    finally:
        await worker.stop()
        for sig in installed:
            loop.remove_signal_handler(sig)
