"""Just enough RTP parsing for forwarding (RFC 3550, RFC 7741), without aiortc's objects.

aiortc's RtpPacket.parse decodes every header extension into objects; a forwarder needs the
fixed header, where the payload starts, and in a VP8 payload descriptor whether a packet starts
a keyframe and where its picture id is. Bad packets give None (or False), never an exception.
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


def vp8_descriptor_length(payload: bytes) -> int:
    """How many bytes the VP8 payload descriptor takes (RFC 7741 4.2); 0 when malformed."""
    if not payload:
        return 0
    position = 1
    if payload[0] & 0x80:  # X: an extension byte follows
        if len(payload) < 2:
            return 0
        extension = payload[1]
        position = 2
        if extension & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= position:
                return 0
            position += 2 if payload[position] & 0x80 else 1
        if extension & 0x40:  # L: TL0PICIDX
            position += 1
        if extension & 0x30:  # T or K: TID/Y/KEYIDX
            position += 1
    return position if position <= len(payload) else 0


def vp8_payload(payload: bytes) -> bytes:
    """The VP8 data after the payload descriptor (RFC 7741 4.2); b"" when malformed."""
    position = vp8_descriptor_length(payload)
    return payload[position:] if position else b""


def vp8_starts_keyframe(payload: bytes) -> bool:
    """The packet begins a VP8 key frame: S set, partition 0, and the frame tag's P bit 0
    (RFC 7741 4.2, RFC 6386 9.1)."""
    if not payload or payload[0] & 0x17 != 0x10:
        return False
    position = vp8_descriptor_length(payload)
    return 0 < position < len(payload) and payload[position] & 0x01 == 0


def vp8_picture_id(payload: bytes) -> tuple[int, int] | None:
    """The picture id and its width in bits (7 or 15), or None when the packet has none."""
    if len(payload) < 3 or not payload[0] & 0x80 or not payload[1] & 0x80:
        return None
    if payload[2] & 0x80:
        if len(payload) < 4:
            return None
        return (payload[2] & 0x7F) << 8 | payload[3], 15
    return payload[2], 7


def with_picture_id(payload: bytes, picture_id: int, bits: int) -> bytes:
    """`payload` with its picture id replaced (same width); call only where vp8_picture_id
    found one."""
    if bits == 15:
        return payload[:2] + bytes((0x80 | picture_id >> 8 & 0x7F, picture_id & 0xFF)) + payload[4:]
    return payload[:2] + bytes((picture_id & 0x7F,)) + payload[3:]
