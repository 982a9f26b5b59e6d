"""One throwaway PostgreSQL server for the cluster tests (each test gets a fresh database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import postgres_bin, running_postgres


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (make test installs it)")
    with running_postgres() as url:
        yield url
