"""Properties of what the assistant reads from outside: whatever bytes a model server streams,
the client yields text or raises its own AssistantFailed (never anything the handler would not
catch); a well-formed stream, however it is spaced, yields exactly its text; and a draft's
ticket is accepted only as issued, any other string being a 400."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from aiohttp import StreamReader
from hypothesis import given
from hypothesis import strategies as st

from server.assistant.client import AssistantFailed, _pieces
from server.assistant.service import Assistant
from server.config import AssistantSettings
from server.http.errors import ApiError
from tests.support.fuzz import fuzz_settings


def read_all(data: bytes) -> list[str]:
    async def run() -> list[str]:
        reader = StreamReader(mock.Mock(_reading_paused=False), 2**16)
        reader.feed_data(data)
        reader.feed_eof()
        response: Any = mock.Mock(content=reader)
        return [piece async for piece in _pieces(response)]

    return asyncio.run(run())


@fuzz_settings(150)
@given(st.binary(max_size=400) | st.text(max_size=200).map(lambda t: f"data: {t}\n\n".encode()))
def test_any_stream_gives_text_or_assistant_failed(data: bytes) -> None:
    try:
        pieces = read_all(data)
    except AssistantFailed:
        return
    assert all(isinstance(p, str) and p for p in pieces)


def chunk(text: str) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]})


@fuzz_settings(100)
@given(
    st.lists(st.text(max_size=30), max_size=12),
    st.lists(st.sampled_from(["", ": keep-alive", "id: 7", "retry: 10"]), max_size=12),
    st.booleans(),
    st.booleans(),
)
def test_a_well_formed_stream_yields_exactly_its_text(
    pieces: list[str], noise: list[str], crlf: bool, done: bool
) -> None:
    lines: list[str] = []
    for i, piece in enumerate(pieces):
        if i < len(noise) and noise[i]:
            lines += [noise[i], ""]  # a comment or another field, as its own event
        lines += [f"data: {chunk(piece)}", ""]
    if done:
        lines += ["data: [DONE]", ""]
    end = "\r\n" if crlf else "\n"
    assert "".join(read_all(end.join(lines).encode())) == "".join(pieces)


def assistant() -> Assistant:
    settings = AssistantSettings(url="http://127.0.0.1:9/v1", model="m")
    now = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    return Assistant(mock.Mock(), settings, mock.Mock(), clock=lambda: now, key=b"k" * 32)


@fuzz_settings(150)
@given(st.text(max_size=200))
def test_only_an_issued_ticket_passes(ticket: str) -> None:
    helper = assistant()
    issued = helper.ticket(7, 3, "agenda")
    helper._check_ticket(issued, 7, 3)
    if ticket == issued:
        return
    with pytest.raises(ApiError) as refused:
        helper._check_ticket(ticket, 7, 3)
    assert refused.value.status == 400 and refused.value.code == "invalid_draft"


def test_a_ticket_is_bound_to_its_booking_person_and_day() -> None:
    helper = assistant()
    issued = helper.ticket(7, 3, "summary")
    for booking_id, user_id in ((8, 3), (7, 4)):
        with pytest.raises(ApiError):
            helper._check_ticket(issued, booking_id, user_id)
    later = assistant()
    later.clock = lambda: datetime(2026, 11, 22, 10, 1, tzinfo=UTC)  # 24 h and a minute
    with pytest.raises(ApiError):
        later._check_ticket(issued, 7, 3)
