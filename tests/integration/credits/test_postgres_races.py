"""Free calls under concurrency on PostgreSQL, where bookings really run in parallel: one free
call left and several bookings at once use it once; a wallet holding one call's price pays
one call."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from billing.ledger import sponsor
from server.app import create_app
from server.payments.money import MONEY
from tests.conftest import FAST_PASSWORDS, FakeClock, make_config
from tests.integration.credits.conftest import CAMPUS, CreditSite
from tests.support.booking import PROFILE, book, first_slot
from tests.support.postgres import fresh_database, postgres_bin, running_postgres

pytestmark = pytest.mark.skipif(
    postgres_bin() is None, reason="PostgreSQL is not installed (make test installs it)"
)


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    with running_postgres() as url:
        yield url


@pytest.fixture
async def pg_site(postgres: str, tmp_path: Path, aiohttp_client: Any) -> CreditSite:
    config = make_config(
        tmp_path,
        MICROMENTOR_DATABASE_URL=await fresh_database(postgres),
        MICROMENTOR_ACCOUNTS_CAMPUS_DOMAINS=CAMPUS,
        MICROMENTOR_BOOKING_MAX_UNPAID_HOLDS="10",
    )
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(config, clock=FakeClock(), passwords=FAST_PASSWORDS)
    )
    return CreditSite(client.server, aiohttp_client)


async def test_the_last_free_call_is_used_once(pg_site: CreditSite) -> None:
    await pg_site.sponsor(free_calls=1)
    _m, mentor_id, _t = await pg_site.mentor()
    student, _id, token = await pg_site.student("a@example.org", "a@campus.edu")
    starts = [await first_slot(student, mentor_id, i) for i in (0, 2, 4, 6)]
    responses = await asyncio.gather(
        *(book(student, token, mentor_id, start, pay_with="sponsored") for start in starts)
    )
    assert sorted(r.status for r in responses) == [201, 409, 409, 409]
    codes = {(await r.json())["error"]["code"] for r in responses if r.status == 409}
    assert codes == {"none_left"}


async def test_a_wallet_for_one_call_pays_one(pg_site: CreditSite) -> None:
    admin, admin_token = await pg_site.admin_once()
    made = await admin.post(
        "/api/admin/sponsors",
        json={"name": "Small Trust", "domains": [CAMPUS], "free_calls": 5},
        headers={"X-CSRF-Token": admin_token},
    )
    sponsor_id = (await made.json())["sponsor"]["id"]
    topped = await admin.post(
        f"/api/admin/sponsors/{sponsor_id}/topups",
        json={"amount_paise": PROFILE["price_paise"], "reference": "one call"},
        headers={"X-CSRF-Token": admin_token},
    )
    assert topped.status == 201
    _m, mentor_id, _t = await pg_site.mentor()
    students = [await pg_site.student(f"s{i}@example.org", f"s{i}@campus.edu") for i in range(4)]
    starts = [await first_slot(students[0][0], mentor_id, i) for i in (0, 2, 4, 6)]
    responses = await asyncio.gather(
        *(
            book(client, token, mentor_id, start, pay_with="sponsored")
            for (client, _id, token), start in zip(students, starts, strict=True)
        )
    )
    assert sorted(r.status for r in responses) == [201, 409, 409, 409]
    codes = {(await r.json())["error"]["code"] for r in responses if r.status == 409}
    assert codes == {"sponsor_out_of_funds"}
    money = pg_site.server.app[MONEY]
    assert await money.balance(sponsor(sponsor_id)) == 0
    assert await money.total() == 0
