"""A streaming client for an OpenAI-compatible chat completions endpoint (`POST
{url}/chat/completions` with `stream: true`): the reply comes as server-sent events, each
`data:` line a JSON chunk whose `choices[0].delta.content` is the next piece of text, until
`data: [DONE]`.

`ModelServer.start` connects and waits for the first piece, so that a slow or broken endpoint
is an error before anything is streamed to the browser; `Reply.rest` yields the others. The
first piece must come within `timeout_seconds`, each next one within `timeout_seconds` of the
one before, and the whole reply within `total_seconds`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from server.config import AssistantSettings

log = logging.getLogger("micromentor.assistant")

NOT_ANSWERING = "The assistant is not answering right now; try again later"


class AssistantUnavailable(Exception):
    """The endpoint did not answer in time, or could not be reached."""

    def __init__(self, reason: str, *, timed_out: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out
        self.message = NOT_ANSWERING


class AssistantFailed(Exception):
    """The endpoint answered, but with an error status or a reply we could not read."""

    def __init__(self, status: int | None, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        what = str(status) if status is not None else "an unreadable reply"
        self.message = f"The assistant had a problem ({what})"


class Reply:
    """A reply whose first piece has arrived; `rest()` yields the others and closes it."""

    def __init__(
        self,
        first: str,
        pieces: AsyncIterator[str],
        response: aiohttp.ClientResponse,
        settings: AssistantSettings,
        deadline: float,
    ) -> None:
        self.first = first
        self._pieces = pieces
        self._response = response
        self._settings = settings
        self._deadline = deadline

    async def rest(self) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        try:
            while True:
                by = min(loop.time() + self._settings.timeout_seconds, self._deadline)
                try:
                    async with asyncio.timeout_at(by):
                        piece = await anext(self._pieces, None)
                except TimeoutError:
                    raise AssistantUnavailable("stopped answering", timed_out=True) from None
                except (aiohttp.ClientError, OSError) as exc:
                    raise AssistantUnavailable(_first_line(exc), timed_out=False) from None
                if piece is None:
                    return
                yield piece
        finally:
            self.close()

    def close(self) -> None:
        self._response.close()


class ModelServer:
    """The operator's model server. The HTTP session opens on the first request, so with the
    assistant off nothing is ever opened or sent."""

    def __init__(self, settings: AssistantSettings) -> None:
        self.settings = settings
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # trust_env=False: no proxy from the environment; the model server is the
            # operator's own, reached directly.
            self._session = aiohttp.ClientSession(trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    def payload(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "model": self.settings.model,
            "messages": messages,
            "stream": True,
            "max_tokens": self.settings.max_tokens,
            "temperature": 0.3,
        }

    async def start(self, messages: list[dict[str, str]]) -> Reply:
        """Sends the request and waits for the first piece of text; raises AssistantUnavailable
        or AssistantFailed. A reply without any text is an empty first piece."""
        settings = self.settings
        if not settings.on:
            raise RuntimeError("the assistant is off")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.total_seconds
        headers = {"Accept": "text/event-stream"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        response: aiohttp.ClientResponse | None = None
        try:
            async with asyncio.timeout_at(min(loop.time() + settings.timeout_seconds, deadline)):
                response = await self._client().post(
                    settings.completions_url, json=self.payload(messages), headers=headers
                )
                if response.status != 200:
                    raise AssistantFailed(response.status, await _error_text(response))
                # A server that ignores `stream` answers the whole reply as one JSON object.
                whole = response.content_type == "application/json"
                pieces = _whole(response) if whole else _pieces(response)
                first = await anext(pieces, "")
        except TimeoutError:
            if response is not None:
                response.close()
            raise AssistantUnavailable("no answer in time", timed_out=True) from None
        except (aiohttp.ClientError, OSError) as exc:
            if response is not None:
                response.close()
            raise AssistantUnavailable(_first_line(exc), timed_out=False) from None
        except AssistantFailed:
            if response is not None:
                response.close()
            raise
        assert response is not None
        return Reply(first, pieces, response, settings, deadline)


async def _pieces(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    """The text pieces of an SSE chat completion stream, empty ones skipped."""
    data: list[str] = []
    try:
        async for raw in response.content:
            line = raw.decode("utf-8").rstrip("\r\n")
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
                continue
            if line or not data:
                continue  # a comment, another field, or a blank line between events
            event, data = "\n".join(data), []
            if event.strip() == "[DONE]":
                return
            piece = _content(event)
            if piece:
                yield piece
    except (ValueError, UnicodeDecodeError) as exc:  # a line past the reader's limit, not UTF-8
        raise AssistantFailed(None, _first_line(exc)) from None
    if data:  # the last event without its blank line
        event = "\n".join(data)
        if event.strip() != "[DONE]" and (piece := _content(event)):
            yield piece


async def _whole(response: aiohttp.ClientResponse) -> AsyncIterator[str]:
    """The text of a chat completion that came unstreamed, as one piece."""
    try:
        body = await response.json()
    except (ValueError, UnicodeDecodeError, aiohttp.ContentTypeError):
        raise AssistantFailed(None, "a reply that is not JSON") from None
    choices = body.get("choices") if isinstance(body, dict) else None
    first = choices[0] if isinstance(choices, list) and choices else None
    message = first.get("message") if isinstance(first, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise AssistantFailed(None, "a reply without choices[0].message.content")
    if content:
        yield content


def _content(event: str) -> str:
    try:
        chunk = json.loads(event)
    except ValueError:
        raise AssistantFailed(None, "a chunk that is not JSON") from None
    if not isinstance(chunk, dict):
        raise AssistantFailed(None, "a chunk that is not an object")
    if "error" in chunk:
        error = chunk["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise AssistantFailed(None, f"error in the stream: {str(message)[:200]}")
    choices = chunk.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""  # e.g. a usage-only chunk
    delta = choices[0].get("delta")
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


async def _error_text(response: aiohttp.ClientResponse) -> str:
    try:
        return (await response.content.read(500)).decode("utf-8", "replace").strip()
    except (aiohttp.ClientError, OSError):
        return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
