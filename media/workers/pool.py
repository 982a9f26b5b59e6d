"""The media workers of this node: started with the server, a new room placed on the
least-loaded live one (fewest rooms), a dead one restarted, all stopped with the server.

Each worker has a slot, numbered from 0, that keeps its number across restarts: the `worker`
label of the metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from media.participant import MediaUnavailable
from media.recording.recorder import RecordingTotals
from media.room import RoomOptions
from media.timer import Now, Sleep, utc_now
from media.workers.process import WorkerFailed, WorkerProcess, exit_reason
from media.workers.proxy import RemoteRoom
from media.workers.wire import EndRule, decode_counts

log = logging.getLogger("micromentor.media.workers")
# How long a join waits for a worker that is restarting before "server_busy".
WAIT_FOR_WORKER_SECONDS = 15.0
# A worker that dies sooner than this after starting twice in a row is restarted after a pause
# that grows with each such death.
STEADY_SECONDS = 10.0
MAX_RESTART_PAUSE_SECONDS = 30.0


@dataclass(frozen=True)
class WorkerStats:
    """One worker for the metrics."""

    index: int
    up: bool
    rooms: int
    packets: dict[str, int]  # by direction, "in" (from browsers) and "out", since it started
    cpu_seconds: float  # of the running process, since it started
    restarts: int
    loop_lag_seconds: float


class WorkerSlot:
    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool = pool
        self.index = index
        self.process: WorkerProcess | None = None
        self.rooms: dict[str, RemoteRoom] = {}
        self.restarts = 0
        self.ready = asyncio.Event()
        self.quick_failures = 0

    @property
    def up(self) -> bool:
        return self.process is not None and self.process.alive

    async def live_process(self) -> WorkerProcess:
        try:
            await asyncio.wait_for(self.ready.wait(), WAIT_FOR_WORKER_SECONDS)
        except TimeoutError:
            raise MediaUnavailable(f"media worker {self.index} is not running") from None
        assert self.process is not None
        return self.process

    def release(self, room: RemoteRoom) -> None:
        if self.rooms.get(room.room_id) is room:
            del self.rooms[room.room_id]


class WorkerPool:
    def __init__(
        self, count: int, *, recordings: RecordingTotals, log_level: str | None = None
    ) -> None:
        if count < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.slots = [WorkerSlot(self, index) for index in range(count)]
        self.recordings = recordings  # the node's totals: the workers' added up
        self._gone = RecordingTotals()  # what workers that have exited wrote
        self._gone_dropped: Counter[str] = Counter()  # what they dropped at their ports
        self._log_level = log_level or logging.getLevelName(logging.getLogger().level)
        self._stopping = False
        self._watchers: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Starts every worker; WorkerFailed if one does not come up."""
        started = await asyncio.gather(
            *(self._start(slot) for slot in self.slots), return_exceptions=True
        )
        failed = [result for result in started if isinstance(result, BaseException)]
        if failed:
            await self.stop()  # no orphans of the ones that did start
            raise failed[0]
        pids = ", ".join(str(s.process.pid) for s in self.slots if s.process)
        log.info("%d media workers running (pids %s)", len(self.slots), pids)

    async def _start(self, slot: WorkerSlot) -> None:
        process = WorkerProcess(slot.index, self._on_message, self._log_level)
        await process.start()
        slot.process = process
        slot.ready.set()
        watcher = asyncio.get_running_loop().create_task(self._watch(slot, process))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)

    def open_room(
        self,
        room_id: str,
        *,
        rule: EndRule,
        options: RoomOptions,
        started_at: datetime | None = None,
        ends_at: datetime | None = None,
        now: Now = utc_now,
        sleep: Sleep = asyncio.sleep,
    ) -> RemoteRoom:
        """A room on the live worker with the fewest rooms (the first such, on a tie). It
        opens there with its first command."""
        live = [slot for slot in self.slots if slot.up] or self.slots
        slot = min(live, key=lambda s: len(s.rooms))
        room = RemoteRoom(
            room_id,
            slot,
            rule=rule,
            options=options,
            started_at=started_at,
            ends_at=ends_at,
            now=now,
            sleep=sleep,
        )
        slot.rooms[room_id] = room
        return room

    def _on_message(self, process: WorkerProcess, message: dict[str, Any]) -> None:
        slot = self.slots[process.index]
        if "room" in message:
            room = slot.rooms.get(message["room"])
            if room is not None:
                room.deliver(process, message)
        elif "report" in message:
            for room_id, report in message["report"]["rooms"].items():
                room = slot.rooms.get(room_id)
                if room is not None:
                    room.report(process, report)
            self._add_up_recordings()

    def _add_up_recordings(self) -> None:
        live = [s.process.report.get("recordings", {}) for s in self.slots if s.up and s.process]
        self.recordings.bytes_written = self._gone.bytes_written + sum(
            r.get("bytes_written", 0) for r in live
        )
        self.recordings.failures = self._gone.failures + sum(r.get("failures", 0) for r in live)
        self.recordings.running = sum(r.get("running", 0) for r in live)

    async def _watch(self, slot: WorkerSlot, process: WorkerProcess) -> None:
        assert process.exited is not None
        returncode = await asyncio.shield(process.exited)
        slot.ready.clear()
        self._gone_dropped.update(process.report.get("dropped", {}))
        gone = process.report.get("recordings", {})
        self._gone.bytes_written += gone.get("bytes_written", 0)
        self._gone.failures += gone.get("failures", 0)
        self._add_up_recordings()
        lost = sum(room.worker_lost(process) for room in list(slot.rooms.values()))
        if self._stopping:
            return
        lived = time.monotonic() - process.started
        slot.quick_failures = slot.quick_failures + 1 if lived < STEADY_SECONDS else 0
        # At once, unless it keeps dying young: then after 1, 2, 4, ... 30 s.
        pause = (
            min(MAX_RESTART_PAUSE_SECONDS, 2.0 ** (slot.quick_failures - 2))
            if slot.quick_failures > 1
            else 0.0
        )
        log.error(
            "media worker %d (pid %d) %s; its %d call(s) end with server_shutdown and their "
            "participants rejoin; restarting it%s",
            slot.index,
            process.pid,
            exit_reason(returncode),
            lost,
            f" in {pause:.0f} s" if pause else "",
        )
        await self._restart(slot, pause)

    async def _restart(self, slot: WorkerSlot, pause: float) -> None:
        while not self._stopping:
            if pause:
                await asyncio.sleep(pause)
            if self._stopping:
                return
            try:
                await self._start(slot)
            except WorkerFailed as exc:
                pause = min(MAX_RESTART_PAUSE_SECONDS, max(1.0, pause * 2))
                log.error("%s; trying again in %.0f s", exc, pause)
                continue
            slot.restarts += 1
            return

    def stats(self) -> list[WorkerStats]:
        found = []
        for slot in self.slots:
            process = slot.process
            report = process.report if process is not None and slot.up else {}
            packets = {"in": 0, "out": 0}
            if "counts" in report:
                for (_kind, direction), n in decode_counts(report["counts"]).packets.items():
                    packets[direction] = packets.get(direction, 0) + n
            found.append(
                WorkerStats(
                    index=slot.index,
                    up=slot.up,
                    rooms=sum(1 for room in slot.rooms.values() if not room.ended),
                    packets=packets,
                    cpu_seconds=process.cpu_seconds() if process is not None else 0.0,
                    restarts=slot.restarts,
                    loop_lag_seconds=report.get("loop_lag_ms", 0.0) / 1000,
                )
            )
        return found

    def dropped(self) -> Counter[str]:
        """Datagrams the workers' media ports dropped, by reason (media/ports/guard.py), as of
        their last reports, those of workers that have exited included."""
        total = Counter(self._gone_dropped)
        for slot in self.slots:
            if slot.up and slot.process is not None:
                total.update(slot.process.report.get("dropped", {}))
        return total

    def pids(self) -> list[int]:
        """The running workers' process ids, by slot (0 for a worker not running)."""
        return [slot.process.pid if slot.up and slot.process else 0 for slot in self.slots]

    async def stop(self) -> None:
        """Tells every worker to close its rooms (server_shutdown) and exit; kills the ones
        that do not."""
        self._stopping = True
        processes = [slot.process for slot in self.slots if slot.process is not None]
        await asyncio.gather(*(p.stop() for p in processes), return_exceptions=True)
        for watcher in list(self._watchers):
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
