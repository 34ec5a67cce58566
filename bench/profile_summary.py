#!/usr/bin/env python3
"""Summarise a py-spy profile (``--format raw``: collapsed stacks) as two short tables.

    py-spy record -r 1000 --format raw -o prof.txt --subprocesses -- \\
        jobplug --log-level WARNING bench redis://127.0.0.1:6379/0?namespace=b -n 50000
    python bench/profile_summary.py prof.txt --within "benchmark worker" --within _run_once \\
        --without importlib._bootstrap

``--within`` keeps only the stacks with a frame whose text contains it; given more than
once, a stack must match every one. With ``--subprocesses`` the first frame names the
process, so the two above keep the worker process's event loop: neither the producer nor
a thread blocked on a read count. ``--without`` drops the stacks with a frame containing
it (the imports at start-up above).
Prints the functions with the most samples on top of the stack (self) and anywhere in it
(inclusive), as a share of the samples kept.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

_LINE = re.compile(r" \(([^()]*?):\d+\)$")


def frame_name(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file.py)``: lines of one function merge."""
    match = _LINE.search(frame)
    if not match:
        return frame
    path = match.group(1)
    short = "/".join(path.split("/")[-2:])
    return f"{frame[: match.start()]} ({short})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile")
    parser.add_argument(
        "--within",
        action="append",
        default=[],
        help="keep stacks with a frame containing this (repeatable: all must match)",
    )
    parser.add_argument(
        "--without", action="append", default=[], help="drop stacks with a frame containing this"
    )
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    with open(args.profile) as fh:
        for line in fh:
            stack, _, count_text = line.rstrip("\n").rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            frames = stack.split(";")
            if not all(any(text in f for f in frames) for text in args.within):
                continue
            if any(text in f for f in frames for text in args.without):
                continue
            count = int(count_text)
            total += count
            names = [frame_name(f) for f in frames]
            own[names[-1]] += count
            for name in set(names):
                inclusive[name] += count
    if not total:
        raise SystemExit("no samples kept")
    print(f"{total} samples kept\n")
    for title, counter in (("self", own), ("inclusive", inclusive)):
        print(f"| {title} % | function |\n| ---: | --- |")
        # frames in every kept stack (the event loop, the CLI) say nothing: skip them
        ranked = [(n, c) for n, c in counter.most_common() if title == "self" or c < total]
        for name, count in ranked[: args.top]:
            print(f"| {100 * count / total:.1f} | `{name}` |")
        print()


if __name__ == "__main__":
    main()
