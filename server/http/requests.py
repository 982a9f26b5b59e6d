"""Reading a request: the JSON body into a dataclass, the query string, path ids, the client."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from server.http.errors import ApiError, read_json
from server.http.schema import INT_MAX, BodyError, parse, parse_query

T = TypeVar("T")
Form = MultiDictProxy[str | bytes | FileField]


async def read_body(request: web.Request, cls: type[T]) -> T:
    """The JSON body parsed into `cls`; a 400 naming the field when it does not fit."""
    data = await read_json(request)
    try:
        return parse(cls, data)
    except BodyError as exc:
        raise ApiError(400, "invalid_field", exc.message, field=exc.field) from None


def query_of(request: web.Request, cls: type[T]) -> T:
    """The query string parsed into `cls`; a 400 naming the parameter when it does not fit."""
    try:
        parsed: T = parse_query(cls, request.query)
    except BodyError as exc:
        raise ApiError(400, "invalid_field", exc.message, exc.field) from None
    return parsed


def path_id(request: web.Request, name: str) -> int:
    """A positive integer id from the path; a 404 when it is not one the database could hold."""
    text = request.match_info[name]
    if not text.isascii() or not text.isdigit() or len(text) > 19 or not 0 < int(text) <= INT_MAX:
        raise ApiError(404, "not_found", "not found")
    return int(text)


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | FileField]:
    """The form fields of a urlencoded or multipart body; 400 when the body does not parse (no
    boundary, a wrong boundary, bytes that are not UTF-8) instead of an exception."""
    try:
        return await request.post()
    except (ValueError, UnicodeDecodeError, AssertionError, web.HTTPException) as exc:
        if isinstance(exc, web.HTTPException) and exc.status == 413:
            raise
        raise ApiError(400, "malformed_form", "the form data could not be read") from None


class Proxies:
    """The reverse proxies ([server] trusted_proxies) whose forwarding headers are believed."""

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def trusts(self, address: str | None) -> bool:
        if not self.networks or not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_of(self, request: web.Request) -> str:
        """The client's address: the peer, or, through trusted proxies, the nearest address
        in X-Forwarded-For that no trusted proxy added."""
        address = request.remote or "unknown"
        hops = [
            hop.strip()
            for value in request.headers.getall("X-Forwarded-For", [])
            for hop in value.split(",")
        ]
        for hop in reversed(hops):
            if not self.trusts(address):
                break
            try:
                address = str(ipaddress.ip_address(hop))
            except ValueError:
                break  # garbage in the header: keep the last address we could trust
        return address

    def is_https(self, request: web.Request) -> bool:
        if request.secure:
            return True
        if not self.trusts(request.remote):
            return False
        forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
        return forwarded == "https"


PROXIES = web.AppKey("proxies", Proxies)
NO_PROXIES = Proxies()


def client_address(request: web.Request) -> str:
    """Where the request came from, believing forwarding headers only from trusted proxies."""
    return request.app.get(PROXIES, NO_PROXIES).client_of(request)


def is_https(request: web.Request) -> bool:
    """The request came over HTTPS, directly or through a trusted proxy."""
    return request.app.get(PROXIES, NO_PROXIES).is_https(request)


def form_text(form: Form, name: str) -> str:
    """A text field of a form, with the browser's CRLF line ends counted as one character."""
    value = form.get(name)
    return value.replace("\r\n", "\n") if isinstance(value, str) else ""


def parse_form(cls: type[T], values: dict[str, Any], labels: Mapping[str, str]) -> T:
    """A form's values into `cls`; a 400 whose message is a sentence naming the field by its
    label on the page ("The title must not be empty.")."""
    try:
        return parse(cls, values)
    except BodyError as exc:
        label = labels.get(exc.field or "", "The form")
        raise ApiError(400, "invalid_field", f"{label} {exc.message}.", exc.field) from None
