"""The one place that touches aiortc's private parts (aiortc 1.16, pinned in pyproject.toml).

aiortc has no public hook for RTP packets, and its stock path costs a queue hop, a task switch,
a jitter buffer and a pile of objects per packet. So this module gives the SFU a lean path,
packet in to packet out in one synchronous call chain, the way C SFUs forward:

- `install_fast_receive` hooks the ICE connection of a peer connection: an SRTP packet is
  decrypted, parsed (media/rtp.py) and handed to its `ForwardingReceiver` right where aioice
  receives it (on a host socket, past media/ports/guard.py's first look and without aioice's
  attempt to parse it as STUN). DTLS, RTCP and STUN still take aiortc's own path.
- `ForwardingReceiver` keeps aiortc's receiver duties that the far end needs (receiver reports,
  NACKs, PLIs, RTX unwrapping) and hands each media packet to a sink (the room's forwarders).
  No jitter buffer and no decoder thread ever run.
- `ForwardingSender` keeps aiortc's sender duties (sender reports, NACK retransmission from its
  history, its own SSRC) but has no RTP task: `send_packet` writes one forwarded packet's header
  (sequence number and timestamp chosen by media/forwarder.py, this sender's SSRC, payload type
  and header extensions) in front of the publisher's payload, encrypts it and sends it at once.
  A PLI or FIR from the far end calls back instead of setting a flag only aiortc's encoder reads.
- `restrict_host_addresses` limits the addresses aioice gathers host candidates on.

tests/media/test_aiortc_glue.py pins the private code this relies on, so an aiortc upgrade that
changes it fails loudly rather than silently falling back to decoding.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import random
import socket
import struct
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

import aiortc
import pylibsrtp
from aioice import turn as aioice_turn
from aioice.candidate import Candidate, candidate_foundation, candidate_priority
from aioice.ice import StunProtocol, TransportPolicy
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpReceiveParameters, RTCRtpSendParameters
from aiortc.rtcrtpreceiver import RTCRtpSynchronizationSource, StreamStatistics
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTP_HISTORY_SIZE,
    HeaderExtensions,
    RtcpPsfbPacket,
    RtpPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from media.ports.guard import DROPPED, guard_socket
from media.rtp import LeanPacket, is_rtcp, parse_rtp

log = logging.getLogger("micromentor.media")
SUPPORTED_AIORTC = "1.16."
if not aiortc.__version__.startswith(SUPPORTED_AIORTC):  # pragma: no cover - upgrade guard
    raise ImportError(
        f"media/ wraps aiortc {SUPPORTED_AIORTC}x internals; found {aiortc.__version__}. "
        "Re-check media/aiortc_glue.py against the new release before changing the pin."
    )

# A source not heard from for this long gets no keyframe requests.
SOURCE_TIMEOUT_S = 10.0
# SSRCs one peer connection may send media (or RTCP) on: a browser uses 2-4. aiortc would adopt
# any SSRC whose payload type it knows, and libsrtp keeps a stream for each that authenticates:
# without a cap, a participant could grow both without end.
MAX_SSRCS = 8
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)

# Where a receiver's packets go; True back means the sink lost a picture (ask for a keyframe).
PacketSink = Callable[[LeanPacket], bool | None]


def _private(obj: object, cls: type, name: str) -> Any:
    return getattr(obj, f"_{cls.__name__}__{name}")


def _set_private(obj: object, cls: type, name: str, value: Any) -> None:
    setattr(obj, f"_{cls.__name__}__{name}", value)


class _Background:
    """Keeps references to fire-and-forget tasks (RTCP feedback) until they finish."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


# -- receiving -------------------------------------------------------------------------------


class _NoJitterBuffer:
    """Stands in for aiortc's jitter buffer, should a packet ever take aiortc's own path (it
    does not: SRTP is set up before media flows, and the hook is installed before that)."""

    def add(self, packet: object) -> tuple[bool, None]:
        return False, None


class ForwardingReceiver(RTCRtpReceiver):
    """An RTCRtpReceiver that hands RTP packets to a sink instead of decoding them."""

    sink: PacketSink
    sources: dict[int, float]  # media SSRC -> when last heard (monotonic)
    background: _Background
    is_video: bool
    # aiortc's own state, looked up once: these objects are mutated in place, never replaced.
    codecs: dict[int, Any]
    remote_streams: dict[int, StreamStatistics]
    rtx_ssrcs: dict[int, int]
    nacks: Any
    packets_in: int
    bytes_in: int

    async def receive(self, parameters: RTCRtpReceiveParameters) -> None:
        # RTCRtpReceiver.receive() without its decoder thread.
        if _private(self, RTCRtpReceiver, "started"):
            return
        codecs = _private(self, RTCRtpReceiver, "codecs")
        for codec in parameters.codecs:
            codecs[codec.payloadType] = codec
        rtx_ssrc = _private(self, RTCRtpReceiver, "rtx_ssrc")
        for encoding in parameters.encodings:
            if encoding.rtx:
                rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc
        self.transport._register_rtp_receiver(self, parameters)
        _set_private(self, RTCRtpReceiver, "rtcp_task", asyncio.ensure_future(self._run_rtcp()))
        _set_private(self, RTCRtpReceiver, "started", True)

    async def _run_rtcp(self) -> None:
        """aiortc's receiver reports, kept going: a round that fails (statistics a mangled
        packet skewed past what a report can hold) is skipped, and `stop()`, which waits for
        this task to say it has exited, cannot hang."""
        try:
            while True:
                try:
                    await RTCRtpReceiver._run_rtcp(self)
                    return  # cancelled
                except Exception:
                    log.debug("a receiver report failed; the next round goes on", exc_info=True)
        finally:
            _private(self, RTCRtpReceiver, "rtcp_exited").set()

    def on_rtp(self, packet: LeanPacket) -> None:
        """One decrypted RTP packet from the fast path (what `_handle_rtp_packet` does, lean)."""
        self.packets_in += 1
        self.bytes_in += len(packet.payload)
        codecs = self.codecs
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return
        streams = self.remote_streams
        statistics = streams.get(packet.ssrc)
        if statistics is None:
            statistics = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        statistics.add(packet)  # type: ignore[arg-type]  # for the receiver reports the sender reads loss and jitter from

        if codec.name == "rtx":
            original_ssrc = self.rtx_ssrcs.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or len(packet.payload) < 2 or apt not in codecs:
                return
            packet = LeanPacket(
                apt,
                int.from_bytes(packet.payload[:2], "big"),
                packet.timestamp,
                original_ssrc,
                packet.marker,
                packet.payload[2:],
            )
        self.sources[packet.ssrc] = time.monotonic()

        nacks = self.nacks
        if nacks is not None and nacks.add(packet):
            self.background.spawn(self._send_rtcp_nack(packet.ssrc, sorted(nacks.missing)))
        if self.sink(packet):
            self.background.spawn(self._send_rtcp_pli(packet.ssrc))

    def getSynchronizationSources(self) -> list[RTCRtpSynchronizationSource]:
        """The media sources heard from in the last 10 seconds (the fast path's own record)."""
        now, wall = time.monotonic(), datetime.datetime.now(datetime.UTC)
        return [
            RTCRtpSynchronizationSource(
                timestamp=wall - datetime.timedelta(seconds=now - heard), source=ssrc
            )
            for ssrc, heard in self.sources.items()
            if now - heard < SOURCE_TIMEOUT_S
        ]

    async def send_estimate(self, bitrate: int) -> None:
        """Sends a REMB: how much the publisher may send (what its subscriber can take)."""
        rtcp_ssrc = _private(self, RTCRtpReceiver, "rtcp_ssrc")
        now = time.monotonic()
        sources = [s for s, heard in self.sources.items() if now - heard < SOURCE_TIMEOUT_S]
        if rtcp_ssrc is None or not sources:
            return
        await self._send_rtcp(
            RtcpPsfbPacket(
                fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=pack_remb_fci(bitrate, sources)
            )
        )

    async def request_keyframe(self) -> None:
        """Sends a PLI for every media source heard from lately."""
        now = time.monotonic()
        for ssrc, heard in list(self.sources.items()):
            if now - heard < SOURCE_TIMEOUT_S:
                await self._send_rtcp_pli(ssrc)


def adopt_receiver(receiver: RTCRtpReceiver, kind: str, sink: PacketSink) -> ForwardingReceiver:
    """Makes `receiver` hand its RTP packets to `sink`; call before negotiation starts it."""
    if _private(receiver, RTCRtpReceiver, "started"):
        raise RuntimeError("adopt the receiver before it starts")
    receiver.__class__ = ForwardingReceiver
    assert isinstance(receiver, ForwardingReceiver)
    receiver.is_video = kind == "video"
    receiver.sink = sink
    receiver.sources = {}
    receiver.packets_in = 0
    receiver.bytes_in = 0
    receiver.background = _Background()
    receiver.codecs = _private(receiver, RTCRtpReceiver, "codecs")
    receiver.remote_streams = _private(receiver, RTCRtpReceiver, "remote_streams")
    receiver.rtx_ssrcs = _private(receiver, RTCRtpReceiver, "rtx_ssrc")
    receiver.nacks = _private(receiver, RTCRtpReceiver, "nack_generator")
    _set_private(receiver, RTCRtpReceiver, "jitter_buffer", _NoJitterBuffer())
    # The bitrate estimator costs more than the rest of the receive path; publishers get the
    # estimate of their subscriber instead, relayed by ForwardingSender (a REMB).
    _set_private(receiver, RTCRtpReceiver, "remote_bitrate_estimator", None)
    return receiver


def install_fast_receive(pc: RTCPeerConnection) -> None:
    """Routes SRTP packets straight from aioice to the ForwardingReceivers of `pc`.

    Call after setLocalDescription (the transports are final then).
    """
    for dtls in _dtls_transports(pc):
        _hook_connection(dtls)


def _hook_connection(dtls: RTCDtlsTransport) -> None:
    connection = dtls.transport._connection
    stock = connection.data_received
    by_ssrc: dict[int, ForwardingReceiver] = {}
    rtcp_ssrcs: set[int] = set()
    background = _Background()

    def refuse(srtp: pylibsrtp.Session, ssrc: int) -> None:
        """An SSRC past the cap: libsrtp made a stream for it when it authenticated, so that
        is removed again (unless the other direction of media uses it)."""
        DROPPED.add("unknown_ssrc")
        if ssrc not in by_ssrc and ssrc not in rtcp_ssrcs:
            srtp.remove_stream(ssrc)

    def rtcp_received(srtp: pylibsrtp.Session, data: bytes) -> None:
        try:
            plain = srtp.unprotect_rtcp(data)
        except pylibsrtp.Error:
            DROPPED.add("srtp_rejected")
            return
        ssrc = int.from_bytes(plain[4:8], "big")
        if ssrc not in rtcp_ssrcs:
            if len(rtcp_ssrcs) >= MAX_SSRCS:
                refuse(srtp, ssrc)
                return
            rtcp_ssrcs.add(ssrc)
        background.spawn(handle_rtcp(plain))

    async def handle_rtcp(plain: bytes) -> None:
        """aiortc's parsing and handlers, which catch only ValueError: a struct.error from a
        malformed packet, or an error from handling an odd one, is a drop, not a traceback."""
        try:
            await dtls._handle_rtcp_data(plain)
        except Exception:
            DROPPED.add("rtcp_malformed")

    def data_received(data: bytes, component: int) -> None:
        srtp = dtls._rx_srtp
        if srtp is None or len(data) < 12 or not 127 < data[0] < 192:
            stock(data, component)  # DTLS, or SRTP not set up yet: aiortc's own path
            return
        if is_rtcp(data):
            rtcp_received(srtp, data)
            return
        try:
            plain = srtp.unprotect(data)
        except pylibsrtp.Error:
            DROPPED.add("srtp_rejected")  # a replay or a forgery: drop it, as aiortc does
            return
        packet = parse_rtp(plain)
        if packet is None:
            DROPPED.add("rtp_malformed")
            return
        receiver = by_ssrc.get(packet.ssrc)
        if receiver is None:
            if len(by_ssrc) >= MAX_SSRCS:
                refuse(srtp, packet.ssrc)
                return
            try:
                full = RtpPacket.parse(plain, dtls._rtp_header_extensions_map)
            except (ValueError, struct.error):  # aiortc 1.x: struct.error on an extension
                DROPPED.add("rtp_malformed")
                return
            found = dtls._rtp_router.route_rtp(full)
            if not isinstance(found, ForwardingReceiver):
                refuse(srtp, packet.ssrc)
                return
            receiver = by_ssrc[packet.ssrc] = found
        receiver.on_rtp(packet)

    connection.data_received = data_received  # type: ignore[method-assign]
    # Every datagram on a host socket gets a first look before aioice's (media/ports/guard.py):
    # junk is dropped and counted, and media skips aioice's attempt to parse it as STUN.
    for protocol in connection._protocols:
        if type(protocol) is StunProtocol:
            guard_socket(protocol, connection, data_received)


# -- sending ---------------------------------------------------------------------------------


class ForwardingSender(RTCRtpSender):
    """An RTCRtpSender without an RTP task: forwarded packets are sent as they arrive."""

    on_keyframe_request: Callable[[], None]
    on_estimate: Callable[[int], None] | None
    payload_type: int | None
    sequence_number: int  # the next one after the highest sent
    packets_sent: int
    octets_sent: int
    history: dict[int, tuple[int, int, int, bytes, bytes]]  # seq % size -> what NACKs need
    # The header extension block before and after the abs-send-time value (None after: there
    # is none), found once (`_extensions`).
    extension_parts: tuple[bytes, bytes | None] | None

    async def send(self, parameters: RTCRtpSendParameters) -> None:
        # RTCRtpSender.send() without the RTP task; sender reports still run.
        if _private(self, RTCRtpSender, "started"):
            return
        _set_private(self, RTCRtpSender, "cname", parameters.rtcp.cname)
        _set_private(self, RTCRtpSender, "mid", parameters.muxId)
        self.transport._register_rtp_sender(self, parameters)
        _private(self, RTCRtpSender, "rtp_header_extensions_map").configure(parameters)
        codec = parameters.codecs[0]
        for candidate in parameters.codecs:
            if candidate.name == "rtx" and candidate.parameters.get("apt") == codec.payloadType:
                _set_private(self, RTCRtpSender, "rtx_payload_type", candidate.payloadType)
                break
        self.payload_type = codec.payloadType
        # stop() waits for the RTP task to have started and exited: there is none to wait for.
        _private(self, RTCRtpSender, "rtp_started").set()
        _private(self, RTCRtpSender, "rtp_exited").set()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        _set_private(self, RTCRtpSender, "rtp_task", done)
        _set_private(self, RTCRtpSender, "rtcp_task", asyncio.ensure_future(self._run_rtcp()))
        _set_private(self, RTCRtpSender, "started", True)

    def can_send(self) -> bool:
        """Negotiated, DTLS connected and ICE nominated: a packet would go out now."""
        dtls = self.transport
        return (
            self.payload_type is not None
            and dtls._tx_srtp is not None
            and dtls._state is _DTLS_CONNECTED
            and dtls.transport._connection._nominated.get(1) is not None
        )

    def send_packet(self, sequence: int, timestamp: int, marker: int, payload: bytes) -> bool:
        """Sends one forwarded packet now; False when this sender cannot send yet."""
        dtls = self.transport
        tx_srtp = dtls._tx_srtp
        # dtls.state formats the enum's name into a string on every read: compare the enum
        if self.payload_type is None or tx_srtp is None or dtls._state is not _DTLS_CONNECTED:
            return False
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None:
            return False
        now = time.time() + NTP_EPOCH_OFFSET
        ntp = (int(now) << 32) | int((now % 1) * (1 << 32))
        extension_block = self._extensions((ntp >> 14) & 0x00FFFFFF)
        header = _HEADER.pack(
            0x90 if extension_block else 0x80,
            marker << 7 | self.payload_type,
            sequence,
            timestamp,
            self._ssrc,
        )
        try:
            protected = tx_srtp.protect(header + extension_block + payload)
        except pylibsrtp.Error:  # too far behind what was sent (the Forwarder keeps it near)
            return False
        self.history[sequence % RTP_HISTORY_SIZE] = (
            sequence,
            marker,
            timestamp,
            payload,
            extension_block,
        )
        protocol = pair.protocol
        if type(protocol).send_data is _PLAIN_SEND_DATA:
            protocol.transport.sendto(protected, pair.remote_addr)  # send_data, unawaited
        else:  # through TURN: aioice's coroutine, in order
            self._background.spawn(protocol.send_data(protected, pair.remote_addr))
        if 0 <= (sequence - self.sequence_number) % 65536 < 32768:  # the newest yet
            self.sequence_number = (sequence + 1) % 65536
            # What the sender reports (RTCP SR) are made from: the newest packet's clocks.
            setattr(self, _SENDER_NTP, ntp)
            setattr(self, _SENDER_RTP_TIMESTAMP, timestamp)
        self.packets_sent += 1
        self.octets_sent += len(payload)
        setattr(self, _SENDER_PACKETS, self.packets_sent)
        setattr(self, _SENDER_OCTETS, self.octets_sent)
        return True

    def last_sent(self) -> tuple[int, bytes] | None:
        """The timestamp and payload of the newest packet sent, from the history."""
        item = self.history.get((self.sequence_number - 1) % RTP_HISTORY_SIZE)
        if item is None or item[0] != (self.sequence_number - 1) % 65536:
            return None
        return item[2], item[3]

    def _extensions(self, abs_send_time: int) -> bytes:
        """The header extension block (mid, abs-send-time) for one packet. aiortc's map builds
        it from objects; the layout is the same for every packet, so it is found once and only
        the 3 bytes of abs-send-time change (or none, where abs-send-time is not negotiated)."""
        parts = self.extension_parts
        if parts is not None:
            before, after = parts
            return (
                before + abs_send_time.to_bytes(3, "big") + after if after is not None else before
            )
        extensions_map = _private(self, RTCRtpSender, "rtp_header_extensions_map")
        mid = _private(self, RTCRtpSender, "mid")

        def block(value: int) -> bytes:
            profile, data = extensions_map.set(HeaderExtensions(mid=mid, abs_send_time=value))
            return _EXTENSION.pack(profile, len(data) >> 2) + data if data else b""

        low, high = block(0), block(0xFFFFFF)
        changed = [i for i in range(len(low)) if low[i] != high[i]]
        if not changed:
            self.extension_parts = (low, None)
        elif len(changed) == 3 and changed[2] - changed[0] == 2:
            self.extension_parts = (low[: changed[0]], low[changed[2] + 1 :])
        else:  # not a layout seen before: let aiortc build every block
            return block(abs_send_time)
        return self._extensions(abs_send_time)

    async def _retransmit(self, sequence_number: int) -> None:
        """Answers a NACK from the history, as RTX when negotiated (aiortc's, on raw bytes)."""
        item = self.history.get(sequence_number % RTP_HISTORY_SIZE)
        if item is None or item[0] != sequence_number or self.payload_type is None:
            return
        sequence, marker, rtp_timestamp, payload, extension_block = item
        first_byte = 0x90 if extension_block else 0x80
        rtx_payload_type = _private(self, RTCRtpSender, "rtx_payload_type")
        if rtx_payload_type is None:
            header = _HEADER.pack(
                first_byte, marker << 7 | self.payload_type, sequence, rtp_timestamp, self._ssrc
            )
        else:
            rtx_sequence = _private(self, RTCRtpSender, "rtx_sequence_number")
            _set_private(self, RTCRtpSender, "rtx_sequence_number", (rtx_sequence + 1) % 65536)
            header = _HEADER.pack(
                first_byte,
                marker << 7 | rtx_payload_type,
                rtx_sequence,
                rtp_timestamp,
                self._rtx_ssrc,
            )
            payload = sequence.to_bytes(2, "big") + payload
        await self.transport._send_rtp(header + extension_block + payload)

    def _send_keyframe(self) -> None:
        self.on_keyframe_request()

    async def _handle_rtcp_packet(self, packet: Any) -> None:
        # A REMB from the subscriber is its estimate of what reaches it: the SFU relays it to
        # the publisher (whose receiver runs no estimator of its own) instead of using it to
        # tune an encoder it does not have.
        if (
            isinstance(packet, RtcpPsfbPacket)
            and packet.fmt == RTCP_PSFB_APP
            and self.on_estimate is not None
        ):
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            if self._ssrc in ssrcs:
                self.on_estimate(bitrate)
            return
        await super()._handle_rtcp_packet(packet)

    @property
    def _background(self) -> _Background:
        background: _Background | None = self.__dict__.get("_forwarding_background")
        if background is None:
            background = self.__dict__["_forwarding_background"] = _Background()
        return background


_HEADER = struct.Struct("!BBHII")
_EXTENSION = struct.Struct("!HH")
_SENDER_NTP = "_RTCRtpSender__ntp_timestamp"
_SENDER_RTP_TIMESTAMP = "_RTCRtpSender__rtp_timestamp"
_SENDER_PACKETS = "_RTCRtpSender__packet_count"
_SENDER_OCTETS = "_RTCRtpSender__octet_count"


_PLAIN_SEND_DATA = StunProtocol.send_data
_DTLS_CONNECTED = DtlsState.CONNECTED


def adopt_sender(
    sender: RTCRtpSender,
    on_keyframe_request: Callable[[], None],
    on_estimate: Callable[[int], None] | None = None,
) -> ForwardingSender:
    """Makes `sender` a ForwardingSender; call before negotiation starts it."""
    if _private(sender, RTCRtpSender, "started"):
        raise RuntimeError("adopt the sender before it starts")
    sender.__class__ = ForwardingSender
    assert isinstance(sender, ForwardingSender)
    sender.on_keyframe_request = on_keyframe_request
    sender.on_estimate = on_estimate
    sender.payload_type = None
    sender.sequence_number = random.randint(0, 65535)
    sender.extension_parts = None
    sender.packets_sent = 0
    sender.octets_sent = 0
    sender.history = {}
    return sender


def listen_for_estimates(sender: RTCRtpSender, on_estimate: Callable[[int], None]) -> None:
    """For a sender that keeps aiortc's own RTP task (test peers): REMBs call back."""
    stock = type(sender)

    class EstimateListeningSender(stock):  # type: ignore[misc,valid-type]
        async def _handle_rtcp_packet(self, packet: Any) -> None:
            if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                try:
                    bitrate, ssrcs = unpack_remb_fci(packet.fci)
                    if self._ssrc in ssrcs:
                        on_estimate(bitrate)
                except ValueError:
                    pass
            await super()._handle_rtcp_packet(packet)

    sender.__class__ = EstimateListeningSender


def listen_for_keyframe_requests(
    sender: RTCRtpSender, on_keyframe_request: Callable[[], None]
) -> None:
    """For a sender that keeps aiortc's own RTP task (test peers): PLI/FIR call back."""

    class KeyframeListeningSender(type(sender)):  # type: ignore[misc]
        def _send_keyframe(self) -> None:
            on_keyframe_request()

    sender.__class__ = KeyframeListeningSender


# -- ICE -------------------------------------------------------------------------------------


class PortsExhausted(Exception):
    """Every UDP port of the configured range is taken: the server is full for media."""


def restrict_host_addresses(
    pc: RTCPeerConnection,
    addresses: Iterable[str],
    ports: tuple[int, int] | None = None,
) -> None:
    """Gathers host candidates only on `addresses` (all, as aioice does, when empty) and,
    with `ports`, binds their sockets inside that UDP range (aioice picks any port).

    Call after the transceivers exist and before setLocalDescription, which gathers.
    """
    chosen = list(addresses)
    if not chosen and ports is None:
        return
    for dtls in _dtls_transports(pc):
        connection = dtls.transport._connection
        original = connection.get_component_candidates

        async def gather(
            component: int,
            addresses: list[str],
            _original: Any = original,
            _connection: Any = connection,
            **kwargs: Any,
        ) -> Any:
            on = chosen or addresses
            if _connection._transport_policy == TransportPolicy.RELAY:
                on = []  # iceTransportPolicy "relay": no host candidates at all
            if ports is None:
                return await _original(component=component, addresses=on, **kwargs)
            host = [await _bind_in_range(_connection, component, a, ports) for a in on]
            _connection._protocols += host
            # aioice still does the rest (a relayed candidate when a TURN server is set).
            others = await _original(component=component, addresses=[], **kwargs)
            return [protocol.local_candidate for protocol in host] + others

        connection.get_component_candidates = gather  # type: ignore[method-assign,assignment]


async def _bind_in_range(
    connection: Any, component: int, address: str, ports: tuple[int, int]
) -> Any:
    """aioice's host-candidate socket, but on a free port of the range."""
    low, high = ports
    span = high - low + 1
    start = random.randrange(span)  # spread nodes and rooms over the range
    loop = asyncio.get_running_loop()
    for offset in range(span):
        port = low + (start + offset) % span
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: StunProtocol(connection), local_addr=(address, port)
            )
        except OSError:
            continue  # taken
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, aioice_turn.UDP_SOCKET_BUFFER_SIZE)
        protocol.local_candidate = Candidate(
            foundation=candidate_foundation("host", "udp", address),
            component=component,
            transport="udp",
            priority=candidate_priority(component, "host"),
            host=address,
            port=port,
            type="host",
        )
        return protocol
    raise PortsExhausted(f"no free UDP port in {low}-{high} on {address}")


def _dtls_transports(pc: RTCPeerConnection) -> list[RTCDtlsTransport]:
    transports: list[RTCDtlsTransport] = []
    for transceiver in pc.getTransceivers():
        dtls = transceiver.receiver.transport
        if dtls not in transports:
            transports.append(dtls)
    return transports
