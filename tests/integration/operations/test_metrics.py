"""Prometheus metrics after a real call; promtool accepts them; the dashboard and the alert
rules only use metrics the server exposes."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from tests.conftest import FAST_PASSWORDS, make_config
from tests.integration.conftest import Site
from tests.support.calls import CallParticipant
from tests.support.media import Clip, wait_for

MONITORING = Path(__file__).resolve().parents[3] / "server" / "operations" / "monitoring"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def exposed_names(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(
            {
                f"{family.name}_total",
                f"{family.name}_bucket",
                f"{family.name}_sum",
                f"{family.name}_count",
            }
            if family.type in ("counter", "histogram")
            else set()
        )
        names.update(sample.name for sample in family.samples)
    return names


@pytest.fixture
async def scraped_after_a_call(clocked_site: Site, video_clip: Clip, audio_clip: Clip) -> str:
    clock = clocked_site.clock
    assert clock is not None
    mentor_client, mentee_client, booking_id = await clocked_site.booked_pair()
    mentor = CallParticipant(mentor_client, video_clip, audio_clip)
    mentee = CallParticipant(mentee_client, video_clip, audio_clip)
    try:
        await mentor.join(booking_id)
        await mentee.join(booking_id)
        await wait_for(
            lambda: mentor.video_frames() > 30 and mentee.video_frames() > 30, what="video"
        )
        during = await (await mentor_client.get("/metrics")).text()
        assert samples(during)[("micromentor_rooms_open", ())] == 1
        await clock.advance(600)
        await mentor.next_message("ended")
    finally:
        await mentor.close()
        await mentee.close()
    response = await mentor_client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return await response.text()


async def test_a_short_call_shows_in_the_metrics(scraped_after_a_call: str) -> None:
    found = samples(scraped_after_a_call)
    for kind in ("audio", "video"):
        for direction in ("in", "out"):
            key = (
                "micromentor_forwarded_packets_total",
                (("direction", direction), ("kind", kind)),
            )
            assert found[key] > 50, key
    assert found[("micromentor_calls_ended_total", (("reason", "time_up"),))] == 1
    assert found[("micromentor_calls_started_total", ())] == 1
    assert found[("micromentor_join_seconds_count", (("stage", "ice_connected"),))] == 2
    assert found[("micromentor_join_seconds_count", (("stage", "first_video"),))] == 2
    assert found[("micromentor_call_duration_seconds_count", ())] == 1
    assert found[("micromentor_rooms_open", ())] == 0
    assert found[("micromentor_keyframe_requests_total", ())] >= 1
    routes = {
        labels
        for name, labels in found
        if name == "micromentor_http_request_duration_seconds_count"
    }
    assert any(("route", "/api/bookings/{booking_id}/join") in labels for labels in routes)
    assert not any("/api/bookings/1/join" in str(labels) for labels in routes)  # no ids


def promtool(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["promtool", *args], input=stdin, capture_output=True, text=True, timeout=60
    )


async def test_promtool_accepts_the_exposition_and_the_rules(scraped_after_a_call: str) -> None:
    metrics = await asyncio.to_thread(promtool, "check", "metrics", stdin=scraped_after_a_call)
    assert metrics.returncode == 0, metrics.stdout + metrics.stderr
    rules = await asyncio.to_thread(promtool, "check", "rules", str(MONITORING / "alerts.yml"))
    assert rules.returncode == 0, rules.stdout + rules.stderr


def queried_metrics(expressions: list[str]) -> set[str]:
    return {name for expr in expressions for name in re.findall(r"\bmicromentor_\w+", expr)}


async def test_the_dashboard_and_alerts_only_query_exposed_metrics(
    scraped_after_a_call: str,
) -> None:
    exposed = exposed_names(scraped_after_a_call)
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    expressions = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert expressions
    alerts = (MONITORING / "alerts.yml").read_text()
    for name in sorted(queried_metrics(expressions) | queried_metrics([alerts])):
        assert name in exposed, f"{name} is queried but the server does not expose it"


def test_the_check_catches_a_missing_metric() -> None:
    assert queried_metrics(["sum(micromentor_no_such_metric_total)"]) == {
        "micromentor_no_such_metric_total"
    }
    assert "micromentor_no_such_metric_total" not in exposed_names(
        "# TYPE micromentor_rooms_open gauge\nmicromentor_rooms_open 0\n"
    )


async def test_metrics_need_the_token_or_an_allowed_address(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    locked = await aiohttp_client(
        create_app(
            make_config(
                tmp_path / "a", MICROMENTOR_METRICS_ALLOW="", MICROMENTOR_METRICS_TOKEN="t0k"
            ),
            passwords=FAST_PASSWORDS,
        )
    )
    assert (await locked.get("/metrics")).status == 403
    assert (await locked.get("/metrics", headers={"Authorization": "Bearer nope"})).status == 403
    assert (await locked.get("/metrics", headers={"Authorization": "Bearer t0k"})).status == 200
    off = await aiohttp_client(
        create_app(
            make_config(tmp_path / "b", MICROMENTOR_METRICS_ENABLED="false"),
            passwords=FAST_PASSWORDS,
        )
    )
    assert (await off.get("/metrics")).status == 404
