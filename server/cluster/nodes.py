"""The nodes sharing this database, and the node each call lives on.

Each server process registers a row in `nodes` and renews its heartbeat every third of
`[cluster] node_timeout_seconds`; a node whose heartbeat is older than that is dead. A booking's
call is placed by its first join on the live node with the fewest open calls (this node on a
tie, so a single node never redirects anyone) and recorded in `call_placements`: one row per
booking, inserted in one transaction, so two first joins on two nodes at once agree (the second
insert fails on the key and reads the first). The placement holds while its node's heartbeat
does; when that node is dead, the next join moves the call to a live node, which starts the room
with the booking's stored end time. With one node (SQLite, the default) all of this is one row
and one placement per call, on itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from server.clock import Clock
from server.cluster.config import ClusterSettings
from server.db.engine import Database, log_failure
from server.db.models import JOINABLE, Booking, CallPlacement, Node

log = logging.getLogger("micromentor.cluster")


@dataclass(frozen=True)
class Placed:
    """Where a call lives: the node's name and the URL its call sockets are reached at."""

    node: str
    url: str
    here: bool


class Cluster:
    def __init__(
        self,
        db: Database,
        settings: ClusterSettings,
        *,
        url: str,
        ice_addresses: tuple[str, ...],
        clock: Clock,
        open_calls: Callable[[], int] = lambda: 0,
    ) -> None:
        self.db = db
        self.name = settings.name
        self.url = (settings.node_url or url).rstrip("/")
        self.ice_addresses = ice_addresses
        self.timeout = timedelta(seconds=settings.node_timeout_seconds)
        self.clock = clock
        self._open_calls = open_calls
        self.origins: set[str] = set()  # the live nodes' URLs: pages may come from any of them
        self.leaving = False
        self.live_count = 0  # live nodes at the last heartbeat (a metric)

    # -- the registry ----------------------------------------------------------------------

    async def register(self) -> None:
        """Writes (or takes over) this node's row, alive from now."""
        now = self.clock()
        async with self.db.write() as s:
            node = await s.get(Node, self.name)
            if node is None:
                node = Node(name=self.name, started_at=now)
                s.add(node)
            elif node.heartbeat_at >= now - self.timeout:
                log.warning(
                    "node %s (%s) had a heartbeat %.0f s ago: unless that was this node before a "
                    "restart, two nodes share the name ([cluster] node_name must be unique)",
                    self.name,
                    node.url,
                    (now - node.heartbeat_at).total_seconds(),
                )
            node.url = self.url
            node.ice_addresses = ",".join(self.ice_addresses)
            node.started_at = now
            node.heartbeat_at = now
            node.open_calls = self._open_calls()
        await self._refresh_origins()

    async def heartbeat(self) -> None:
        if self.leaving:
            return
        async with self.db.write() as s:
            await s.execute(
                update(Node)
                .where(Node.name == self.name)
                .values(heartbeat_at=self.clock(), open_calls=self._open_calls())
            )
        await self._refresh_origins()

    async def leave(self) -> None:
        """On a clean stop: this node is dead at once, so its calls move on their next join."""
        self.leaving = True
        try:
            async with self.db.write() as s:
                await s.execute(delete(Node).where(Node.name == self.name))
        except Exception as exc:  # the database is away: the heartbeat will time out instead
            log_failure(log, "leaving the cluster failed", exc)

    async def live_nodes(self) -> list[Node]:
        async with self.db.read() as s:
            return list(
                await s.scalars(select(Node).where(Node.heartbeat_at >= self._alive_after()))
            )

    async def run(self) -> AsyncIterator[None]:
        """For the app's cleanup context: registered while serving, heartbeats, a clean leave."""
        await self.register()
        stop = asyncio.Event()
        beats = asyncio.get_running_loop().create_task(self._beat(stop))
        yield
        stop.set()
        await beats
        if not self.leaving:
            await self.leave()

    async def _beat(self, stop: asyncio.Event) -> None:
        every = self.timeout.total_seconds() / 3
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
            if stop.is_set():
                return
            try:
                await self.heartbeat()
            except Exception as exc:  # the database is away: the next beat tries again
                log_failure(log, "the node heartbeat failed", exc)

    async def _refresh_origins(self) -> None:
        nodes = await self.live_nodes()
        self.live_count = len(nodes)
        live = {_origin(n.url) for n in nodes}
        self.origins.intersection_update(live)  # in place: the app holds this very set
        self.origins.update(live)

    def _alive_after(self) -> datetime:
        return self.clock() - self.timeout

    # -- placement ---------------------------------------------------------------------------

    async def place(self, booking_id: int) -> Placed:
        """The node this booking's call lives on, placing (or moving) it there if need be."""
        for _attempt in range(3):
            try:
                return await self._place(booking_id)
            except IntegrityError:  # another node placed it at the same moment: read theirs
                continue
        raise RuntimeError(f"booking {booking_id} could not be placed")

    async def _place(self, booking_id: int) -> Placed:
        now = self.clock()
        async with self.db.write() as s:
            placement = await s.get(CallPlacement, booking_id, with_for_update=True)
            alive = select(Node).where(Node.heartbeat_at >= now - self.timeout)
            live = {n.name: n for n in await s.scalars(alive)}
            if placement is not None and placement.node in live:
                return self._placed(live[placement.node])
            loads = dict(
                (
                    await s.execute(
                        select(CallPlacement.node, func.count())
                        .join(Booking, Booking.id == CallPlacement.booking_id)
                        .where(Booking.status.in_(JOINABLE), Booking.call_ended_at.is_(None))
                        .group_by(CallPlacement.node)
                    )
                ).all()
            )
            candidates = live or {self.name: None}
            target = min(candidates, key=lambda name: (loads.get(name, 0), name != self.name, name))
            if placement is None:
                s.add(CallPlacement(booking_id=booking_id, node=target, placed_at=now))
                await s.flush()  # a simultaneous first placement fails here, on the key
            else:
                log.info(
                    "call %s moves from node %s (no heartbeat) to %s",
                    booking_id,
                    placement.node,
                    target,
                )
                placement.node = target
                placement.placed_at = now
                placement.moves += 1
            node = live.get(target)
        if node is None:
            return Placed(self.name, self.url, here=True)
        return self._placed(node)

    async def placement(self, booking_id: int) -> str | None:
        """The node name a booking's call is placed on, if any (alive or not)."""
        async with self.db.read() as s:
            found = await s.get(CallPlacement, booking_id)
            return found.node if found is not None else None

    async def held_elsewhere(self, booking_id: int) -> bool:
        """Whether another live node holds this booking's call."""
        node = await self.placement(booking_id)
        return (
            node is not None
            and node != self.name
            and any(n.name == node for n in await self.live_nodes())
        )

    def _placed(self, node: Node) -> Placed:
        return Placed(node.name, node.url, here=node.name == self.name)


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


CLUSTER = web.AppKey("cluster", Cluster)
