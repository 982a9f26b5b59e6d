"""The settings signaling/ owns: `[signaling]`."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SignalingSettings:
    token_seconds: int = field(default=120, metadata={"min": 10, "max": 3600})
    max_message_bytes: int = field(default=65536, metadata={"min": 4096, "max": 1048576})
    messages_per_second: int = field(default=50, metadata={"min": 1})
