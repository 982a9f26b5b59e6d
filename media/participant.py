"""A Participant is the mentor or the mentee in a room: one RTCPeerConnection, sendrecv.

A participant does not know the Room class: it reports what its browser sends to a
ParticipantHost (the Room is one), so the dependency runs one way, room -> participant -> stats.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)

from media.aiortc_glue import (
    ForwardingReceiver,
    PortsExhausted,
    adopt_receiver,
    adopt_sender,
    install_fast_receive,
    restrict_host_addresses,
)
from media.events import Role
from media.forwarder import Forwarder
from media.frames import AudioAssembler, EncodedFrame, VideoAssembler
from media.rtp import LeanPacket
from media.sdp import SdpError, announce_public_ip, check_offer, parse_candidate
from media.stats import CLOCK_RATES, MediaCounts, StreamQuality

log = logging.getLogger("micromentor.media")
KINDS = ("audio", "video")
# The codecs forwarded: both browsers must agree on them, since nothing is transcoded.
FORWARDED_CODECS = {"audio": ("audio/opus",), "video": ("video/VP8", "video/rtx")}
# A publisher is asked for at most one keyframe this often, whatever asks.
KEYFRAME_INTERVAL_S = 0.5
# Subscribers' bandwidth estimates (REMB) are passed to the publisher at most this often.
ESTIMATE_INTERVAL_S = 0.5


class MediaUnavailable(Exception):
    """The server cannot take more media now (its UDP port range is full)."""


class ParticipantHost(Protocol):
    """What a participant reports to the room it is in."""

    def forward(self, publisher: Participant, kind: str, packet: LeanPacket) -> None: ...

    def record(self, publisher: Participant, kind: str, frame: EncodedFrame) -> None: ...

    def first_video_forwarded(self, subscriber: Participant) -> None: ...

    def estimate_from(self, subscriber: Participant, bitrate: int) -> None: ...

    def keyframe_wanted_by(self, subscriber: Participant) -> None: ...

    def retire(self, participant: Participant) -> None: ...


class Participant:
    def __init__(
        self,
        host: ParticipantHost,
        role: Role,
        *,
        ice_servers: list[RTCIceServer] | None = None,
        on_state: Callable[[Participant, str], None],
    ) -> None:
        self.host = host
        self.role = role
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers or []))
        self.offered_at = time.monotonic()  # for join latency
        self.keyframe_requests = 0
        self.forwarders = {
            kind: Forwarder(
                kind,
                self._subscriber_wants_keyframe,
                on_first_frame=self._first_video if kind == "video" else None,
            )
            for kind in KINDS
        }
        self.receivers: dict[str, ForwardingReceiver] = {}
        # Frames for the recorder, assembled only while a recording runs (`assemble`).
        self.assemblers: dict[str, AudioAssembler | VideoAssembler] = {
            "audio": AudioAssembler(self._recorder_sink("audio")),
            "video": VideoAssembler(self._recorder_sink("video")),
        }
        self.connected = False
        self.closed = False
        self._last_keyframe_request = 0.0
        self._last_estimate = 0.0
        self._on_state = on_state
        self.pc.on("connectionstatechange", self._connection_state_changed)

    async def answer(
        self,
        offer_sdp: str,
        ice_addresses: tuple[str, ...],
        public_ip: str,
        udp_ports: tuple[int, int] | None = None,
    ) -> str:
        """Negotiates the browser's offer; returns the answer SDP (all candidates included)."""
        check_offer(offer_sdp)
        for kind in KINDS:
            transceiver = self.pc.addTransceiver(kind, direction="sendrecv")
            capabilities = RTCRtpSender.getCapabilities(kind).codecs
            transceiver.setCodecPreferences(
                [c for c in capabilities if c.mimeType in FORWARDED_CODECS[kind]]
            )
            self.receivers[kind] = adopt_receiver(transceiver.receiver, kind, self._sink_for(kind))
            self.forwarders[kind].sender = adopt_sender(
                transceiver.sender,
                self.forwarders[kind].want_keyframe,
                self._subscriber_estimate if kind == "video" else None,
            )
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        except Exception as exc:  # aiortc raises ValueError, OperationError, ...
            raise SdpError(f"the offer was refused: {exc}") from None
        try:
            restrict_host_addresses(self.pc, ice_addresses, udp_ports)
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)  # gathers candidates: binds the sockets
        except PortsExhausted as exc:
            raise MediaUnavailable(str(exc)) from None
        except Exception as exc:  # an offer check_offer let through but aiortc cannot answer
            log.info("offer not answerable: %s: %s", exc.__class__.__name__, exc)
            raise SdpError(f"the offer could not be answered: {exc.__class__.__name__}") from None
        install_fast_receive(self.pc)
        return announce_public_ip(self.pc.localDescription.sdp, public_ip)

    async def add_candidate(
        self, candidate: str, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        if not candidate:  # end of candidates
            return
        parsed = parse_candidate(candidate, sdp_mid, sdp_mline_index)
        mids = {t.mid for t in self.pc.getTransceivers()}
        if sdp_mid is not None and sdp_mid not in mids:
            raise SdpError("the candidate's sdpMid names no section of the offer")
        if sdp_mid is None and sdp_mline_index is not None and sdp_mline_index >= len(mids):
            raise SdpError("the candidate's sdpMLineIndex names no section of the offer")
        try:
            await self.pc.addIceCandidate(parsed)
        except Exception as exc:  # aioice refuses what it cannot use (a name, a bad address)
            raise SdpError(f"the candidate was refused: {exc.__class__.__name__}") from None

    def _sink_for(self, kind: str) -> Callable[[LeanPacket], None]:
        def sink(packet: LeanPacket) -> None:
            self.host.forward(self, kind, packet)

        return sink

    def _recorder_sink(self, kind: str) -> Callable[[EncodedFrame], None]:
        def sink(frame: EncodedFrame) -> None:
            self.host.record(self, kind, frame)

        return sink

    def assemble(self, kind: str, packet: LeanPacket) -> None:
        """Adds a packet this participant sent to the frames the recorder gets."""
        if self.assemblers[kind].add(packet):  # a frame was lost: the recording needs a key
            self.request_keyframe()

    def _first_video(self) -> None:
        self.host.first_video_forwarded(self)

    def relayed(self) -> bool:
        """The browser reaches us through a TURN relay (its nominated candidate is relay)."""
        for transceiver in self.pc.getTransceivers():
            pair = transceiver.receiver.transport.transport._connection._nominated.get(1)
            if pair is not None:
                return bool(pair.remote_candidate.type == "relay")
        return False

    def _subscriber_estimate(self, bitrate: int) -> None:
        self.host.estimate_from(self, bitrate)

    def relay_estimate(self, bitrate: int) -> None:
        """Tells this participant's browser how much video the other side can take, at most
        every half second."""
        receiver = self.receivers.get("video")
        now = time.monotonic()
        if receiver is None or self.closed or now - self._last_estimate < ESTIMATE_INTERVAL_S:
            return
        self._last_estimate = now
        task = asyncio.get_running_loop().create_task(receiver.send_estimate(bitrate))
        task.add_done_callback(_log_failure)

    def _subscriber_wants_keyframe(self) -> None:
        self.host.keyframe_wanted_by(self)

    def request_keyframe(self) -> None:
        """Asks this participant's browser for a video keyframe, at most every half second."""
        receiver = self.receivers.get("video")
        now = time.monotonic()
        if (
            receiver is None
            or self.closed
            or now - self._last_keyframe_request < KEYFRAME_INTERVAL_S
        ):
            return
        self._last_keyframe_request = now
        self.keyframe_requests += 1
        task = asyncio.get_running_loop().create_task(receiver.request_keyframe())
        task.add_done_callback(_log_failure)

    def _connection_state_changed(self) -> None:
        state = self.pc.connectionState
        self.connected = state == "connected"
        self._on_state(self, state)

    def counts(self) -> MediaCounts:
        """What this participant's browser sent us and what we sent it, so far."""
        counts = MediaCounts(keyframe_requests=self.keyframe_requests)
        for kind, receiver in self.receivers.items():
            counts.packets[(kind, "in")] += receiver.packets_in
            counts.bytes[(kind, "in")] += receiver.bytes_in
        for kind, forwarder in self.forwarders.items():
            sender = forwarder.sender
            if sender is not None:
                counts.packets[(kind, "out")] += sender.packets_sent
                counts.bytes[(kind, "out")] += sender.octets_sent
        return counts

    def quality(self) -> list[StreamQuality]:
        """What RTCP says about each stream this participant's browser sends."""
        found = []
        for kind, receiver in self.receivers.items():
            sender = self.forwarders[kind].sender
            rtt = getattr(sender, "_RTCRtpSender__rtt", None) if sender is not None else None
            for stream in receiver.remote_streams.values():
                if stream.max_seq is None:
                    continue
                expected = stream.packets_expected
                loss = stream.packets_lost / expected if expected > 0 else 0.0
                jitter = stream.jitter / CLOCK_RATES.get(kind, 90000)
                found.append(StreamQuality(kind, max(0.0, loss), jitter, rtt))
        return found

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.connected = False
        self.host.retire(self)
        for forwarder in self.forwarders.values():
            forwarder.close()
        try:
            await self.pc.close()
        except Exception as exc:  # a half-negotiated connection can fail to close cleanly
            log.info("closing a peer connection: %s: %s", exc.__class__.__name__, exc)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("keyframe request failed: %s", task.exception())
