"""Password hashing: argon2id at OWASP's parameters; wrong and unknown both fail alike."""

from __future__ import annotations

from argon2 import PasswordHasher

from server.accounts.passwords import OWASP_HASHER, Passwords


async def test_production_hasher_is_argon2id_at_owasp_parameters() -> None:
    stored = await Passwords().hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in stored
    assert OWASP_HASHER.time_cost == 2


async def test_verify_and_rehash() -> None:
    weak = Passwords(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    stored = await weak.hash("correct horse battery")
    assert await weak.verify(stored, "correct horse battery")
    assert not await weak.verify(stored, "wrong horse battery")
    assert not await weak.verify(None, "correct horse battery")
    assert not await weak.verify("not a hash", "x")
    assert Passwords().needs_rehash(stored)
