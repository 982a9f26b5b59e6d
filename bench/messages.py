"""Message latency over the live socket (/ws/live), against a bare WebSocket relay.

    .venv/bin/python -m bench.messages [--conversations 200] [--messages 1000] [--rate 50]
        [--warmup 100] [--rounds 2]

Each round runs the same load against the real server (`python -m server serve`, its SQLite
database seeded beforehand with one confirmed booking per conversation, each between its own
mentor and mentee, all of them logged in) and against the baseline (`python -m bench.live_relay`,
two WebSocket hops through one Python process and no database), alternating which goes first.
Every user keeps a socket open (2 per conversation) for the whole run; then messages go at a
steady rate, each from one side of a conversation to the other, the same sequence for both
servers. A message's latency is from just before the sender's `send_json` to the recipient's
socket reading the matching `message` event, both in this process, on loopback. The first
`--warmup` messages are not counted. It prints p50/p90/p99/max per run, the server process's CPU
over the window, the medians over the rounds and the ratio micromentor/baseline. The machine is
shared and noisy: compare the ratio, and read the absolutes with care.

The server allows a user 30 messages a minute, so senders are drawn at random among the users
with fewer than 25 sends in the last minute of the plan. The default rate stays below what one
core of a small machine serves: a server that cannot keep up (its CPU near 100% of a core over
the window, flagged in the output) queues, and its latencies then measure the queue's growth.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bench import processes
from bench.processes import cpu_seconds, log_summary, process
from tests.support.net import free_port

PASSWORD = "bench-messages-password"
# The server refuses a user's 31st message within a minute; stay clear of it.
SENDS_PER_USER_MINUTE = 25
TARGET_P99_MS = 20.0
# A server process using this share of a core over the window is not keeping up.
SATURATED = 0.9
FILLER = "could we go over the system design question from last week before the call?"
# How long the last messages may take to arrive before they count as lost.
DRAIN_SECONDS = 10.0


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = min(max(1, math.ceil(fraction * len(sorted_values))), len(sorted_values))
    return sorted_values[rank - 1]


@dataclass
class Sample:
    server: str
    sent: int  # measured messages (warm-up excluded)
    latencies_ms: list[float]
    errors: Counter[str]
    lost: int
    misrouted: int
    duplicates: int
    echoes: int
    events: Counter[str]  # the other events the sockets got, by type
    seconds: float
    cpu_seconds: float
    bench_cpu_seconds: float

    def p(self, fraction: float) -> float:
        return percentile(sorted(self.latencies_ms), fraction)


@dataclass
class Peer:
    """One user's open socket (index 2c is conversation c's mentor, 2c + 1 its mentee)."""

    index: int
    ws: aiohttp.ClientWebSocketResponse
    session: aiohttp.ClientSession


@dataclass
class Load:
    """What was sent and what is still in flight."""

    recipients: dict[int, int] = field(default_factory=dict)  # message number -> peer index
    pending: dict[int, float] = field(default_factory=dict)  # message number -> time sent
    unacked: set[int] = field(default_factory=set)  # no "sent" (or error) back yet
    latencies: dict[int, float] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    misrouted: int = 0  # at a socket of neither side
    duplicates: int = 0  # a message or an id that was not sent, or again
    echoes: int = 0  # at the sender's own socket (the server tells all its tabs)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expect_all: bool = False

    def arrived(self, number: int | None, peer: int, at: float) -> None:
        recipient = self.recipients.get(number) if number is not None else None
        if number is None or recipient is None:
            self.duplicates += 1
        elif peer == recipient ^ 1:
            self.echoes += 1
        elif peer != recipient:
            self.misrouted += 1
        elif number not in self.pending:
            self.duplicates += 1
        else:
            self.latencies[number] = (at - self.pending.pop(number)) * 1000
            self.check_done()

    def acked(self, ref: object) -> None:
        if isinstance(ref, str) and ref.isdigit():
            self.unacked.discard(int(ref))
            self.check_done()

    def failed(self, ref: object, code: str) -> None:
        self.errors[code] += 1
        if isinstance(ref, str) and ref.isdigit():
            self.pending.pop(int(ref), None)
            self.acked(ref)

    def check_done(self) -> None:
        # Closing a socket before its "sent" came back would only test the server's shutdown.
        if self.expect_all and not self.pending and not self.unacked:
            self.done.set()


def make_plan(users: int, count: int, rate: float, seed: int) -> list[int]:
    """The sender of each message, at random among users with budget left at its planned time."""
    if rate * 60 > 0.8 * users * SENDS_PER_USER_MINUTE:
        raise SystemExit(
            f"--rate {rate:g} needs more than {users} users at {SENDS_PER_USER_MINUTE} messages "
            "a minute each (the server's limit is 30): lower the rate or add conversations"
        )
    rng = random.Random(seed)
    recent: defaultdict[int, deque[float]] = defaultdict(deque)
    senders = []
    for number in range(count):
        at = number / rate
        while True:
            sender = rng.randrange(users)
            times = recent[sender]
            while times and times[0] <= at - 60:
                times.popleft()
            if len(times) < SENDS_PER_USER_MINUTE:
                break
        times.append(at)
        senders.append(sender)
    return senders


def message_text(number: int) -> str:
    return f"{number} {FILLER}"


def number_of(text: object) -> int | None:
    if not isinstance(text, str):
        return None
    head = text.split(" ", 1)[0]
    return int(head) if head.isdigit() else None


# -- processes ---------------------------------------------------------------------------------


def server_env(data_dir: str, port: int) -> dict[str, str]:
    return processes.server_env(data_dir, port, MICROMENTOR_SERVER_HOST="127.0.0.1")


async def seed(data_dir: str, conversations: int, password_hash: str) -> list[int]:
    """Migrates a fresh database and writes `conversations` confirmed, paid bookings, each
    between its own mentor and mentee; returns the booking ids in order."""
    from server.db.engine import Database
    from server.db.migrate import upgrade
    from server.db.models import Booking, MentorProfile, User

    db = Database(f"sqlite+aiosqlite:///{data_dir}/micromentor.db")  # data_dir is absolute
    try:
        await upgrade(db)
        now = datetime.now(UTC)
        # Tomorrow, so no sweeper, reminder or no-show check touches them during the run.
        starts = (now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        async with db.write() as s:
            users = []
            for c in range(conversations):
                for role in ("mentor", "mentee"):
                    users.append(
                        User(
                            email=f"bench-{role}-{c}@micromentor.test",
                            name=f"Bench {role.title()} {c}",
                            password_hash=password_hash,
                            role=role,
                            is_admin=False,
                            created_at=now,
                        )
                    )
            s.add_all(users)
            await s.flush()
            bookings = []
            for c in range(conversations):
                mentor, mentee = users[2 * c], users[2 * c + 1]
                s.add(
                    MentorProfile(
                        user_id=mentor.id,
                        headline="Bench mentor",
                        bio="Seeded by bench/messages.py.",
                        skills=["dsa"],
                        skills_key="|dsa|",
                        institution="Bench Institute",
                        languages=["English"],
                        price_paise=10000,
                        status="approved",
                        applied_at=now,
                        reviewed_at=now,
                    )
                )
                bookings.append(
                    Booking(
                        mentor_id=mentor.id,
                        mentee_id=mentee.id,
                        starts_at=starts,
                        duration_seconds=600,
                        status="confirmed",
                        topic=f"Bench conversation {c}",
                        created_at=now,
                        amount_paise=10000,
                        money_state="held",
                        payment_id=f"pay_bench{c:05d}",
                        paid_paise=10000,
                    )
                )
            s.add_all(bookings)
            await s.flush()
            return [b.id for b in bookings]
    finally:
        await db.close()


async def log_in(base: str, email: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        body = {"email": email, "password": PASSWORD}
        async with session.post(f"{base}/api/auth/login", json=body) as response:
            if response.status != 200:
                raise RuntimeError(f"login of {email}: {response.status} {await response.text()}")
    except BaseException:
        await session.close()
        raise
    return session


async def gather_limited(limit: int, jobs: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await job()

    results = await asyncio.gather(*(run(job) for job in jobs), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        for result in results:
            if isinstance(result, Peer):
                await close_peer(result)
            elif isinstance(result, aiohttp.ClientSession):
                await result.close()
        raise failures[0]
    return results


# -- sockets -----------------------------------------------------------------------------------


async def open_peer(index: int, session: aiohttp.ClientSession, url: str) -> Peer:
    """Opens `url` on `session` (closed if that fails) and waits for its hello."""
    try:
        ws = await session.ws_connect(url)
        try:
            hello = await ws.receive_json(timeout=15)
        except BaseException:
            await ws.close()
            raise
        if hello.get("type") != "hello":
            await ws.close()
            raise RuntimeError(f"{url}: the first event was {hello!r}, not a hello")
    except aiohttp.WSServerHandshakeError as exc:
        await session.close()
        raise RuntimeError(f"{url}: no WebSocket ({exc.status} {exc.message})") from None
    except BaseException:
        await session.close()
        raise
    return Peer(index, ws, session)


async def close_peer(peer: Peer) -> None:
    await peer.ws.close()
    await peer.session.close()


async def read(peer: Peer, load: Load, text_of: Callable[[dict[str, Any]], object]) -> None:
    async for message in peer.ws:
        at = time.perf_counter()
        if message.type != aiohttp.WSMsgType.TEXT:
            continue
        event = json.loads(message.data)
        kind = event.get("type")
        if kind == "message":
            load.arrived(number_of(text_of(event)), peer.index, at)
        elif kind == "error":
            load.failed(event.get("ref"), str(event.get("code")))
        else:
            if kind == "sent":
                load.acked(event.get("ref"))
            load.events[str(kind)] += 1


async def drive(
    name: str,
    pid: int,
    peers: list[Peer],
    senders: list[int],
    warmup: int,
    rate: float,
    payload: Callable[[int, int, str, str], dict[str, Any]],
    text_of: Callable[[dict[str, Any]], object],
) -> Sample:
    """Sends the planned messages at `rate` and waits for them; peers are all open."""
    load = Load()
    readers = [asyncio.create_task(read(p, load, text_of)) for p in peers]
    try:
        start = time.perf_counter()
        cpu0 = bench0 = t0 = 0.0
        for number, sender in enumerate(senders):
            delay = start + number / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if number == warmup:
                cpu0, bench0, t0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
            recipient = sender ^ 1
            body = payload(sender, recipient, message_text(number), str(number))
            load.recipients[number] = recipient
            load.unacked.add(number)
            load.pending[number] = time.perf_counter()
            await peers[sender].ws.send_json(body)
        load.expect_all = True
        load.check_done()
        with suppress(TimeoutError):
            await asyncio.wait_for(load.done.wait(), DRAIN_SECONDS)
        cpu1, bench1, t1 = cpu_seconds(pid), time.process_time(), time.perf_counter()
    finally:
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
    measured = [ms for number, ms in load.latencies.items() if number >= warmup]
    lost = sum(1 for number in load.pending if number >= warmup)
    return Sample(
        name,
        len(senders) - warmup,
        measured,
        load.errors,
        lost,
        load.misrouted,
        load.duplicates,
        load.echoes,
        load.events,
        t1 - t0,
        cpu1 - cpu0,
        bench1 - bench0,
    )


# -- the two servers ---------------------------------------------------------------------------


async def run_micromentor(args: argparse.Namespace, senders: list[int], hashed: str) -> Sample:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        t = time.perf_counter()
        bookings = await seed(data_dir, args.conversations, hashed)
        seeded = time.perf_counter() - t
        log = Path(data_dir) / "server.log"
        serve = [sys.executable, "-m", "server", "serve"]
        async with process(serve, server_env(data_dir, port), f"{base}/healthz", log) as pid:
            emails = [
                f"bench-{role}-{c}@micromentor.test"
                for c in range(args.conversations)
                for role in ("mentor", "mentee")
            ]
            t = time.perf_counter()
            sessions: list[aiohttp.ClientSession] = await gather_limited(
                4, [lambda e=e: log_in(base, e) for e in emails]
            )
            print(
                f"  micromentor: seeded {len(bookings)} bookings in {seeded:.1f} s, "
                f"{len(sessions)} logins took {time.perf_counter() - t:.1f} s",
                flush=True,
            )
            t = time.perf_counter()
            try:
                peers: list[Peer] = await gather_limited(
                    20,
                    [
                        lambda i=i, s=s: open_peer(i, s, f"{base}/ws/live")
                        for i, s in enumerate(sessions)
                    ],
                )
            except BaseException:
                await asyncio.gather(*(s.close() for s in sessions))
                raise
            print(f"  opened {len(peers)} sockets in {time.perf_counter() - t:.1f} s", flush=True)

            def payload(sender: int, _recipient: int, text: str, ref: str) -> dict[str, Any]:
                booking = bookings[sender // 2]
                return {"type": "send", "booking_id": booking, "text": text, "ref": ref}

            def text_of(event: dict[str, Any]) -> object:
                message = event.get("message")
                return message.get("text") if isinstance(message, dict) else None

            sample = await measure(
                "micromentor /ws/live", pid, peers, senders, args, payload, text_of
            )
        report_log("micromentor", log)
    return sample


async def run_baseline(args: argparse.Namespace, senders: list[int]) -> Sample:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        log = Path(data_dir) / "relay.log"
        relay = [sys.executable, "-m", "bench.live_relay", str(port)]
        async with process(relay, server_env(data_dir, port), f"{base}/healthz", log) as pid:
            peers: list[Peer] = await gather_limited(
                20,
                [
                    lambda i=i: open_peer(i, aiohttp.ClientSession(), f"{base}/ws?id={i}")
                    for i in range(2 * args.conversations)
                ],
            )

            def payload(_sender: int, recipient: int, text: str, ref: str) -> dict[str, Any]:
                return {"type": "send", "to": recipient, "text": text, "ref": ref}

            def text_of(event: dict[str, Any]) -> object:
                return event.get("text")

            sample = await measure(
                "live_relay baseline", pid, peers, senders, args, payload, text_of
            )
        report_log("baseline", log)
    return sample


async def measure(
    name: str,
    pid: int,
    peers: list[Peer],
    senders: list[int],
    args: argparse.Namespace,
    payload: Callable[[int, int, str, str], dict[str, Any]],
    text_of: Callable[[dict[str, Any]], object],
) -> Sample:
    """`drive`, then closes every socket whatever happened."""
    try:
        return await drive(name, pid, peers, senders, args.warmup, args.rate, payload, text_of)
    finally:
        await asyncio.gather(*(close_peer(p) for p in peers))


def report_log(name: str, path: Path) -> None:
    lines = log_summary(path)
    if lines:
        print(f"  {name} logged {len(lines)} lines at warning or above; the first:")
        for line in lines[:10]:
            print(f"    {line[:200]}")


# -- report ------------------------------------------------------------------------------------


def describe(sample: Sample) -> str:
    errors = sum(sample.errors.values())
    return (
        f"{sample.server:<22}{sample.sent:>6}{len(sample.latencies_ms):>7}{errors:>7}"
        f"{sample.lost:>6}{sample.p(0.5):>8.2f}{sample.p(0.9):>8.2f}{sample.p(0.99):>8.2f}"
        f"{max(sample.latencies_ms, default=float('nan')):>8.2f}"
        f"{sample.cpu_seconds:>8.2f}{sample.bench_cpu_seconds:>8.2f}"
    )


HEADER = (
    f"{'server':<22}{'sent':>6}{'got':>7}{'errors':>7}{'lost':>6}{'p50':>8}{'p90':>8}"
    f"{'p99':>8}{'max':>8}{'cpu s':>8}{'bench':>8}"
)


def notes(sample: Sample) -> str:
    """Whatever else the sockets saw: errors, misdeliveries, and the other events by type."""
    parts = []
    if sample.errors:
        parts.append("errors " + ", ".join(f"{k} {v}" for k, v in sample.errors.most_common()))
    if sample.misrouted:
        parts.append(f"{sample.misrouted} message events at a socket of neither side")
    if sample.duplicates:
        parts.append(f"{sample.duplicates} duplicate or unknown message events")
    if sample.echoes:
        parts.append(f"{sample.echoes} message events echoed to the sender")
    events = ", ".join(f"{k} {v}" for k, v in sorted(sample.events.items()))
    parts.append(f"other events (warm-up included): {events or 'none'}")
    if sample.cpu_seconds / sample.seconds > SATURATED:
        parts.append("SATURATED (a core busy all the window): its latency is queueing")
    return f"  {sample.server}: {'; '.join(parts)}"


def report(samples: list[Sample], rounds: int) -> None:
    print(f"{HEADER}   (ms; cpu s: server process, bench: this process, over the window)")
    for s in samples:
        print(describe(s))
    for s in samples:
        print(notes(s))
    ours = [s for s in samples if s.server.startswith("micromentor")]
    base = [s for s in samples if not s.server.startswith("micromentor")]
    p50 = statistics.median(s.p(0.5) for s in ours)
    p99 = statistics.median(s.p(0.99) for s in ours)
    b50 = statistics.median(s.p(0.5) for s in base)
    b99 = statistics.median(s.p(0.99) for s in base)
    cpu = statistics.median(s.cpu_seconds / s.seconds * 100 for s in ours)
    bcpu = statistics.median(s.cpu_seconds / s.seconds * 100 for s in base)
    print(f"\nmedian of {rounds} round(s)      p50 ms   p99 ms   server cpu (% of a core)")
    print(f"{'micromentor /ws/live':<26}{p50:>9.2f}{p99:>9.2f}{cpu:>10.0f}%")
    print(f"{'live_relay baseline':<26}{b50:>9.2f}{b99:>9.2f}{bcpu:>10.0f}%")
    print(
        f"{'ratio micromentor/baseline':<26}{p50 / b50:>8.1f}x{p99 / b99:>8.1f}x"
        f"{cpu / bcpu if bcpu else float('nan'):>10.1f}x"
    )
    verdict = "met" if p99 <= TARGET_P99_MS else "NOT met"
    print(f"target: micromentor p99 <= {TARGET_P99_MS:g} ms: {p99:.2f} ms, {verdict}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--messages", type=int, default=1000, help="measured, after the warm-up")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--rate", type=float, default=50, help="messages a second, in all")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--only", choices=("micromentor", "baseline"), help="run one side (for debugging)"
    )
    args = parser.parse_args()
    senders = make_plan(2 * args.conversations, args.warmup + args.messages, args.rate, args.seed)
    hashed = ""
    if args.only != "baseline":
        from server.accounts.passwords import Passwords

        hashed = await Passwords().hash(PASSWORD)
    print(
        f"{args.conversations} conversations ({2 * args.conversations} open sockets), "
        f"{args.messages} messages at {args.rate:g}/s after {args.warmup} warm-up, "
        f"{args.rounds} round(s)",
        flush=True,
    )
    samples: list[Sample] = []
    for round_number in range(1, args.rounds + 1):
        runs: list[Callable[[], Awaitable[Sample]]] = [
            lambda: run_micromentor(args, senders, hashed),
            lambda: run_baseline(args, senders),
        ]
        if args.only == "micromentor":
            runs = runs[:1]
        elif args.only == "baseline":
            runs = runs[1:]
        elif round_number % 2 == 0:
            runs.reverse()
        for run in runs:
            sample = await run()
            print(
                f"round {round_number}: {sample.server}: p50 {sample.p(0.5):.2f} ms, "
                f"p99 {sample.p(0.99):.2f} ms ({len(sample.latencies_ms)}/{sample.sent} "
                f"delivered)",
                flush=True,
            )
            samples.append(sample)
    print()
    if args.only:
        print(HEADER)
        for s in samples:
            print(describe(s))
        for s in samples:
            print(notes(s))
        return
    report(samples, args.rounds)


if __name__ == "__main__":
    asyncio.run(main())
