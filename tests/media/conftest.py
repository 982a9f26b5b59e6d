"""Fixtures for media tests: rooms on loopback."""

from __future__ import annotations

import pytest

from media.room import RoomOptions
from tests.support.media import LOOPBACK


@pytest.fixture
def room_options() -> RoomOptions:
    return RoomOptions(warning_seconds=60, ice_addresses=LOOPBACK)
