"""A worker in another process: ``python -m jobplug_contract.child``.

The cross-process tests (kill -9 mid-job, pause and max-concurrency held in every
process) run one. It serves the handlers it is given and appends one JSON line per event
to ``--events``: ``ready`` once consuming, then ``start``/``end`` for each job with the wall
clock. A job's args steer it: ``{"hang": true}`` never finishes (until the process is
killed), ``{"sleep": s}`` takes ``s`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import time
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


class Events:
    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def write(self, event: str, **fields: Any) -> None:
        line = json.dumps({"event": event, "t": time.time(), **fields}) + "\n"
        with self.path.open("a", encoding="utf-8") as out:  # one short line: atomic enough
            out.write(line)


async def serve(ns: argparse.Namespace) -> None:
    broker = load_class(ns.broker_class).from_url(ns.url) if ns.broker_class else None
    worker = Worker(
        broker, url=ns.url, load_plugins=False, fetch_timeout=0.2, concurrency=ns.concurrency
    )
    events = Events(ns.events)

    def make(name: str) -> Any:
        async def run(args: dict[str, Any]) -> None:
            events.write("start", handler=name, token=args.get("token"))
            if args.get("hang"):
                await asyncio.Event().wait()
            await asyncio.sleep(float(args.get("sleep", 0)))
            events.write("end", handler=name, token=args.get("token"))

        return run

    for name in ns.handler:
        worker.register(name, make(name), max_concurrency=ns.max_concurrency)
    await worker.start()
    events.write("ready")
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker-class", default="")
    parser.add_argument("--url", required=True)
    parser.add_argument("--handler", action="append", required=True)
    parser.add_argument("--events", required=True)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--max-concurrency", type=int, default=0)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
