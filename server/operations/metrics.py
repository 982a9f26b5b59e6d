"""Prometheus metrics for operators: calls, media, RTCP quality, HTTP, payments, background jobs.

One registry per app (no module globals), served at /metrics. No label carries a user, a room
or a booking: labels are kinds, directions, reasons, routes and outcomes, so series stay few.
Media counts are read from the SFU when Prometheus scrapes; the forwarding path only adds ints.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import time
from collections.abc import Iterator
from statistics import mean
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from media.events import (
    CallEnded,
    CallStarted,
    FirstVideoForwarded,
    ParticipantConnected,
    ParticipantLeft,
    RoomEvent,
)
from media.ports.guard import DROPPED, REASONS
from media.rooms import Rooms
from media.workers.pool import WorkerPool, WorkerStats
from server.http.errors import Handler
from server.http.requests import client_address

JOIN_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30)
CALL_BUCKETS = (30, 60, 120, 300, 480, 540, 600, 660, 900, 1800)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class MediaCollector(Collector):
    """Reads the SFU's counters and RTCP reports at scrape time. With media workers, a room's
    counts and RTCP figures are those of its worker's last report (one a second)."""

    def __init__(self, rooms: Rooms, workers: WorkerPool | None = None) -> None:
        self.rooms = rooms
        self.workers = workers

    def collect(self) -> Iterator[Any]:
        live = self.rooms.live()
        yield GaugeMetricFamily(
            "micromentor_rooms_open", "Calls with a room open on this node", value=len(live)
        )
        connected = sum(1 for room in live for p in room.participants.values() if p.connected)
        yield GaugeMetricFamily(
            "micromentor_participants_connected",
            "Participants whose media is connected",
            value=connected,
        )
        counts = self.rooms.counts()
        packets = CounterMetricFamily(
            "micromentor_forwarded_packets",
            "RTP packets through the SFU",
            labels=["kind", "direction"],
        )
        octets = CounterMetricFamily(
            "micromentor_forwarded_bytes",
            "RTP payload bytes through the SFU",
            labels=["kind", "direction"],
        )
        for kind in ("audio", "video"):
            for direction in ("in", "out"):
                packets.add_metric([kind, direction], counts.packets[(kind, direction)])
                octets.add_metric([kind, direction], counts.bytes[(kind, direction)])
        yield packets
        yield octets
        yield CounterMetricFamily(
            "micromentor_keyframe_requests",
            "Keyframe requests (PLI) the SFU sent to publishers",
            value=counts.keyframe_requests,
        )
        quality = [
            q
            for room in live
            for p in room.participants.values()
            if not p.closed
            for q in p.quality()
        ]
        loss = GaugeMetricFamily(
            "micromentor_rtcp_packet_loss_ratio",
            "Mean share of packets lost on incoming streams",
            labels=["kind"],
        )
        jitter = GaugeMetricFamily(
            "micromentor_rtcp_jitter_seconds",
            "Mean interarrival jitter of incoming streams",
            labels=["kind"],
        )
        rtt = GaugeMetricFamily(
            "micromentor_rtcp_round_trip_seconds",
            "Mean round-trip time from receiver reports",
            labels=["kind"],
        )
        for kind in ("audio", "video"):
            mine = [q for q in quality if q.kind == kind]
            loss.add_metric([kind], mean(q.loss for q in mine) if mine else 0.0)
            jitter.add_metric([kind], mean(q.jitter_seconds for q in mine) if mine else 0.0)
            rtts = [q.rtt_seconds for q in mine if q.rtt_seconds is not None]
            rtt.add_metric([kind], mean(rtts) if rtts else 0.0)
        yield loss
        yield jitter
        yield rtt
        recordings = self.rooms.recordings
        yield CounterMetricFamily(
            "micromentor_recording_bytes_written",
            "Bytes written to call recordings",
            value=recordings.bytes_written,
        )
        yield GaugeMetricFamily(
            "micromentor_recordings_running",
            "Call recordings being written now",
            value=recordings.running,
        )
        yield CounterMetricFamily(
            "micromentor_recording_failures",
            "Recording files that stopped on an error (muxing, disk)",
            value=recordings.failures,
        )
        dropped = CounterMetricFamily(
            "micromentor_media_dropped_datagrams",
            "Datagrams the SFU's UDP ports dropped before or at SRTP, by reason "
            "(media/ports/guard.py)",
            labels=["reason"],
        )
        counts = self.workers.dropped() if self.workers is not None else DROPPED.counts
        for reason in REASONS:
            dropped.add_metric([reason], counts.get(reason, 0))
        yield dropped
        yield from worker_metrics(self.workers.stats() if self.workers is not None else [])


def worker_metrics(stats: list[WorkerStats]) -> Iterator[Any]:
    """One series per media worker ([media] workers), labelled by its number, which it keeps
    across restarts; families without series when the media runs in the main process."""
    up = GaugeMetricFamily(
        "micromentor_media_worker_up", "1 while the media worker process runs", labels=["worker"]
    )
    rooms = GaugeMetricFamily(
        "micromentor_media_worker_rooms", "Calls with a room in the media worker", labels=["worker"]
    )
    packets = CounterMetricFamily(
        "micromentor_media_worker_packets",
        "RTP packets through the media worker since it (re)started, at its last report",
        labels=["worker", "direction"],
    )
    cpu = CounterMetricFamily(
        "micromentor_media_worker_cpu_seconds",
        "CPU time (user and system) of the media worker process since it (re)started",
        labels=["worker"],
    )
    restarts = CounterMetricFamily(
        "micromentor_media_worker_restarts",
        "Times the media worker died and was started again",
        labels=["worker"],
    )
    lag = GaugeMetricFamily(
        "micromentor_media_worker_loop_lag_seconds",
        "How late the media worker's event loop ran its last once-a-second report",
        labels=["worker"],
    )
    for worker in stats:
        label = str(worker.index)
        up.add_metric([label], 1 if worker.up else 0)
        rooms.add_metric([label], worker.rooms)
        for direction in ("in", "out"):
            packets.add_metric([label, direction], worker.packets.get(direction, 0))
        cpu.add_metric([label], worker.cpu_seconds)
        restarts.add_metric([label], worker.restarts)
        lag.add_metric([label], worker.loop_lag_seconds)
    yield from (up, rooms, packets, cpu, restarts, lag)


class Metrics:
    def __init__(self, rooms: Rooms, workers: WorkerPool | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.calls_started = Counter(
            "micromentor_calls_started", "Calls whose paid time began", registry=r
        )
        self.calls_ended = Counter(
            "micromentor_calls_ended", "Calls ended, by reason", ["reason"], registry=r
        )
        self.call_seconds = Histogram(
            "micromentor_call_duration_seconds",
            "Length of calls from start to end",
            buckets=CALL_BUCKETS,
            registry=r,
        )
        self.join_seconds = Histogram(
            "micromentor_join_seconds",
            "From a participant's offer to ICE connected, and to their first forwarded video frame",
            ["stage"],
            buckets=JOIN_BUCKETS,
            registry=r,
        )
        self.ice_failures = Counter(
            "micromentor_ice_failures", "Media connections that failed", registry=r
        )
        self.relayed = Counter(
            "micromentor_turn_relayed_connections",
            "Media connections that reach the SFU through a TURN relay",
            registry=r,
        )
        self.http_seconds = Histogram(
            "micromentor_http_request_duration_seconds",
            "HTTP request latency by route",
            ["route", "method", "status"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.payments = Counter(
            "micromentor_payments", "Payment callbacks, by outcome", ["outcome"], registry=r
        )
        self.webhooks = Counter(
            "micromentor_payment_webhooks", "Gateway webhooks, by outcome", ["outcome"], registry=r
        )
        self.job_lag = Gauge(
            "micromentor_background_job_lag_seconds",
            "Seconds since a background job last completed",
            ["job"],
            registry=r,
        )
        self.bookings_due_without_room = Gauge(
            "micromentor_bookings_due_without_room",
            "Paid calls due for five minutes or more that nobody has joined",
            registry=r,
        )
        self.loop_lag = Gauge(
            "micromentor_event_loop_lag_seconds",
            "How late the main process's event loop runs timers (it carries the media when "
            "[media] workers = 0)",
            registry=r,
        )
        self.asyncio_tasks = Gauge(
            "micromentor_asyncio_tasks",
            "Tasks alive in the main process's event loop (a number that only grows is a leak)",
            registry=r,
        )
        self.asyncio_tasks.set_function(_asyncio_tasks)
        self.recording_disk_free = Gauge(
            "micromentor_recording_disk_free_bytes",
            "Free space on the disk that holds the recordings",
            registry=r,
        )
        self.recording_min_free = Gauge(
            "micromentor_recording_min_free_bytes",
            "[recording] min_free_mb: below it a recording refuses to start",
            registry=r,
        )
        self.cluster_nodes = Gauge(
            "micromentor_cluster_nodes_live",
            "Nodes sharing this database whose heartbeat is fresh, as this node last saw them",
            registry=r,
        )
        r.register(MediaCollector(rooms, workers))
        self._job_done: dict[str, float] = {}

    def on_room_event(self, event: RoomEvent) -> None:
        if isinstance(event, CallStarted):
            self.calls_started.inc()
        elif isinstance(event, CallEnded):
            self.calls_ended.labels(event.reason).inc()
            if event.started_at is not None:
                self.call_seconds.observe((event.ended_at - event.started_at).total_seconds())
        elif isinstance(event, ParticipantConnected):
            self.join_seconds.labels("ice_connected").observe(event.join_seconds)
            if event.relayed:
                self.relayed.inc()
        elif isinstance(event, FirstVideoForwarded):
            self.join_seconds.labels("first_video").observe(event.seconds)
        elif isinstance(event, ParticipantLeft) and event.reason == "failed":
            self.ice_failures.inc()

    def job_done(self, job: str) -> None:
        self._job_done[job] = time.monotonic()

    def refresh(
        self, loop_lag_ms: float, disk_free_bytes: int | None = None, min_free_bytes: int = 0
    ) -> None:
        if disk_free_bytes is not None:
            self.recording_disk_free.set(disk_free_bytes)
            self.recording_min_free.set(min_free_bytes)
        now = time.monotonic()
        for job, at in self._job_done.items():
            self.job_lag.labels(job).set(now - at)
        self.loop_lag.set(loop_lag_ms / 1000)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", Metrics)


@web.middleware
async def http_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Latency by route (its pattern, never the path: /mentors/{mentor_id}, not /mentors/7)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        if route not in ("/metrics", "/ws/call/{booking_id}"):  # scrapes and hours-long sockets
            request.app[METRICS].http_seconds.labels(route, request.method, str(status)).observe(
                time.perf_counter() - started
            )


def allowed(request: web.Request, token: str, allow: tuple[str, ...]) -> bool:
    """A scrape needs the bearer token, or comes from an allowed address (either, if both)."""
    if token:
        header = request.headers.get("Authorization", "")
        if hmac.compare_digest(header.encode(), f"Bearer {token}".encode()):
            return True
    if not allow:
        return False  # only an explicit allow-list or the token opens /metrics
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in allow)


def _asyncio_tasks() -> float:
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:  # no running loop (a scrape outside the app)
        return 0.0
