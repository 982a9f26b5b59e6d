"""Offer checks and the public address announced for a server behind NAT."""

from __future__ import annotations

import pytest
from aiortc import RTCPeerConnection

from media.sdp import SdpError, announce_public_ip, check_offer, parse_candidate
from tests.support.media import NO_ICE_SERVERS

ANSWER = (
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "m=audio 50000 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=candidate:abc 1 udp 2130706431 10.0.0.5 50000 typ host\r\n"
    "a=candidate:def 1 udp 2130706431 fe80::1 50001 typ host\r\n"
    "a=candidate:ghi 1 udp 1694498815 1.2.3.4 50002 typ srflx raddr 10.0.0.5 rport 50000\r\n"
)


async def browser_like_offer(kinds: tuple[str, ...] = ("audio", "video")) -> str:
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    for kind in kinds:
        pc.addTransceiver(kind)
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def test_a_real_offer_passes() -> None:
    parsed = check_offer(await browser_like_offer())
    assert [m.kind for m in parsed.media] == ["audio", "video"]


@pytest.mark.parametrize(
    ("sdp", "problem"),
    [
        ("hello", "not SDP"),
        ("v=0\r\n" + "a=x\r\n" * 10000, "larger than"),
        ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "no media"),
    ],
)
def test_bad_offers_are_refused_with_a_reason(sdp: str, problem: str) -> None:
    with pytest.raises(SdpError, match=problem):
        check_offer(sdp)


async def test_offers_with_extra_sections_are_refused() -> None:
    with pytest.raises(SdpError, match="one audio and one video"):
        check_offer(await browser_like_offer(("audio", "audio", "video")))


def test_candidates_parse_or_are_refused() -> None:
    good = parse_candidate("candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host", "0", 0)
    assert (good.ip, good.port, good.sdpMid) == ("127.0.0.1", 5000, "0")
    with pytest.raises(SdpError):
        parse_candidate("candidate:nonsense", None, None)
    with pytest.raises(SdpError):
        parse_candidate("x" * 2000, None, None)


def test_public_ip_is_announced_beside_each_host_candidate_of_its_family() -> None:
    lines = announce_public_ip(ANSWER, "203.0.113.7").split("\r\n")
    assert "a=candidate:abcp 1 udp 2130706430 203.0.113.7 50000 typ host" in lines
    assert "a=candidate:abc 1 udp 2130706431 10.0.0.5 50000 typ host" in lines  # kept
    assert sum("203.0.113.7" in line for line in lines) == 1  # not for IPv6 nor srflx
    assert announce_public_ip(ANSWER, "") == ANSWER
