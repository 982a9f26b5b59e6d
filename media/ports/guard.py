"""The first look at every datagram that reaches one of the SFU's host sockets.

Anyone who can reach a media port can send it anything, so each datagram is told by its first
byte (RFC 7983) and its source address before anything parses it, and what cannot be part of a
call is dropped and counted by reason:

- 0-3, STUN: only a binding request for this peer connection (its attributes hold together,
  the USERNAME starts with our ufrag, a MESSAGE-INTEGRITY is there for aioice to check) or a
  response to a transaction aioice has open. Anything else would only make aioice answer a
  stranger with an error (a reflection). Then aioice's parser and handler run behind a guard:
  aioice 0.13 raises `struct.error` out of `stun.parse_message` on some malformed attributes
  (a 4-byte ICE-CONTROLLING), which asyncio would log with a traceback per datagram.
- 20-63, DTLS: only from an address ICE is checking or has chosen.
- 128-191, RTP and RTCP: only from the address ICE chose; then SRTP authenticates it (the
  media path counts what fails there: media/aiortc_glue.py).
- anything else: dropped at once.

Nothing is logged per datagram: one summary line at most every SUMMARY_SECONDS, and none for
late STUN responses and keepalive indications, which ICE produces itself.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

log = logging.getLogger("micromentor.media.ports")
SUMMARY_SECONDS = 60.0
STUN_MAGIC = b"\x21\x12\xa4\x42"
REASONS = (
    "unknown_protocol",  # first byte of no protocol a call uses
    "stun_malformed",  # STUN whose header or attributes do not hold together
    "stun_unexpected",  # well-formed STUN, but no binding request for this connection
    "stun_late_response",  # a response to no open transaction (a retransmission's, or a stray)
    "stun_keepalive",  # a binding indication: the other side keeping its NAT binding open
    "dtls_unknown_source",  # DTLS from an address ICE has never seen
    "media_unknown_source",  # RTP or RTCP from an address other than ICE's choice
    "srtp_rejected",  # failed SRTP authentication (forged, replayed or mangled)
    "rtp_malformed",  # authenticated, but not RTP that parses
    "rtcp_malformed",  # authenticated, but RTCP that aiortc cannot parse or handle
    "unknown_ssrc",  # authenticated RTP of no stream the peer connection negotiated
)


# Counted, never logged: ICE makes them itself.
QUIET = frozenset({"stun_late_response", "stun_keepalive"})


class Dropped:
    """What the ports of this process dropped, by reason, and its summary log line."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._since_summary: Counter[str] = Counter()
        self._summary_at = -SUMMARY_SECONDS  # the first drop is told at once

    def add(self, reason: str) -> None:
        self.counts[reason] += 1
        if reason in QUIET:
            return
        self._since_summary[reason] += 1
        now = time.monotonic()
        if now - self._summary_at >= SUMMARY_SECONDS:
            self._summary_at = now
            total = sum(self._since_summary.values())
            reasons = ", ".join(f"{r} {n}" for r, n in self._since_summary.most_common())
            log.warning(
                "media ports: dropped %d datagram(s) since the last summary (%s); "
                "next summary in %.0f s at the earliest",
                total,
                reasons,
                SUMMARY_SECONDS,
            )
            self._since_summary.clear()


DROPPED = Dropped()  # this process's ports (a media worker reports its own)


def stun_header_holds(data: bytes) -> bool:
    """The fixed STUN header is consistent with the datagram (RFC 8489 5)."""
    return (
        len(data) >= 20
        and data[4:8] == STUN_MAGIC
        and int.from_bytes(data[2:4], "big") == len(data) - 20
        and data[3] & 0x03 == 0
    )


BINDING_REQUEST = b"\x00\x01"
BINDING_INDICATION = b"\x00\x11"  # a keepalive (RFC 8445 11): nothing to answer
RESPONSES = (b"\x01\x01", b"\x01\x11")  # binding success and error
USERNAME, MESSAGE_INTEGRITY = 0x0006, 0x0008
# Attributes of a fixed size (RFC 8489 14, RFC 8445 16.1): a mismatch is malformed.
FIXED_SIZES = {0x0008: 20, 0x8028: 4, 0x0024: 4, 0x0025: 0, 0x8029: 8, 0x802A: 8}


def stun_drop_reason(data: bytes, username: bytes, transactions: Any) -> str | None:
    """Why a STUN datagram (first byte 0-3) should not reach aioice, or None. `username`: our
    ufrag and a colon, as a binding request's USERNAME starts."""
    if not stun_header_holds(data):
        return "stun_malformed"
    kind = data[0:2]
    if kind in RESPONSES:
        return None if data[8:20] in transactions else "stun_late_response"
    if kind == BINDING_INDICATION:
        return "stun_keepalive"
    if kind != BINDING_REQUEST:
        return "stun_unexpected"
    position, end = 20, len(data)
    named = signed = False
    while position < end:
        if position + 4 > end:
            return "stun_malformed"
        attribute = int.from_bytes(data[position : position + 2], "big")
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        value = position + 4
        if value + length > end or FIXED_SIZES.get(attribute, length) != length:
            return "stun_malformed"
        if attribute == USERNAME:
            named = data[value : value + length].startswith(username)
        elif attribute == MESSAGE_INTEGRITY:
            signed = True
        position = value + (length + 3) // 4 * 4
    return None if named and signed else "stun_unexpected"


def guard_socket(
    protocol: Any,
    connection: Any,
    media: Callable[[bytes, int], None],
    dropped: Dropped = DROPPED,
) -> None:
    """Puts the first look in front of `protocol` (an aioice StunProtocol on a host socket).
    `media`: where DTLS, RTP and RTCP from the right address go (the fast path's hook)."""
    stock = protocol.datagram_received
    component = protocol.local_candidate.component
    nominated = connection._nominated
    check_list = connection._check_list
    username = connection.local_username.encode() + b":"
    transactions = protocol.transactions

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        first = data[0] if data else 255
        if 127 < first < 192:
            pair = nominated.get(component)
            if (
                pair is not None
                and pair.remote_addr[1] == addr[1]
                and (pair.remote_addr[0] == addr[0])
            ):
                media(data, component)
            else:
                dropped.add("media_unknown_source")
        elif first < 4:
            reason = stun_drop_reason(data, username, transactions)
            if reason is not None:
                dropped.add(reason)
                return
            try:
                stock(data, addr)
            except Exception:  # aioice's parser or handler on a malformed attribute
                dropped.add("stun_malformed")
        elif 19 < first < 64:
            if any(p.remote_addr[1] == addr[1] and p.remote_addr[0] == addr[0] for p in check_list):
                media(data, component)
            else:
                dropped.add("dtls_unknown_source")
        else:
            dropped.add("unknown_protocol")

    protocol.datagram_received = datagram_received
