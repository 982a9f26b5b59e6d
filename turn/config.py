"""The settings turn/ owns: `[turn]`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TurnSettings:
    enabled: bool = False
    host: str = ""
    port: int = field(default=3478, metadata={"min": 1, "max": 65535})
    tls_port: int = field(default=0, metadata={"min": 0, "max": 65535})
    secret: str = ""
    ttl_seconds: int = field(default=3600, metadata={"min": 60})
    realm: str = "micromentor"
    cert_file: str = ""
    key_file: str = ""
    relay_port_min: int = field(default=49160, metadata={"min": 1024, "max": 65535})
    relay_port_max: int = field(default=49999, metadata={"min": 1024, "max": 65535})
    user_quota: int = field(default=12, metadata={"min": 1})
    total_quota: int = field(default=1200, metadata={"min": 1})
    max_bps: int = field(default=3_000_000, metadata={"min": 0})
    sfu_relay: bool = False

    def __post_init__(self) -> None:
        if self.enabled and not self.host:
            raise ValueError("host: the address browsers reach coturn at is required")
        if self.tls_port and not (self.cert_file and self.key_file):
            raise ValueError("tls_port: TLS needs cert_file and key_file")
        if self.relay_port_min > self.relay_port_max:
            raise ValueError("relay_port_min: must not be above relay_port_max")
