"""The one place that touches aiortc's private parts (aiortc 1.16, pinned in pyproject.toml).

aiortc has no public hook for encoded media, so this module:
- turns a transceiver's receiver into a `ForwardingReceiver`: RTP packets are assembled into
  encoded frames by `media.frames` and handed to a sink; no decoder thread is ever started;
- turns its sender into a `ForwardingSender`: a PLI or FIR from the far end calls back instead of
  setting a flag that only aiortc's encoder reads;
- sends a PLI upstream on request;
- restricts the host addresses aioice gathers candidates on.

tests/integration/test_aiortc_glue.py pins the private code this relies on, so an aiortc upgrade
that changes it fails loudly rather than silently decoding again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import aiortc
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters

from media.frames import AudioAssembler, FrameSink, VideoAssembler

SUPPORTED_AIORTC = "1.16."
if not aiortc.__version__.startswith(SUPPORTED_AIORTC):  # pragma: no cover - upgrade guard
    raise ImportError(
        f"media/ wraps aiortc {SUPPORTED_AIORTC}x internals; found {aiortc.__version__}. "
        "Re-check media/aiortc_glue.py against the new release before changing the pin."
    )


class ForwardingReceiver(RTCRtpReceiver):
    """An RTCRtpReceiver that forwards encoded frames instead of decoding them."""

    assembler: AudioAssembler | VideoAssembler

    async def receive(self, parameters: RTCRtpReceiveParameters) -> None:
        # RTCRtpReceiver.receive() without its decoder thread.
        if getattr(self, "_RTCRtpReceiver__started"):  # noqa: B009 (a mangled private name)
            return
        codecs = self._RTCRtpReceiver__codecs  # type: ignore[attr-defined]
        for codec in parameters.codecs:
            codecs[codec.payloadType] = codec
        rtx_ssrc = self._RTCRtpReceiver__rtx_ssrc  # type: ignore[attr-defined]
        for encoding in parameters.encodings:
            if encoding.rtx:
                rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc
        self.transport._register_rtp_receiver(self, parameters)
        self._RTCRtpReceiver__rtcp_task = asyncio.ensure_future(self._run_rtcp())
        self._RTCRtpReceiver__started = True

    async def request_keyframe(self) -> None:
        """Sends a PLI for every source this receiver heard from in the last seconds."""
        for source in self.getSynchronizationSources():
            await self._send_rtcp_pli(source.source)


def adopt_receiver(receiver: RTCRtpReceiver, kind: str, sink: FrameSink) -> ForwardingReceiver:
    """Makes `receiver` forward encoded frames to `sink`; call before negotiation starts it."""
    if receiver._RTCRtpReceiver__started:  # type: ignore[attr-defined]
        raise RuntimeError("adopt the receiver before it starts")
    receiver.__class__ = ForwardingReceiver
    assert isinstance(receiver, ForwardingReceiver)
    receiver.assembler = VideoAssembler(sink) if kind == "video" else AudioAssembler(sink)
    # _handle_rtp_packet feeds the jitter buffer and would queue its frames for the decoder
    # thread; the assembler takes the buffer's place and returns no frame, so nothing is queued.
    receiver._RTCRtpReceiver__jitter_buffer = receiver.assembler  # type: ignore[attr-defined]
    return receiver


class ForwardingSender(RTCRtpSender):
    """An RTCRtpSender whose keyframe requests (PLI/FIR from the far end) call back."""

    on_keyframe_request: Callable[[], None]

    def _send_keyframe(self) -> None:
        self.on_keyframe_request()


def adopt_sender(sender: RTCRtpSender, on_keyframe_request: Callable[[], None]) -> None:
    sender.__class__ = ForwardingSender
    assert isinstance(sender, ForwardingSender)
    sender.on_keyframe_request = on_keyframe_request


def restrict_host_addresses(pc: RTCPeerConnection, addresses: Iterable[str]) -> None:
    """Gathers host candidates only on `addresses` (all, as aioice does, when empty).

    Call after the transceivers exist and before setLocalDescription, which gathers.
    """
    chosen = list(addresses)
    if not chosen:
        return
    for connection in _ice_connections(pc):
        original = connection.get_component_candidates

        async def on_chosen(
            component: int, addresses: list[str], _original: Any = original, **kwargs: Any
        ) -> Any:
            return await _original(component=component, addresses=chosen, **kwargs)

        connection.get_component_candidates = on_chosen


def _ice_connections(pc: RTCPeerConnection) -> list[Any]:
    connections = []
    for transceiver in pc.getTransceivers():
        connection = transceiver.receiver.transport.transport.iceGatherer._connection
        if connection not in connections:
            connections.append(connection)
    return connections
