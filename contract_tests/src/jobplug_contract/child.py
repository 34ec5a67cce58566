"""A worker process for the at-least-once test: ``python -m jobplug_contract.child``.

It serves one handler that writes a line to a marker file when a job starts and then
never finishes, so the parent can kill the process (SIGKILL) mid-job and check that the
job is handed out again.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
from pathlib import Path
from typing import Any

from jobplug import Broker, Worker


def load_class(target: str) -> type[Broker]:
    module_name, _, qualname = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, Broker)):
        raise SystemExit(f"{target} is not a jobplug.Broker subclass")
    return obj


async def serve(broker_class: str, url: str, handler: str, marker: str) -> None:
    broker = load_class(broker_class).from_url(url) if broker_class else None
    worker = Worker(broker, url=url, load_plugins=False, fetch_timeout=0.2, concurrency=2)

    async def hang(args: dict[str, Any]) -> None:
        Path(marker).write_text(json.dumps(args) + "\n", encoding="utf-8")  # noqa: ASYNC240
        await asyncio.Event().wait()

    worker.register(handler, hang)
    await worker.start()
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker-class", default="")
    parser.add_argument("--url", required=True)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--marker", required=True)
    ns = parser.parse_args()
    asyncio.run(serve(ns.broker_class, ns.url, ns.handler, ns.marker))


if __name__ == "__main__":
    main()
