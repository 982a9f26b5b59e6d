"""Fixtures for media tests: clips encoded once per session, rooms on loopback."""

from __future__ import annotations

import pytest

from media.room import RoomOptions
from tests.support.media import LOOPBACK, Clip, encode_opus, encode_vp8


@pytest.fixture(scope="session")
def video_clip() -> Clip:
    return encode_vp8(seconds=4)


@pytest.fixture(scope="session")
def audio_clip() -> Clip:
    return encode_opus(seconds=4)


@pytest.fixture
def room_options() -> RoomOptions:
    return RoomOptions(warning_seconds=60, ice_addresses=LOOPBACK)
