"""The load generator: asyncio and aiohttp in one or more processes, merged exactly.

One Python process spends about 70 µs of CPU per request with aiohttp on uvloop, where a
thread per connection with requests spent 750-1,500 µs. Above a few thousand requests a
second one core is still not enough, so the load is split over generator processes: each
takes every P-th request of the one schedule (the open model) or every P-th user (the
closed model), keeps its own HDR histogram, and sends it back encoded. Adding decoded HDR
histograms is exact: the merged percentiles are those one generator would have recorded.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from .load_model import Load, Report, Send, Tally

_MAX_CONNECTIONS = 256
_PROGRESS_EVERY_S = 1.0  # a percentile of the histogram costs ~10 ms of CPU
#: the event loop's timers count in milliseconds: a shorter sleep would spin
_TICK_S = 0.001
_READY_TIMEOUT_S = 30.0


class GeneratorFailed(Exception):
    """A generator could not start; the check errors with the reason."""


Progress = Callable[[int, int, float], None]  # requests done, errors, p95 so far in ms


def generate(load: Load, progress: Progress | None = None) -> Tally:
    """Run ``load`` on its generators; each one's progress adds up to one line."""
    count = load.generator_count()
    with _generators(load, count) as connections:
        _await_ready(connections, load.deadline)
        start = time.monotonic() + 0.05
        for connection in connections:
            connection.send(start)
        tally = Tally(started=start, generators=count)
        done: dict[Connection, tuple[int, int, float]] = dict.fromkeys(connections, (0, 0, 0.0))
        open_ = list(connections)
        while open_ and time.monotonic() < load.deadline + 1:
            for connection in _readable(open_, 0.25):
                message = _receive(connection)
                if message is None or message["kind"] == "final":
                    open_.remove(connection)
                    if message is not None:
                        tally.add(message)
                else:
                    done[connection] = (message["samples"], message["errors"], message["p95_ms"])
            if progress is not None:
                figures = done.values()
                progress(sum(f[0] for f in figures), sum(f[1] for f in figures), max(f[2] for f in figures))
    if not tally.finished:
        tally.finished = time.monotonic()
    return tally


def _readable(connections: list[Connection], timeout: float) -> list[Connection]:
    ready = wait(connections, timeout)
    return [connection for connection in connections if connection in ready]


def _receive(connection: Connection) -> Report | None:
    try:
        message: Report = connection.recv()
    except (EOFError, OSError):
        return None  # the generator ended without a report: its requests count as not sent
    return message


def _await_ready(connections: list[Connection], deadline: float) -> None:
    waiting = list(connections)
    limit = min(deadline, time.monotonic() + _READY_TIMEOUT_S)
    while waiting and time.monotonic() < limit:
        for connection in _readable(waiting, max(0.0, limit - time.monotonic())):
            waiting.remove(connection)
            if _receive(connection) is None:
                raise GeneratorFailed("a load generator ended before it was ready")
    if waiting:
        raise GeneratorFailed(f"{len(waiting)} load generator(s) not ready after {_READY_TIMEOUT_S:g}s")


@contextmanager
def _generators(load: Load, count: int) -> Iterator[list[Connection]]:
    """One generator runs in a thread of this process; more run in processes of their own
    (plain subprocesses: no multiprocessing helper process outlives the load). Each is told
    to stop, then waited for, and killed if it does not end, also when the run is interrupted."""
    pairs = [multiprocessing.Pipe() for _ in range(count)]
    threads: list[threading.Thread] = []
    processes: list[subprocess.Popen[bytes]] = []
    if count == 1:
        threads.append(threading.Thread(target=run_generator, args=(pairs[0][1], load, 0, 1), daemon=True))
        threads[0].start()
    else:
        for index, (_, child) in enumerate(pairs):
            command = [sys.executable, "-m", __name__, str(child.fileno())]
            processes.append(subprocess.Popen(command, pass_fds=[child.fileno()], stdin=subprocess.DEVNULL))
            child.close()
            pairs[index][0].send((load, index, count))
    try:
        yield [parent for parent, _ in pairs]
    finally:
        for parent, _ in pairs:
            with suppress(OSError):
                parent.send("stop")
        grace = max(0.0, min(5.0, load.deadline - time.monotonic())) + 1
        for thread in threads:
            thread.join(grace)
        for process in processes:
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for parent, _ in pairs:
            parent.close()


def run_generator(connection: Connection, load: Load, index: int, count: int) -> None:
    """One generator: says it is ready, waits for the common start, sends its share, reports."""
    loop = _event_loop()
    try:
        with suppress(EOFError, OSError, KeyboardInterrupt):  # the parent is gone or stopped the run
            loop.run_until_complete(_generator(connection, load, index, count))
    finally:
        loop.close()


def _event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # noqa: PLC0415  (uvloop halves the loop's own cost; not on every platform)
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


async def _generator(connection: Connection, load: Load, index: int, count: int) -> None:
    import aiohttp  # noqa: PLC0415  (only generators need it; collection must stay light)
    from yarl import URL  # noqa: PLC0415

    tally = Tally()
    requests = [(r.method, URL(r.url), r.headers, r.json, r.form or r.body) for r in load.requests]
    limit = _connections(count)
    connector = aiohttp.TCPConnector(limit=limit, limit_per_host=limit, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=load.timeout)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as http:

        async def plain_send(number: int, since: float) -> None:
            method, url, headers, body_json, body = requests[number % len(requests)]
            try:
                async with http.request(method, url, headers=headers, json=body_json, data=body) as response:
                    await response.read()
                    ok = response.status < 400
                    tally.note_redirects(response.history, response.url.path)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError):
                ok = False
            tally.record(time.monotonic() - since, ok)

        send: Send = plain_send
        if load.stateful:
            from .load_journey import journey_sender  # noqa: PLC0415  (templates and saves: only when used)

            send = journey_sender(load, http, tally)

        connection.send({"kind": "ready"})
        share = _Share(index, count, connection.recv(), _Stop(connection))
        reporter = asyncio.get_running_loop().create_task(_report_progress(connection, tally))
        if load.rate:
            await _open_model(load, share, send, tally)
        else:
            await _closed_model(load, share, send)
        reporter.cancel()
        share.stop.close()
    connection.send({"kind": "final", **tally.encoded(), "finished": time.monotonic(), "max_lag_s": tally.max_lag_s})


@dataclass(frozen=True)
class _Share:
    """This generator's part: the ``index``-th of ``count``, from the common ``start``."""

    index: int
    count: int
    start: float
    stop: _Stop


async def _open_model(load: Load, share: _Share, send: Send, tally: Tally) -> None:
    """Every ``count``-th request from ``index``, each at its place in the common schedule and
    measured from it (coordinated omission: a slow server cannot make us send less)."""
    senders = _Senders(send, _connections(share.count))
    total, interval = int(load.rate * load.duration), 1.0 / load.rate
    number = share.index
    while number < total and not share.stop.is_set():
        now = time.monotonic()
        if now >= load.deadline:
            break
        scheduled = share.start + number * interval
        if scheduled > now:
            await asyncio.sleep(max(scheduled - now, _TICK_S))
            continue
        tally.max_lag_s = max(tally.max_lag_s, now - scheduled)
        while number < total and scheduled <= now:  # all that are due, in one go
            senders.put(number, scheduled)
            number += share.count
            scheduled = share.start + number * interval
    await senders.finish(load.deadline)


class _Senders:
    """Coroutines that each keep one connection busy with what is due, no task a request.
    A new one starts only when every one is busy: each connection more costs CPU (a
    generator with 256 busy connections spends ~1.7x the CPU a request of one with 8), so
    there are as many as the server's latency times the rate needs, up to ``most``."""

    def __init__(self, send: Send, most: int) -> None:
        self.send, self.most = send, most
        self.due: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        self.idle = 0

    def put(self, number: int, scheduled: float) -> None:
        self.due.put_nowait((number, scheduled))
        if self.idle < self.due.qsize() and len(self.tasks) < self.most:
            self.idle += 1
            self.tasks.append(asyncio.get_running_loop().create_task(self._run()))

    async def _run(self) -> None:
        while (item := await self.due.get()) is not None:
            self.idle -= 1
            await self.send(*item)
            self.idle += 1

    async def finish(self, deadline: float) -> None:
        for _ in self.tasks:
            self.due.put_nowait(None)
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=max(0.0, deadline - time.monotonic()))
        for task in self.tasks:
            task.cancel()


def _connections(count: int) -> int:
    return max(4, _MAX_CONNECTIONS // count)


async def _closed_model(load: Load, share: _Share, send: Send) -> None:
    """Users ``index``, ``index + count``, ...: each sends its next request when the last ends."""
    users = load.users // share.count + (1 if share.index < load.users % share.count else 0)
    end = min(share.start + load.duration, load.deadline)
    await asyncio.sleep(max(0.0, share.start - time.monotonic()))

    async def user(first: int) -> None:
        number = first
        while time.monotonic() < end and not share.stop.is_set():
            await send(number, time.monotonic())
            number += load.users

    users_done = asyncio.gather(*(user(share.index + share.count * n) for n in range(users)))
    with suppress(asyncio.TimeoutError):  # past the check's deadline: the check reports the timeout
        await asyncio.wait_for(users_done, timeout=max(0.0, load.deadline - time.monotonic()))


async def _report_progress(connection: Connection, tally: Tally) -> None:
    while True:
        await asyncio.sleep(_PROGRESS_EVERY_S)
        p95 = tally.histogram.get_value_at_percentile(95) / 1000 if tally.samples else 0.0
        connection.send({"kind": "progress", "samples": tally.samples, "errors": tally.errors, "p95_ms": p95})


class _Stop:
    """Set when the parent says stop or goes away: the loop watches the connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection, self.stopped = connection, False
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(connection.fileno(), self._on_message)

    def _on_message(self) -> None:
        self.stopped = True  # the only message after the start is "stop"; EOF means the same
        self.close()

    def is_set(self) -> bool:
        return self.stopped

    def close(self) -> None:
        self.loop.remove_reader(self.connection.fileno())


if __name__ == "__main__":  # a generator process: python -m pytest_golive.checks.load_engine FD
    _connection = Connection(int(sys.argv[1]))
    run_generator(_connection, *_connection.recv())
