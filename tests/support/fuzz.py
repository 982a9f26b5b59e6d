"""Property testing: how hard the tests push (a bounded, repeatable run in `make test`; a
longer, random one with FUZZ_EXAMPLES=N, see the README), and strategies for offers mutated from
a real one (lines dropped, doubled, swapped, rewritten, values replaced, the text cut short)
and for JSON values of every shape."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# Attributes whose absence or damage an SFU must survive.
ATTRIBUTES = (
    "a=mid:",
    "a=sendrecv",
    "a=recvonly",
    "a=inactive",
    "a=fingerprint:sha-256 ",
    "a=setup:",
    "a=ice-ufrag:",
    "a=ice-pwd:",
    "a=rtcp-mux",
    "a=group:BUNDLE ",
    "a=rtpmap:96 ",
    "a=candidate:",
    "a=ssrc:",
    "m=audio ",
    "m=video ",
    "m=application ",
    "c=IN IP4 ",
)
GARBAGE = st.text(max_size=40) | st.sampled_from(["", "0", "-1", "9" * 30, "\x00", "0 0 0"])


@st.composite
def mutated_offer(draw: st.DrawFn, offer: str) -> str:
    lines = offer.split("\r\n")
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["drop", "double", "swap", "rewrite", "value", "attribute"]))
        if kind == "drop":
            del lines[i]
        elif kind == "double":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "rewrite":
            lines[i] = draw(GARBAGE)
        elif kind == "value" and ":" in lines[i]:
            lines[i] = lines[i].split(":", 1)[0] + ":" + draw(GARBAGE)
        else:
            lines.insert(i, draw(st.sampled_from(ATTRIBUTES)) + draw(GARBAGE))
    text = "\r\n".join(lines)
    if draw(st.booleans()) and draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text


def json_values(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.integers(min_value=10**20, max_value=10**40)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=30)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def fuzz_settings(examples: int) -> settings:
    """`examples` examples, the same every run; FUZZ_EXAMPLES=N asks for N fresh ones."""
    wanted = os.environ.get("FUZZ_EXAMPLES")
    return settings(
        max_examples=int(wanted) if wanted else examples,
        derandomize=not wanted,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
