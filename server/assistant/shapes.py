"""What the assistant's API reads (bodies) and writes (server-sent events)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from server.assistant.prompts import Kind
from server.conversations.service import MAX_MESSAGE_CHARS

# A draft longer than a message may be is cut here (max_tokens keeps it well below).
MAX_DRAFT_CHARS = MAX_MESSAGE_CHARS


@dataclass(frozen=True)
class DraftRequest:
    kind: Kind = field(
        metadata={"description": "`agenda` (before the call) or `summary` (after it)"}
    )


@dataclass(frozen=True)
class AcceptDraft:
    draft: str = field(
        metadata={
            "min_length": 1,
            "max_length": 200,
            "description": "the `draft` of the stream's `done` event",
        }
    )
    text: str = field(
        metadata={
            "min_length": 1,
            "max_length": MAX_MESSAGE_CHARS,
            "description": "the draft as the person left it (edited or not)",
        }
    )


def event(name: str, data: dict[str, Any]) -> bytes:
    """One server-sent event; the data is one line of JSON."""
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
