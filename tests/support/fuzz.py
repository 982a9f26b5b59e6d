"""How hard the property tests push: a bounded, repeatable run in `make test`; a longer, random
one with FUZZ_EXAMPLES=N (see the README)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz_settings(examples: int) -> settings:
    """`examples` examples, the same every run; FUZZ_EXAMPLES=N asks for N fresh ones."""
    wanted = os.environ.get("FUZZ_EXAMPLES")
    return settings(
        max_examples=int(wanted) if wanted else examples,
        derandomize=not wanted,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
