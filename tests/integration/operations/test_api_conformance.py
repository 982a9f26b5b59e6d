"""schemathesis over the live /api/openapi.json, logged in as a mentee, a mentor and an
administrator: every operation with generated input (valid and invalid), then the stateful
phase that follows the document's links (book, then pay, cancel, fetch the invite ...). No
server error, and every response has a status, content type and body the document promises
(issue 13, item 10). `FUZZ_EXAMPLES=N` runs longer (see the README)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import given
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import update

from server.accounts.service import ACCOUNTS
from server.db.engine import DATABASE
from server.db.models import User
from tests.conftest import PASSWORD, make_config
from tests.integration.assistant.fake_model import FakeModel
from tests.support.booking import ALL_WEEK, PROFILE
from tests.support.fuzz import fuzz_settings
from tests.support.net import free_port
from tests.support.server_thread import ErrorLog, ServerThread

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The call WebSocket needs an upgrade that schemathesis does not make (tests/integration/calls).
NOT_OVER_HTTP = r"^/ws/"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0")) or None
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass
class Identity:
    """A logged-in user: a requests session with the cookie, and the CSRF token. Logs in again
    when a generated call (logout, log out everywhere) ended the login, and lifts a suspension
    a generated administrator's call made."""

    server: str
    email: str
    session: requests.Session = field(default_factory=requests.Session)
    token: str = ""
    reinstate: Callable[[str], None] | None = None
    # Whether a call since the last check may have ended the login (or another test's calls
    # may have: each test starts unsure).
    unsure: bool = True

    def log_in(self) -> None:
        self.session = requests.Session()
        login = {"email": self.email, "password": PASSWORD}
        response = self.session.post(f"{self.server}/api/auth/login", json=login)
        if response.status_code == 403 and self.reinstate is not None:
            self.reinstate(self.email)
            response = self.session.post(f"{self.server}/api/auth/login", json=login)
        assert response.status_code == 200, response.text
        self.token = response.json()["csrf_token"]

    def ensure(self) -> None:
        if self.session.get(f"{self.server}/api/me").status_code != 200:
            self.log_in()
        self.unsure = False

    def kwargs_for(self, case: Any) -> dict[str, Any]:
        """The call kwargs for `case`, logged in: checked again only after a call that may have
        changed something (a GET ends no login): one request fewer for every GET."""
        if self.unsure:
            self.ensure()
        if case.method.upper() not in SAFE_METHODS:
            self.unsure = True
        return self.call_kwargs()

    def call_kwargs(self) -> dict[str, Any]:
        """The session, its cookie (over the one schemathesis generates for the cookie
        security scheme) and the CSRF header."""
        cookie = self.session.cookies.get("micromentor", "")
        return {
            "session": self.session,
            "headers": {"X-CSRF-Token": self.token},
            "cookies": {"micromentor": cookie},
        }


@dataclass
class Api:
    server: ServerThread
    identities: dict[str, Identity]


def _prepare(server: ServerThread) -> dict[str, Identity]:
    url = server.url
    for email, role in (
        ("mentee@example.org", "mentee"),
        ("mentor@example.org", "mentor"),
        ("admin@example.org", "both"),
    ):
        body = {"email": email, "password": PASSWORD, "name": role.title(), "role": role}
        assert requests.post(f"{url}/api/auth/register", json=body).status_code == 201

    def reinstate(email: str) -> None:
        async def lift() -> None:
            assert server.app is not None
            async with server.app[DATABASE].write() as s:
                await s.execute(update(User).where(User.email == email).values(suspended_at=None))

        server.call(lift())

    identities = {
        role: Identity(url, f"{role}@example.org", reinstate=reinstate)
        for role in ("mentee", "mentor", "admin")
    }
    for identity in identities.values():
        identity.log_in()
    mentor = identities["mentor"]
    headers = {"X-CSRF-Token": mentor.token}
    assert mentor.session.post(f"{url}/api/mentors/apply", json=PROFILE, headers=headers).ok
    assert mentor.session.put(f"{url}/api/mentors/availability", json=ALL_WEEK, headers=headers).ok
    assert server.app is not None

    async def promote() -> None:
        assert server.app is not None
        await server.app[ACCOUNTS].make_admin("admin@example.org", None, None)

    server.call(promote())
    admin = identities["admin"]
    approved = admin.session.put(
        f"{url}/api/admin/mentors/{mentor_id(mentor)}/approve",
        headers={"X-CSRF-Token": admin.token},
    )
    assert approved.status_code == 200, approved.text
    return identities


def mentor_id(identity: Identity) -> int:
    me: int = identity.session.get(f"{identity.server}/api/me").json()["user"]["id"]
    return me


@contextlib.contextmanager
def model_server() -> Iterator[str]:
    """The assistant's model server, faked on loopback in a thread of its own, so the
    assistant's routes check their input as with an assistant configured instead of answering
    404 `assistant_off`: its base URL. (Generated ids seldom name a booking whose conversation
    can be drafted, so the fake rarely gets a request: tests/integration/assistant drives it.)"""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(FakeModel().app())
    port = free_port()
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    directory: Path = tmp_path_factory.mktemp("schemathesis")
    with model_server() as model_url:
        yield from _served(directory, model_url)


def _served(directory: Path, model_url: str) -> Iterator[Api]:
    config = make_config(
        directory,
        MICROMENTOR_MEDIA_ICE_ADDRESSES="127.0.0.1",
        MICROMENTOR_METRICS_ALLOW="127.0.0.1",
        # Generated wrong passwords must not throttle the identities' own logins.
        MICROMENTOR_AUTH_FAILURES_BEFORE_BACKOFF="1000000",
        MICROMENTOR_AUTH_MAX_FAILURES_PER_ADDRESS="1000000",
        MICROMENTOR_BOOKING_MAX_UNPAID_HOLDS="50",
        # Campus addresses and sponsors answer more than "none are set up".
        MICROMENTOR_ACCOUNTS_CAMPUS_DOMAINS="example.org",
        MICROMENTOR_ASSISTANT_URL=model_url,
        MICROMENTOR_ASSISTANT_MODEL="fake",
        MICROMENTOR_ASSISTANT_DRAFTS_PER_HOUR="10000",
    )
    with ServerThread(config) as server:
        yield Api(server, _prepare(server))


def load_schema(api: Api) -> Any:
    schema = schemathesis.openapi.from_url(f"{api.server.url}/api/openapi.json")
    return schema.exclude(path_regex=NOT_OVER_HTTP)


@pytest.mark.slow
@pytest.mark.parametrize("role", ["mentee", "mentor", "admin"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(api: Api, role: str, mode: GenerationMode) -> None:
    identity = api.identities[role]
    identity.unsure = True
    schema = load_schema(api)
    failures: list[str] = []
    with ErrorLog() as errors:
        for result in schema.get_all_operations():
            operation = result.ok()

            # Four inputs per operation, mode and role in `make test`; FUZZ_EXAMPLES=N runs N
            # (see the README).
            @fuzz_settings(EXAMPLES or 4)
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                response = case.call(**identity.kwargs_for(case))
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:  # no invalid input exists (no parameters, or free text)
                assert mode == GenerationMode.NEGATIVE, operation.label
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert failures == [], "\n\n".join(failures)
    assert [r.getMessage() for r in errors.records] == []


@pytest.mark.slow
@pytest.mark.parametrize("role", ["mentee", "mentor", "admin"])
def test_the_stateful_phase_follows_the_links(api: Api, role: str) -> None:
    identity = api.identities[role]
    identity.unsure = True
    schema = load_schema(api)
    machine = schema.as_state_machine()

    class Workflow(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return identity.kwargs_for(case)

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    with ErrorLog() as errors:
        Workflow.run(settings=fuzz_settings(EXAMPLES or 8))
    assert [r.getMessage() for r in errors.records] == []
