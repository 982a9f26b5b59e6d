"""Checks on what browsers send (offers, candidates) and edits to what the server answers."""

from __future__ import annotations

import ipaddress
import re

from aiortc import RTCIceCandidate
from aiortc.sdp import SessionDescription, candidate_from_sdp

MAX_SDP_BYTES = 32 * 1024
MAX_CANDIDATE_BYTES = 1024


class SdpError(ValueError):
    """The offer or candidate is not one this server accepts; the message says why."""


def check_offer(sdp: str) -> SessionDescription:
    """Parses an offer: real SDP, at most one audio and one video section, nothing else."""
    if len(sdp.encode()) > MAX_SDP_BYTES:
        raise SdpError(f"the offer is larger than {MAX_SDP_BYTES} bytes")
    if not sdp.startswith("v=0"):
        raise SdpError("the offer is not SDP (it must start with v=0)")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc raises assorted errors on malformed lines
        raise SdpError(f"the offer could not be parsed: {exc.__class__.__name__}") from None
    kinds = [media.kind for media in parsed.media]
    if not kinds:
        raise SdpError("the offer has no media")
    if any(kind not in ("audio", "video") for kind in kinds):
        raise SdpError("the offer may contain only audio and video")
    if kinds.count("audio") > 1 or kinds.count("video") > 1:
        raise SdpError("the offer may contain one audio and one video section")
    mids: set[str] = set()
    for media in parsed.media:
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise SdpError(f"the {media.kind} section lacks ICE credentials")
        if media.dtls is None or not media.dtls.fingerprints:
            raise SdpError(f"the {media.kind} section lacks a DTLS fingerprint")
        if media.direction != "sendrecv":
            raise SdpError(f"the {media.kind} section must be sendrecv")
        if media.port == 0:
            raise SdpError(f"the {media.kind} section is rejected (port 0)")
        mid = media.rtp.muxId
        if not mid:
            raise SdpError(f"the {media.kind} section lacks a=mid")
        if mid in mids:
            raise SdpError(f"two sections share a=mid:{mid[:32]}")
        mids.add(mid)
    for group in parsed.group:
        if group.semantic == "BUNDLE" and set(map(str, group.items)) != mids:
            raise SdpError("the BUNDLE group must name every section's a=mid, and only those")
    return parsed


def parse_candidate(
    candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
) -> RTCIceCandidate:
    """A browser's trickled `candidate:...` line as aiortc's RTCIceCandidate."""
    if len(candidate) > MAX_CANDIDATE_BYTES:
        raise SdpError("the candidate is too long")
    if sdp_mid is None and sdp_mline_index is None:
        raise SdpError("the candidate needs sdpMid or sdpMLineIndex")
    text = candidate.removeprefix("a=").removeprefix("candidate:")
    try:
        parsed = candidate_from_sdp(text)
    except Exception:
        raise SdpError("the candidate could not be parsed") from None
    parsed.sdpMid = sdp_mid
    parsed.sdpMLineIndex = sdp_mline_index
    return parsed


_HOST_CANDIDATE = re.compile(
    r"^a=candidate:(\S+) (\d+) (udp|tcp) (\d+) (\S+) (\d+) typ host(.*)$", re.IGNORECASE
)


def announce_public_ip(sdp: str, public_ip: str) -> str:
    """Adds, after each IPv4 host candidate, the same port on `public_ip` (a 1:1 NAT's address).

    The private candidate stays for clients on the campus network; the public one, at a lower
    priority, is what clients outside reach.
    """
    if not public_ip:
        return sdp
    family = ipaddress.ip_address(public_ip).version
    lines = []
    for line in sdp.split("\r\n"):
        lines.append(line)
        match = _HOST_CANDIDATE.match(line)
        if match is None:
            continue
        foundation, component, transport, priority, address, port, rest = match.groups()
        try:
            if ipaddress.ip_address(address).version != family or address == public_ip:
                continue
        except ValueError:
            continue
        lines.append(
            f"a=candidate:{foundation}p {component} {transport} {int(priority) - 1} "
            f"{public_ip} {port} typ host{rest}"
        )
    return "\r\n".join(lines)
