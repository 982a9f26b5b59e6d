"""One process of the capacity bench's load generator: K 1:1 calls through micromentor.

bench/sfu.py starts several of these, so the clients' Python does not queue behind one core.
It speaks JSON lines: stdin's first line is the job ({"base", "demos", "addresses", "clips",
"timeout"}); once media flows in every call it prints {"flowing": K}. Then "start" on stdin
marks the window's start, "stop" its end, and it prints what each receiver got in the window
({"receivers": [[video fps, audio packets/s, video kbps, video fps of media time], ...],
"cpu_seconds", "seconds"});
"exit" or the end of stdin hangs up. On a failure it prints {"error": "..."}.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.peers import Counts, MicromentorCall, load_clips, rates, snapshot, wait_flowing
from bench.processes import cpu_seconds


def emit(message: dict[str, Any]) -> None:
    print(json.dumps(message), flush=True)


async def read_line() -> str:
    line: str = await asyncio.to_thread(sys.stdin.readline)
    return line.strip()


async def run(job: dict[str, Any]) -> None:
    video, audio = load_clips(Path(job["clips"]))
    addresses = tuple(job["addresses"])
    calls = [MicromentorCall(video, audio, addresses) for _ in job["demos"]]
    try:
        for call, demo in zip(calls, job["demos"], strict=True):
            await call.join(job["base"], demo)
        await wait_flowing(calls, job["timeout"], "load generator")
        emit({"flowing": len(calls)})
        start: tuple[list[Counts], float, float] | None = None
        while (command := await read_line()) in ("start", "stop"):
            now = (snapshot(calls), cpu_seconds(os.getpid()), time.monotonic())
            if command == "start":
                start = now
                continue
            assert start is not None
            wall = now[2] - start[2]
            emit(
                {
                    "receivers": rates(start[0], now[0], wall),
                    "cpu_seconds": now[1] - start[1],
                    "seconds": wall,
                }
            )
    except Exception as exc:  # reported to the bench, which counts the probe as failed
        emit({"error": f"{exc.__class__.__name__}: {exc}"})
    finally:
        for call in calls:
            await call.close()


def main() -> None:
    job = json.loads(sys.stdin.readline())
    asyncio.run(run(job))


if __name__ == "__main__":
    main()
