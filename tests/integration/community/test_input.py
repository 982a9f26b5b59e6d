"""Whatever the community's JSON bodies hold, the answer is a success or a 4xx with the error
shape, naming a field of the route or of the body: never a server error, never a logged
exception. And what is accepted renders without raw HTML."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from server.accounts.service import ACCOUNTS
from tests.conftest import PASSWORD, make_config
from tests.support.booking import PROFILE
from tests.support.fuzz import fuzz_settings, json_values
from tests.support.server_thread import ErrorLog, ServerThread

TEXT = st.text(max_size=60) | st.sampled_from(["", " ", "<script>x</script>", "\x00", "a" * 151])
FIELDS = {
    "title": TEXT | json_values(),
    "body": TEXT | json_values(),
    "community_id": st.integers(-3, 5) | st.just(2**63) | json_values(),
    "reason": TEXT | json_values(),
    "name": TEXT | json_values(),
    "description": TEXT | json_values(),
    "decision": st.sampled_from(["hide", "keep", "HIDE", ""]) | json_values(),
    "note": TEXT,
    "extra": json_values(),
}


@dataclass
class Stage:
    server: ServerThread
    sessions: dict[str, tuple[requests.Session, str]]
    post_id: int
    community_id: int


def _login(url: str, email: str) -> tuple[requests.Session, str]:
    session = requests.Session()
    response = session.post(f"{url}/api/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return session, response.json()["csrf_token"]


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    directory: Path = tmp_path_factory.mktemp("community-input")
    with ServerThread(make_config(directory)) as server:
        url = server.url
        for email, role in (("m@example.org", "mentor"), ("a@example.org", "mentee")):
            body = {"email": email, "password": PASSWORD, "name": "Asha Rao", "role": role}
            assert requests.post(f"{url}/api/auth/register", json=body).status_code == 201
        mentor, mentor_token = _login(url, "m@example.org")
        headers = {"X-CSRF-Token": mentor_token}
        profile: dict[str, Any] = dict(PROFILE)
        assert mentor.post(f"{url}/api/mentors/apply", json=profile, headers=headers).ok

        async def promote() -> None:
            assert server.app is not None
            await server.app[ACCOUNTS].make_admin("a@example.org", None, None)

        server.call(promote())
        admin, admin_token = _login(url, "a@example.org")
        me = mentor.get(f"{url}/api/me").json()["user"]["id"]
        approve = admin.put(
            f"{url}/api/admin/mentors/{me}/approve", headers={"X-CSRF-Token": admin_token}
        )
        assert approve.status_code == 200
        communities = mentor.get(f"{url}/api/communities").json()["items"]
        community_id = communities[0]["id"]
        for session, token in ((mentor, mentor_token), (admin, admin_token)):
            joined = session.put(
                f"{url}/api/communities/{community_id}/membership",
                headers={"X-CSRF-Token": token},
            )
            assert joined.status_code == 200
        made = mentor.post(
            f"{url}/api/posts", json={"title": "T", "body": "B"}, headers=headers
        ).json()
        yield Stage(
            server,
            {"mentor": (mentor, mentor_token), "admin": (admin, admin_token)},
            made["post"]["id"],
            community_id,
        )


ROUTES = [
    ("POST", "/api/posts", ("title", "body", "community_id")),
    ("POST", "/api/communities/{c}/questions", ("title", "body")),
    ("PUT", "/api/posts/{p}", ("title", "body")),
    ("POST", "/api/posts/{p}/replies", ("body",)),
    ("POST", "/api/posts/{p}/report", ("reason",)),
    ("POST", "/api/communities", ("name", "description")),
    ("PUT", "/api/admin/posts/{p}/moderate", ("decision", "note")),
]


@st.composite
def calls(draw: st.DrawFn) -> tuple[str, str, str, tuple[str, ...], Any]:
    method, path, names = draw(st.sampled_from(ROUTES))
    who = draw(st.sampled_from(["mentor", "admin"]))
    keys = draw(st.sets(st.sampled_from([*names, "extra"]), max_size=len(names) + 1))
    body: Any = {key: draw(FIELDS[key]) for key in sorted(keys)}
    if draw(st.integers(0, 9)) == 0:
        body = draw(json_values())  # not even an object
    return who, method, path, names, body


@fuzz_settings(60)
@given(call=calls())
def test_every_body_gets_a_success_or_a_4xx_naming_its_field(stage: Stage, call: Any) -> None:
    who, method, path, names, body = call
    session, token = stage.sessions[who]
    url = stage.server.url + path.format(c=stage.community_id, p=stage.post_id)
    with ErrorLog() as errors:
        response = session.request(
            method,
            url,
            data=json.dumps(body),
            headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
        )
    assert errors.records == [], [r.getMessage() for r in errors.records]
    assert response.status_code in (200, 201, 400, 403, 404, 409), response.text
    data = response.json()
    if response.status_code >= 400:
        error = data["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)
        field = error.get("field")
        sent = body if isinstance(body, dict) else {}
        assert field is None or field in names or field in sent, (field, body)
        return
    for value in data.values():
        html = value.get("html", "") if isinstance(value, dict) else ""
        assert "<script" not in html
    if path == "/api/admin/posts/{p}/moderate":  # keep the stage's post in sight
        session.put(url, json={"decision": "keep"}, headers={"X-CSRF-Token": token})
