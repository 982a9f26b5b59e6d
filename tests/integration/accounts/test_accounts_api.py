"""The accounts API of docs/api.md through the real app: flows, errors, CSRF, throttling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from server.accounts.service import GENERIC_LOGIN_ERROR
from server.app import create_app
from tests.conftest import FAST_PASSWORDS, PASSWORD, FakeClock, login, make_config, register

Client = TestClient[Any, Any]


async def test_register_login_me_logout(client: Client) -> None:
    created = await register(client, "Asha@Example.org", role="both")
    assert created["user"]["email"] == "asha@example.org"
    assert created["user"]["role"] == "both"
    assert "password" not in str(created)

    token = await login(client, "asha@example.org")
    me = await client.get("/api/me")
    assert me.status == 200
    body = await me.json()
    assert body["user"]["email"] == "asha@example.org"
    assert body["csrf_token"] == token

    out = await client.post("/api/auth/logout", headers={"X-CSRF-Token": token})
    assert out.status == 204
    after = await client.get("/api/me")
    assert after.status == 401
    assert (await after.json())["error"]["code"] == "unauthenticated"


async def test_login_cookie_is_httponly_and_lax(client: Client) -> None:
    await register(client, "a@example.org")
    response = await client.post(
        "/api/auth/login", json={"email": "a@example.org", "password": PASSWORD}
    )
    cookie = response.cookies["micromentor"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain http in tests; https public_url turns it on


async def test_duplicate_email_is_409(client: Client) -> None:
    await register(client, "dup@example.org")
    response = await client.post(
        "/api/auth/register",
        json={"email": "DUP@example.org", "password": PASSWORD, "name": "B", "role": "mentor"},
    )
    assert response.status == 409
    error = (await response.json())["error"]
    assert error["code"] == "email_taken"
    assert error["field"] == "email"


async def test_wrong_password_and_unknown_email_get_one_generic_401(client: Client) -> None:
    await register(client, "a@example.org")
    wrong = await client.post(
        "/api/auth/login", json={"email": "a@example.org", "password": "not the password"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "nobody@example.org", "password": PASSWORD}
    )
    assert wrong.status == unknown.status == 401
    wrong_error = (await wrong.json())["error"]
    assert wrong_error == (await unknown.json())["error"]
    assert wrong_error["message"] == GENERIC_LOGIN_ERROR


async def test_state_change_without_csrf_token_is_403(client: Client) -> None:
    await register(client, "a@example.org")
    token = await login(client, "a@example.org")
    missing = await client.post("/api/auth/logout")
    wrong = await client.post("/api/auth/logout", headers={"X-CSRF-Token": token[:-2] + "xx"})
    for response in (missing, wrong):
        assert response.status == 403
        assert (await response.json())["error"]["code"] == "csrf_failed"
    assert (await client.get("/api/me")).status == 200  # still logged in


async def test_malformed_json_is_400_naming_the_problem(client: Client) -> None:
    response = await client.post(
        "/api/auth/register",
        data=b'{"email": "a@example.org", "password": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400
    error = (await response.json())["error"]
    assert error["code"] == "malformed_json"
    assert "line 1 column" in error["message"]


async def test_wrong_field_type_is_400_naming_the_field(client: Client) -> None:
    response = await client.post(
        "/api/auth/register",
        json={"email": "a@example.org", "password": 12345678901, "name": "A", "role": "mentee"},
    )
    assert response.status == 400
    error = (await response.json())["error"]
    assert error == {"code": "invalid_field", "message": "must be a string", "field": "password"}


async def test_unknown_field_and_bad_role_are_400_naming_the_field(client: Client) -> None:
    base = {"email": "a@example.org", "password": PASSWORD, "name": "A", "role": "mentee"}
    unknown = await client.post("/api/auth/register", json={**base, "admin": True})
    assert (await unknown.json())["error"]["field"] == "admin"
    role = await client.post("/api/auth/register", json={**base, "role": "boss"})
    assert (await role.json())["error"]["field"] == "role"
    missing = await client.post("/api/auth/register", json={"email": "a@example.org"})
    assert (await missing.json())["error"]["field"] == "password"
    not_object = await client.post("/api/auth/register", json=["a"])
    assert not_object.status == 400
    assert "field" not in (await not_object.json())["error"]


async def test_registration_checks_email_password_and_name(client: Client) -> None:
    base = {"email": "a@example.org", "password": PASSWORD, "name": "A", "role": "mentee"}
    cases = {
        "email": {**base, "email": "not-an-email"},
        "password": {**base, "password": "short"},
        "name": {**base, "name": "   "},
    }
    for field, body in cases.items():
        response = await client.post("/api/auth/register", json=body)
        assert response.status == 400, field
        assert (await response.json())["error"]["field"] == field
    same = await client.post(
        "/api/auth/register",
        json={**base, "email": "long.name@example.org", "password": "long.name@example.org"},
    )
    assert (await same.json())["error"]["field"] == "password"


async def test_json_endpoints_refuse_other_content_types(client: Client) -> None:
    response = await client.post("/api/auth/login", data={"email": "a", "password": "b"})
    assert response.status == 415
    assert (await response.json())["error"]["code"] == "unsupported_media_type"


async def test_oversized_body_is_413_in_the_error_shape(client: Client) -> None:
    response = await client.post(
        "/api/auth/login", data=b"x" * (300 * 1024), headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert (await response.json())["error"]["code"] == "payload_too_large"


async def test_login_backs_off_per_account_and_address_then_recovers(
    client: Client, clock: FakeClock
) -> None:
    """Issue 13, item 5: wrong guesses slow the next try from that address (1 s, 2 s, ...);
    they never lock the account."""
    await register(client, "a@example.org")
    for _ in range(5):
        response = await client.post(
            "/api/auth/login", json={"email": "a@example.org", "password": "guess guess guess"}
        )
        assert response.status == 401
    throttled = await client.post(
        "/api/auth/login", json={"email": "a@example.org", "password": PASSWORD}
    )
    assert throttled.status == 429
    assert (await throttled.json())["error"]["code"] == "too_many_attempts"
    assert int(throttled.headers["Retry-After"]) == 1

    clock.advance(seconds=1)
    await login(client, "a@example.org")


async def test_the_wait_doubles_and_is_capped(client: Client, clock: FakeClock) -> None:
    await register(client, "a@example.org")
    waits = []
    for _ in range(16):
        response = await client.post(
            "/api/auth/login", json={"email": "a@example.org", "password": "guess guess guess"}
        )
        if response.status == 429:
            waits.append(int(response.headers["Retry-After"]))
            clock.advance(seconds=waits[-1])
    assert waits[:4] == [1, 2, 4, 8]
    assert max(waits) <= 900


async def test_login_is_throttled_per_address_across_accounts(
    aiohttp_client: Any, tmp_path: Path, clock: FakeClock
) -> None:
    config = make_config(tmp_path, MICROMENTOR_AUTH_MAX_FAILURES_PER_ADDRESS="20")
    client = await aiohttp_client(create_app(config, clock=clock, passwords=FAST_PASSWORDS))
    await register(client, "victim@example.org")
    for i in range(20):
        response = await client.post(
            "/api/auth/login", json={"email": f"u{i}@example.org", "password": "x" * 12}
        )
        assert response.status == 401
    response = await client.post(
        "/api/auth/login", json={"email": "victim@example.org", "password": PASSWORD}
    )
    assert response.status == 429


async def test_success_resets_the_account_counter(client: Client) -> None:
    await register(client, "a@example.org")
    for _round in range(3):
        for _ in range(4):
            await client.post(
                "/api/auth/login", json={"email": "a@example.org", "password": "wrong wrong"}
            )
        await login(client, "a@example.org")


async def test_unknown_api_route_and_method_use_the_error_shape(client: Client) -> None:
    missing = await client.get("/api/nothing-here")
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "not_found"
    method = await client.delete("/api/me")
    assert method.status == 405
    assert (await method.json())["error"]["code"] == "method_not_allowed"
