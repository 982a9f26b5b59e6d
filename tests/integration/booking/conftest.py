"""The booking tests' site: the app with helpers for approved mentors and paid bookings."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.support.booking import Site


@pytest.fixture
async def site(client: TestClient[Any, Any], aiohttp_client: Any) -> Site:
    return Site(client.server, aiohttp_client)
