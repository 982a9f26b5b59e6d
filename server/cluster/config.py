"""[cluster]: this node's name and address among the nodes sharing one database."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClusterSettings:
    # This node's name among those sharing the database; empty: the machine's host name.
    node_name: str = ""
    # Where pages reach this node's call sockets (scheme://host[:port]); empty: the public URL.
    node_url: str = ""
    # A node whose heartbeat is older than this is dead: its calls move on the next join.
    node_timeout_seconds: int = field(default=15, metadata={"min": 3, "max": 600})

    @property
    def name(self) -> str:
        return self.node_name or socket.gethostname()
