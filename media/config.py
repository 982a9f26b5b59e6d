"""The settings media/ owns: `[calls]` (the timer) and `[media]` (ICE addresses)."""

from __future__ import annotations

import ipaddress
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

    @property
    def udp_ports(self) -> tuple[int, int] | None:
        return (self.udp_port_min, self.udp_port_max) if self.udp_port_min else None

    def __post_init__(self) -> None:
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
