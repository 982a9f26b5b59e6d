"""The messages of the call WebSocket (docs/api.md), parsed strictly; bad input names its
problem."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from media.sdp import MAX_CANDIDATE_BYTES, MAX_SDP_BYTES

MAX_CHAT_CHARS = 1000


class ProtocolError(Exception):
    """A message the server refuses; `code` goes to the browser in an `error` message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Offer:
    sdp: str


@dataclass(frozen=True)
class Candidate:
    candidate: str
    sdp_mid: str | None
    sdp_mline_index: int | None


@dataclass(frozen=True)
class Chat:
    text: str


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class VideoSource:
    """The page switched what its video sender sends (replaceTrack): camera or screen."""

    source: Literal["camera", "screen"]


@dataclass(frozen=True)
class RecordConsent:
    """This side agrees to record the call (recording starts when both have)."""


@dataclass(frozen=True)
class RecordStop:
    """This side stops the recording; it does not restart."""


ClientMessage = Offer | Candidate | Chat | Leave | VideoSource | RecordConsent | RecordStop
FIELDS = {
    "offer": {"type", "sdp"},
    "candidate": {"type", "candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"},
    "chat": {"type", "text"},
    "leave": {"type"},
    "video_source": {"type", "source"},
    "record_consent": {"type"},
    "record_stop": {"type"},
}


def parse_message(text: str) -> ClientMessage:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(
            "bad_json", f"malformed JSON: {exc.msg} at column {exc.colno}"
        ) from None
    except RecursionError:
        raise ProtocolError("bad_json", "the JSON is nested too deeply") from None
    except ValueError:  # an integer of thousands of digits
        raise ProtocolError("bad_json", "a number in the JSON is too long") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "a message must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("bad_message", "a message needs a string field `type`")
    if kind not in FIELDS:
        raise ProtocolError("unknown_type", f"unknown message type {kind[:40]!r}")
    unknown = set(data) - FIELDS[kind]
    if unknown:
        raise ProtocolError("bad_field", f"{kind}: unknown field {sorted(unknown)[0][:40]!r}")
    if kind == "offer":
        return Offer(_text(data, "sdp", MAX_SDP_BYTES))
    if kind == "candidate":
        mline = data.get("sdpMLineIndex")
        if mline is not None and (
            not isinstance(mline, int) or isinstance(mline, bool) or not 0 <= mline < 16
        ):
            raise ProtocolError("bad_field", "candidate: sdpMLineIndex must be a small integer")
        mid = data.get("sdpMid")
        if mid is not None and (not isinstance(mid, str) or len(mid) > 32):
            raise ProtocolError("bad_field", "candidate: sdpMid must be a short string")
        text_value = _text(data, "candidate", MAX_CANDIDATE_BYTES, empty_ok=True)
        if text_value and mid is None and mline is None:
            raise ProtocolError("bad_candidate", "candidate: give sdpMid or sdpMLineIndex")
        return Candidate(text_value, mid, mline)
    if kind == "chat":
        text_value = _text(data, "text", MAX_CHAT_CHARS).strip()
        if not text_value:
            raise ProtocolError("bad_field", "chat: text must not be blank")
        return Chat(text_value)
    if kind == "video_source":
        source = data.get("source")
        if source == "camera" or source == "screen":
            return VideoSource(source)
        raise ProtocolError("bad_field", 'video_source: `source` must be "camera" or "screen"')
    if kind == "record_consent":
        return RecordConsent()
    if kind == "record_stop":
        return RecordStop()
    return Leave()


def _text(data: dict[str, Any], name: str, limit: int, *, empty_ok: bool = False) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ProtocolError("bad_field", f"{data['type']}: `{name}` must be a string")
    if len(value) > limit:
        raise ProtocolError("bad_field", f"{data['type']}: `{name}` is longer than {limit}")
    if not value and not empty_ok:
        raise ProtocolError("bad_field", f"{data['type']}: `{name}` must not be empty")
    return value
