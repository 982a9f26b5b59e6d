"""Passwords nobody should be allowed to choose: the commonest ones of the length we ask for,
simple runs and repeats, and the user's own email.

common_passwords.txt holds passwords of 10 characters or more (shorter ones are refused anyway)
seen at the top of public breach corpora; case, and a trailing `!`, `.`, `?` or `1`, do not make
one of them acceptable.
"""

from __future__ import annotations

import itertools
from pathlib import Path

COMMON = frozenset(
    line.strip()
    for line in (Path(__file__).parent / "common_passwords.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
)


def is_weak(password: str, email: str) -> str | None:
    """Why `password` must not be chosen, or None when it may."""
    plain = password.strip().lower()
    bare = plain.rstrip("!.?1")
    if plain in COMMON or bare in COMMON or plain.rstrip("!") in COMMON:
        return "is one of the most common passwords; choose another"
    if len(set(plain)) < 4:
        return "repeats too few characters; choose another"
    if _is_run(plain):
        return "is a simple sequence; choose another"
    local = email.split("@", 1)[0]
    if plain in (email, local) or (len(local) >= 4 and plain.startswith(local)):
        return "must not be your email address"
    return None


def _is_run(text: str) -> bool:
    """abcdefghij, 9876543210, and keyboard rows such as qwertyuiop."""
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    if steps in ({1}, {-1}):
        return True
    rows = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
    return any(text in row or text in row[::-1] for row in rows)
