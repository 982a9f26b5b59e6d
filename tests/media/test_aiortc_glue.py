"""Pins the aiortc and aioice internals media/aiortc_glue.py relies on.

When an upgrade changes one of these, this fails with the name of what changed: re-read it
against media/aiortc_glue.py, adapt the glue, then update the fingerprint here.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

import aioice.ice
import aiortc
import pytest
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter
from aiortc.rtp import HeaderExtensionsMap

from media.aiortc_glue import ForwardingReceiver, ForwardingSender, adopt_receiver, adopt_sender
from tests.support.media import NO_ICE_SERVERS

# What the glue copies, replaces or reaches into, and a fingerprint of its source.
PINNED: dict[str, tuple[Any, str]] = {
    "RTCRtpReceiver.__init__": (RTCRtpReceiver.__init__, "3e3b7b5c"),
    "RTCRtpReceiver.receive": (RTCRtpReceiver.receive, "d6d8d8d7"),
    "RTCRtpReceiver._handle_rtp_packet": (RTCRtpReceiver._handle_rtp_packet, "4e54983d"),
    "RTCRtpReceiver._send_rtcp_pli": (RTCRtpReceiver._send_rtcp_pli, "ae74c43d"),
    "RTCRtpReceiver._send_rtcp_nack": (RTCRtpReceiver._send_rtcp_nack, "5735e597"),
    "RTCRtpReceiver._send_rtcp": (RTCRtpReceiver._send_rtcp, "9f0bc9f6"),
    "RTCRtpSender.__init__": (RTCRtpSender.__init__, "beb1bc0a"),
    "RTCRtpSender.send": (RTCRtpSender.send, "3969482b"),
    "RTCRtpSender.stop": (RTCRtpSender.stop, "38c1e92b"),
    "RTCRtpSender._retransmit": (RTCRtpSender._retransmit, "ae0b2491"),
    "RTCRtpSender._run_rtcp": (RTCRtpSender._run_rtcp, "51e0a924"),
    "RTCRtpSender._handle_rtcp_packet": (RTCRtpSender._handle_rtcp_packet, "a4ee4c73"),
    "RTCDtlsTransport._recv_next": (RTCDtlsTransport._recv_next, "99807672"),
    "RTCDtlsTransport._send_rtp": (RTCDtlsTransport._send_rtp, "763b02bc"),
    "RTCDtlsTransport.state": (RTCDtlsTransport.state.fget, "99091eac"),
    "RtpRouter.route_rtp": (RtpRouter.route_rtp, "e4bcc08d"),
    "HeaderExtensionsMap.set": (HeaderExtensionsMap.set, "55c43cd8"),
    "Vp8Encoder._packetize": (Vp8Encoder._packetize, "03f61a0f"),
    "aioice Connection.data_received": (aioice.ice.Connection.data_received, "5631b17f"),
    "aioice Connection.sendto": (aioice.ice.Connection.sendto, "bf162ec0"),
    "aioice Connection.gather_candidates": (aioice.ice.Connection.gather_candidates, "d33db28d"),
    "aioice Connection.get_component_candidates": (
        aioice.ice.Connection.get_component_candidates,
        "118597a9",
    ),
    "aioice StunProtocol.send_data": (aioice.ice.StunProtocol.send_data, "8bfbce07"),
    "aioice StunProtocol.datagram_received": (
        aioice.ice.StunProtocol.datagram_received,
        "ff4c8b91",
    ),
}


def fingerprint(function: Any) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:8]


def test_pinned_versions() -> None:
    assert aiortc.__version__.startswith("1.16.")
    assert aioice.__version__.startswith("0.13.")


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_internals_are_unchanged(name: str) -> None:
    function, expected = PINNED[name]
    assert fingerprint(function) == expected, (
        f"{name} changed in this aiortc/aioice: re-check media/aiortc_glue.py against it"
    )


async def test_the_private_attributes_the_glue_uses_exist() -> None:
    pc = RTCPeerConnection(NO_ICE_SERVERS)
    try:
        transceiver = pc.addTransceiver("video", direction="sendrecv")
        receiver = adopt_receiver(transceiver.receiver, "video", lambda frame: None)
        sender = adopt_sender(transceiver.sender, lambda: None)
        assert isinstance(receiver, ForwardingReceiver)
        assert isinstance(sender, ForwardingSender)
        for name in (
            "codecs",
            "remote_streams",
            "rtx_ssrc",
            "nack_generator",
            "jitter_buffer",
            "remote_bitrate_estimator",
            "started",
            "rtcp_task",
        ):
            assert hasattr(receiver, f"_RTCRtpReceiver__{name}"), name
        for name in (
            "started",
            "cname",
            "mid",
            "rtp_header_extensions_map",
            "rtx_payload_type",
            "rtx_sequence_number",
            "rtp_started",
            "rtp_exited",
            "rtp_task",
            "rtcp_task",
            "ntp_timestamp",
            "rtp_timestamp",
            "packet_count",
            "octet_count",
        ):
            assert hasattr(sender, f"_RTCRtpSender__{name}"), name
        dtls = transceiver.receiver.transport
        for name in (
            "_rx_srtp",
            "_tx_srtp",
            "_rtp_router",
            "_rtp_header_extensions_map",
            "_state",
        ):
            assert hasattr(dtls, name), name
        connection = dtls.transport._connection
        assert hasattr(connection, "_nominated")
        assert hasattr(connection, "get_component_candidates")
    finally:
        await pc.close()
