"""A private network namespace for the servers, joined to this one by a veth pair.

Janus's ICE library (libnice) ignores the loopback interface, so the bench runs both SFUs
inside a namespace of its own and the aiortc clients outside it, all traffic on the veth pair:
the same network path for every server. Needs root (`ip netns`); the namespace and its veth
pair are removed afterwards, on an error or Ctrl-C too, and a namespace left by a killed run is
removed by the next one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PREFIX = "mmbench-"
SUBNET = "10.201.0"  # a /24 nobody routes: the outer end is .1, the inner one .2


@dataclass(frozen=True)
class Netns:
    name: str
    outer: str  # the clients' address, in this namespace
    inner: str  # the servers' address, inside
    inner_link: str  # the inner veth's name (Janus's ICE enforce list)

    def wrap(self, args: list[str]) -> list[str]:
        """`args` run inside the namespace (`ip netns exec` execs them: the pid stays)."""
        return ["ip", "netns", "exec", self.name, *args]


def unavailable() -> str | None:
    """Why no namespace can be made here, or None."""
    if os.geteuid() != 0:
        return "not root"
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2)"
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def remove_stale() -> None:
    """Deletes namespaces of earlier runs whose process is gone (a run killed with -9)."""
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(PREFIX):
            continue
        pid = name.removeprefix(PREFIX)
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            _ip("netns", "delete", name, check=False)


@contextmanager
def private_network() -> Iterator[Netns]:
    """A fresh namespace with lo up and a veth pair, SUBNET.1 outside and SUBNET.2 inside."""
    remove_stale()
    pid = os.getpid()
    ns = Netns(f"{PREFIX}{pid}", f"{SUBNET}.1", f"{SUBNET}.2", f"mmb{pid}i")
    outer_link = f"mmb{pid}o"
    if f" {ns.outer}/" in _ip("-o", "addr", "show").stdout:
        raise RuntimeError(f"{ns.outer} is in use here already (another bench running?)")
    try:
        try:
            _ip("netns", "add", ns.name)
            _ip("link", "add", outer_link, "type", "veth", "peer", "name", ns.inner_link)
            _ip("link", "set", ns.inner_link, "netns", ns.name)
            _ip("addr", "add", f"{ns.outer}/24", "dev", outer_link)
            _ip("link", "set", outer_link, "up")
            inside = ("-n", ns.name)
            _ip(*inside, "addr", "add", f"{ns.inner}/24", "dev", ns.inner_link)
            _ip(*inside, "link", "set", ns.inner_link, "up")
            _ip(*inside, "link", "set", "lo", "up")
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"{' '.join(exc.cmd)}: {exc.stderr.strip()}") from None
        yield ns
    finally:
        _ip("link", "delete", outer_link, check=False)  # takes its peer along
        _ip("netns", "delete", ns.name, check=False)
