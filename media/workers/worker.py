"""A media worker process: `python -m media.workers.worker --fd N --index I --parent PID`.

It hosts rooms for the main process over the Unix socket it inherited as file descriptor N
(host.py). It never outlives the main process: it exits when the socket closes, and the kernel
sends it SIGTERM if the main process dies (PR_SET_PDEATHSIG). Ctrl+C in a terminal reaches the
whole process group; the worker ignores it and lets the main process close its rooms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys

from media.workers.host import Host
from media.workers.wire import LINE_LIMIT, Channel

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Asks the kernel for SIGTERM when the main process goes; exits if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:
        sys.exit(0)


async def run(fd: int, index: int) -> None:
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_unix_connection(sock=sock, limit=LINE_LIMIT)
    channel = Channel(reader, writer)
    host = Host(channel, index)
    loop = asyncio.get_running_loop()
    serving = loop.create_task(host.serve())
    loop.add_signal_handler(signal.SIGTERM, serving.cancel)  # close the rooms, then exit
    channel.send({"hello": index, "pid": os.getpid()})
    await channel.drain()
    with contextlib.suppress(asyncio.CancelledError):
        await serving
    channel.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m media.workers.worker")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(args.parent)
    logging.basicConfig(
        level=args.log_level,
        format=f"%(asctime)s %(levelname)s %(name)s [worker {args.index}]: %(message)s",
    )
    asyncio.run(run(args.fd, args.index))


if __name__ == "__main__":
    main()
