"""The real coturn (`turnserver`) on loopback, with a config made by turn/coturn.py."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.net import free_port
from turn.config import TurnSettings
from turn.coturn import turnserver_conf
from turn.credentials import TurnCredential

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
UCLIENT = shutil.which("turnutils_uclient") or "/usr/bin/turnutils_uclient"
PEER = shutil.which("turnutils_peer") or "/usr/bin/turnutils_peer"


def free_udp_range(size: int) -> tuple[int, int]:
    """`size` consecutive UDP ports on 127.0.0.1 that are free right now."""
    for _ in range(200):
        start = free_port()
        if start + size > 65535:
            continue
        sockets = []
        try:
            for port in range(start, start + size):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return start, start + size - 1
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free UDP port range")


@contextmanager
def running_coturn(
    folder: Path, settings: TurnSettings, secret: str, *, sfu_addresses: list[str], extra: list[str]
) -> Iterator[Path]:
    """Starts turnserver with the generated config (plus `extra`); yields its log file."""
    log = folder / "turnserver.log"
    conf = folder / "turnserver.conf"
    conf.write_text(
        turnserver_conf(
            settings,
            secret,
            sfu_addresses=sfu_addresses,
            listening_ips=["127.0.0.1"],
            extra=["relay-ip=127.0.0.1", f"log-file={log}", *extra],
        )
    )
    process = subprocess.Popen(
        [TURNSERVER, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", settings.port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("turnserver did not start") from None
                time.sleep(0.05)
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def allocate(
    port: int, credential: TurnCredential, peer_address: str = "127.0.0.1"
) -> subprocess.CompletedProcess[str]:
    """coturn's own test client: allocate, bind a peer on loopback, send a few messages."""
    peer_port = free_port()
    peer = subprocess.Popen(
        [PEER, "-p", str(peer_port), "-L", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        return subprocess.run(
            [
                UCLIENT,
                "-u",
                credential.username,
                "-w",
                credential.password,
                "-p",
                str(port),
                "-n",
                "2",
                "-m",
                "1",
                "-l",
                "100",
                "-e",
                peer_address,
                "-r",
                str(peer_port),
                "-X",
                "127.0.0.1",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        peer.terminate()
        peer.wait(timeout=10)
