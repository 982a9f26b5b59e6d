"""Just enough RTP parsing for forwarding (RFC 3550, RFC 7741), without aiortc's objects.

aiortc's RtpPacket.parse decodes every header extension into objects; a forwarder needs the
fixed header and where the payload starts. Bad packets give None, never an exception.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_HEADER = struct.Struct("!BBHII")
_EXTENSION = struct.Struct("!HH")


@dataclass(slots=True)
class LeanPacket:
    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    marker: int
    payload: bytes
    _data: bytes = b""  # the payload without its codec descriptor (aiortc's name for it)


def is_rtcp(data: bytes) -> bool:
    """RTCP packet types 192-208 sit where RTP has marker and payload type (RFC 5761)."""
    return len(data) >= 2 and 192 <= data[1] <= 208


def parse_rtp(data: bytes) -> LeanPacket | None:
    if len(data) < 12:
        return None
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2:
        return None
    position = 12 + 4 * (first & 0x0F)
    if first & 0x10:  # header extension
        if len(data) < position + 4:
            return None
        _profile, words = _EXTENSION.unpack_from(data, position)
        position += 4 + 4 * words
    end = len(data)
    if first & 0x20:  # padding: the last byte says how much
        end -= data[-1]
    if position > end:
        return None
    return LeanPacket(second & 0x7F, sequence, timestamp, ssrc, second >> 7, data[position:end])


def vp8_payload(payload: bytes) -> bytes:
    """The VP8 data after the payload descriptor (RFC 7741 4.2); b"" when malformed."""
    if not payload:
        return b""
    position = 1
    if payload[0] & 0x80:  # X: an extension byte follows
        if len(payload) < 2:
            return b""
        extension = payload[1]
        position = 2
        if extension & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= position:
                return b""
            position += 2 if payload[position] & 0x80 else 1
        if extension & 0x40:  # L: TL0PICIDX
            position += 1
        if extension & 0x30:  # T or K: TID/Y/KEYIDX
            position += 1
    return payload[position:] if position <= len(payload) else b""
