"""The settings media/ owns: `[calls]` (the timer), `[media]` (ICE addresses, weak networks) and
`[recording]`."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CallSettings:
    duration_seconds: int = field(default=600, metadata={"min": 1})
    warning_seconds: int = field(default=60, metadata={"min": 0})
    grace_seconds: int = field(default=300, metadata={"min": 0})
    min_completed_seconds: int = field(default=60, metadata={"min": 0})

    def __post_init__(self) -> None:
        if self.warning_seconds >= self.duration_seconds:
            raise ValueError("warning_seconds: must be less than duration_seconds")


@dataclass(frozen=True)
class MediaSettings:
    public_ip: str = ""
    ice_addresses: tuple[str, ...] = ()
    udp_port_min: int = field(default=0, metadata={"min": 0, "max": 65535})
    udp_port_max: int = field(default=0, metadata={"min": 0, "max": 65535})
    # Below this receive estimate (kbit/s) a subscriber gets audio only until it recovers.
    audio_only_below_kbps: int = field(default=150, metadata={"min": 0, "max": 100000})
    # Media worker processes (media/workers/): -1 one per core, 0 none (media in the main
    # process), or how many.
    workers: int = field(default=-1, metadata={"max": 1024})

    @property
    def udp_ports(self) -> tuple[int, int] | None:
        return (self.udp_port_min, self.udp_port_max) if self.udp_port_min else None

    @property
    def worker_count(self) -> int:
        """How many media workers to run: `workers`, with -1 as the cores this process may
        use; 0 keeps the media in the main process."""
        return len(os.sched_getaffinity(0)) if self.workers == -1 else self.workers

    def __post_init__(self) -> None:
        if self.workers < -1:
            raise ValueError(
                f"workers: -1 (one media worker per core), 0 (media in the main process) or "
                f"a number of worker processes, got {self.workers}"
            )
        if bool(self.udp_port_min) != bool(self.udp_port_max) or (
            self.udp_port_min > self.udp_port_max
        ):
            raise ValueError(
                "udp_port_min: set udp_port_min <= udp_port_max together (or both 0 for any)"
            )
        for name, values in (
            ("public_ip", (self.public_ip,)),
            ("ice_addresses", self.ice_addresses),
        ):
            for value in values:
                if not value:
                    continue
                try:
                    ipaddress.ip_address(value)
                except ValueError:
                    raise ValueError(f"{name}: {value!r} is not an IP address") from None


@dataclass(frozen=True)
class RecordingSettings:
    # Where recordings are written; a relative path is under [server] data_dir.
    directory: str = "recordings"
    retention_days: int = field(default=30, metadata={"min": 1, "max": 3650})
    min_free_mb: int = field(default=500, metadata={"min": 0})

    def __post_init__(self) -> None:
        if not self.directory:
            raise ValueError("directory: must not be empty")
