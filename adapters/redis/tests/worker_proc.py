"""A real worker process for the crash tests: ``python worker_proc.py URL MODE``.

Prints ``READY`` once consuming and ``STARTED <n>`` when the ``slow`` job starts; then the
job sleeps (MODE ``sleep``) or the process kills itself with SIGKILL (MODE ``poison``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

from jobplug import Worker


async def main(url: str, mode: str) -> None:
    worker = Worker(url=url, concurrency=2, load_plugins=False)

    @worker.handler("slow")
    async def slow(args: dict[str, Any]) -> None:
        print("STARTED", args.get("n"), flush=True)
        if mode == "poison":
            os.kill(os.getpid(), signal.SIGKILL)
        await asyncio.sleep(3600)

    await worker.start()
    print("READY", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
