"""RTP parsing and frame assembly: in order, out of order, lost, duplicated, malformed."""

from __future__ import annotations

import contextlib
import random
import struct

from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload
from aiortc.rtp import RtcpPacket, RtpPacket, unpack_remb_fci
from hypothesis import given
from hypothesis import strategies as st

from media.frames import AudioAssembler, EncodedFrame, VideoAssembler
from media.rtp import (
    LeanPacket,
    is_rtcp,
    parse_rtp,
    vp8_payload,
    vp8_picture_id,
    vp8_starts_keyframe,
    with_picture_id,
)


def test_parse_matches_aiortc_with_extensions_csrc_and_padding() -> None:
    packet = RtpPacket(
        payload_type=96,
        marker=1,
        sequence_number=65535,
        timestamp=123456,
        ssrc=0xDEADBEEF,
        payload=b"hello world",
    )
    packet.padding_size = 5
    packet.csrc = [1, 2]
    packet.extensions.mid = "0"
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
    from aiortc.rtp import HeaderExtensionsMap

    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=9, uri="urn:ietf:params:rtp-hdrext:sdes:mid")
            ]
        )
    )
    lean = parse_rtp(packet.serialize(extensions))
    assert lean == LeanPacket(96, 65535, 123456, 0xDEADBEEF, 1, b"hello world")


@given(st.binary(max_size=64))
def test_parse_never_raises(data: bytes) -> None:
    parse_rtp(data)
    vp8_payload(data)
    vp8_starts_keyframe(data)
    found = vp8_picture_id(data)
    if found is not None:
        renumbered = with_picture_id(data, 5, found[1])
        assert len(renumbered) == len(data) and vp8_picture_id(renumbered) == (5, found[1])


def test_malformed_packets_are_refused() -> None:
    assert parse_rtp(b"\x80" * 11) is None  # too short
    assert parse_rtp(b"\x40" + b"\x00" * 20) is None  # version 1
    assert parse_rtp(b"\x90\x60" + b"\x00" * 10 + b"\xbe\xde\x00\x09") is None  # extension runs out
    assert parse_rtp(b"\xa0\x60" + b"\x00" * 10 + b"\xff") is None  # padding longer than packet


def test_rtcp_is_told_from_rtp() -> None:
    assert is_rtcp(b"\x80\xc8")  # sender report
    assert not is_rtcp(b"\x80\x60")


@given(st.binary(min_size=1, max_size=40), st.integers(0, (1 << 15) - 1))
def test_vp8_payload_matches_aiortc(frame: bytes, picture_id: int) -> None:
    for payload in Vp8Encoder._packetize(frame, picture_id):
        assert vp8_payload(payload) == vp8_depayload(payload)


@given(st.binary(min_size=1, max_size=40), st.integers(0, (1 << 15) - 1))
def test_vp8_descriptor_fields_match_what_aiortc_packs(frame: bytes, picture_id: int) -> None:
    payloads = Vp8Encoder._packetize(frame, picture_id)
    assert [vp8_picture_id(p) for p in payloads] == [(picture_id, 15)] * len(payloads)
    starts_key = [vp8_starts_keyframe(p) for p in payloads]
    assert starts_key == [frame[0] & 1 == 0] + [False] * (len(payloads) - 1)
    again = with_picture_id(payloads[0], picture_id ^ 0x2AAA, 15)
    assert vp8_picture_id(again) == (picture_id ^ 0x2AAA, 15)
    assert vp8_payload(again) == vp8_payload(payloads[0])


def vp8_packets(frame: bytes, seq: int, timestamp: int) -> list[LeanPacket]:
    payloads = Vp8Encoder._packetize(frame, 1)
    packets = []
    for i, payload in enumerate(payloads):
        packets.append(
            LeanPacket(96, (seq + i) % 65536, timestamp, 1, int(i == len(payloads) - 1), payload)
        )
    return packets


def frames(count: int, size: int = 3000) -> list[bytes]:
    rng = random.Random(7)
    # byte 0 bit 0 clear: a keyframe (RFC 6386); set: an interframe
    return [bytes([0x00 if i == 0 else 0x01]) + rng.randbytes(size) for i in range(count)]


def test_video_frames_in_order_leave_on_their_marker() -> None:
    out: list[EncodedFrame] = []
    assembler = VideoAssembler(out.append)
    seq = 65530  # wraps around
    for number, frame in enumerate(frames(5)):
        packets = vp8_packets(frame, seq, number * 3000)
        for packet in packets[:-1]:
            assembler.add(packet)
        assert len(out) == number  # nothing until the marker
        assembler.add(packets[-1])
        seq += len(packets)
    assert [f.data for f in out] == frames(5)
    assert [f.keyframe for f in out] == [True, False, False, False, False]


def test_reordered_and_duplicated_packets_still_make_each_frame_once() -> None:
    out: list[EncodedFrame] = []
    assembler = VideoAssembler(out.append)
    seq = 0
    packets = []
    for n, frame in enumerate(frames(4)):
        made = vp8_packets(frame, seq, n * 3000)
        seq += len(made)
        packets += made
    shuffled = [*packets[:2], packets[3], packets[2], packets[3], *packets[4:]]
    for packet in shuffled:
        assert assembler.add(packet) is False
    assert [f.data for f in out] == frames(4)


def test_a_lost_packet_is_given_up_on_with_a_picture_loss_flag() -> None:
    out: list[EncodedFrame] = []
    assembler = VideoAssembler(out.append)
    seq, packets_by_frame = 0, []
    for n, frame in enumerate(frames(6)):
        made = vp8_packets(frame, seq, n * 3000)
        seq += len(made)
        packets_by_frame.append(made)
    flags = []
    for n, made in enumerate(packets_by_frame):
        for i, packet in enumerate(made):
            if n == 1 and i == 0:
                continue  # lost for good
            flags.append(assembler.add(packet))
    assert any(flags)
    assert out[0].data == frames(6)[0]
    assert frames(6)[1] not in [f.data for f in out]
    assert [f.data for f in out][-2:] == frames(6)[-2:]  # later frames flow again
    assert assembler.gaps_skipped == 1


def test_joining_mid_frame_waits_for_the_next_frame() -> None:
    out: list[EncodedFrame] = []
    assembler = VideoAssembler(out.append)
    first = vp8_packets(frames(2)[0], 0, 0)
    second = vp8_packets(frames(2)[1], len(first), 3000)
    for packet in first[1:] + second:
        assembler.add(packet)
    assert [f.data for f in out] == [frames(2)[1]]


def test_audio_passes_at_once_without_duplicates() -> None:
    out: list[EncodedFrame] = []
    assembler = AudioAssembler(out.append)
    for seq in (1, 2, 2, 4, 3):
        assembler.add(LeanPacket(111, seq, seq * 960, 1, 0, struct.pack("!H", seq)))
    assert [int.from_bytes(f.data, "big") for f in out] == [1, 2, 4, 3]


@given(st.binary(max_size=120), st.integers(192, 208))
def test_rtcp_that_passes_srtp_but_is_malformed_only_raises_what_aiortc_catches(
    data: bytes, packet_type: int
) -> None:
    """aiortc's DTLS transport parses RTCP and catches ValueError alone: anything else would
    end its receive loop, and the call with it."""
    datagram = bytes([0x80 | (data[0] & 0x1F if data else 0), packet_type]) + data[1:]
    with contextlib.suppress(ValueError):
        RtcpPacket.parse(datagram)


@given(st.binary(max_size=60))
def test_a_remb_that_does_not_parse_raises_value_error(fci: bytes) -> None:
    """ForwardingSender relays REMBs and catches ValueError around unpack_remb_fci."""
    with contextlib.suppress(ValueError):
        unpack_remb_fci(fci)
