"""A real worker process for the kill -9 test: ``python worker_process.py URL DIR MODE``.

Handler ``slow`` writes ``DIR/started-<pid>`` with the job id; in mode ``hang`` it then
never returns (the test kills the process), in mode ``finish`` it writes
``DIR/done-<pid>`` and returns.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from jobplug import Job, Worker


def main() -> None:
    url, directory, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    worker = Worker(url=url, concurrency=2, load_plugins=False, fetch_timeout=0.2)

    async def slow(job: Job, call_next: Any) -> Any:
        (directory / f"started-{os.getpid()}").write_text(job.id)
        if mode == "hang":
            await asyncio.Event().wait()
        result = await call_next(job)
        (directory / f"done-{os.getpid()}").write_text(job.id)
        return result

    worker.use(slow)
    worker.register("slow", lambda args: None)
    (directory / f"ready-{os.getpid()}").write_text("")
    worker.run()


if __name__ == "__main__":
    main()
