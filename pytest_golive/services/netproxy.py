"""A small TCP proxy that golive puts between the app and a service, to inject network faults.

Toxiproxy's vocabulary (latency with jitter, bandwidth, timeout, reset_peer, blackhole,
slow_close), each acting on one direction: ``upstream`` is what the client sends to the
server, ``downstream`` what the server sends back, ``both`` is both. No maintained Python
or Debian package offers such a proxy server, so this is one, on asyncio, in its own
thread: a check (in any thread) injects and removes faults while the app talks through it.
With no fault set, bytes are written on as they arrive, without a coroutine in between.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import random
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from ..checklist import NETWORK_FAULTS as TOXICS

DIRECTIONS = ("upstream", "downstream", "both")
_BUFFER_HIGH = 1 << 20  # queued bytes of a direction at which its sender stops being read
_SLICE_S = 0.05  # bandwidth: bytes are written in slices of this many seconds' worth


@dataclass(frozen=True)
class Toxic:
    """One network fault. ``latency_s`` (+- ``jitter_s``) delays each chunk; ``rate_kbps``
    caps the bandwidth in KB/s; ``timeout`` stops the flow (the connection stays open, or is
    closed after ``after_s``); ``reset_peer`` resets a connection when data moves (after
    ``after_s``); ``blackhole`` swallows the data; ``slow_close`` delays a close by ``delay_s``."""

    kind: str
    direction: str = "both"
    latency_s: float = 0.0
    jitter_s: float = 0.0
    rate_kbps: float = 0.0
    after_s: float = 0.0
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in TOXICS:
            raise ValueError(f"unknown toxic {self.kind!r} (known: {', '.join(TOXICS)})")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {self.direction!r} (known: {', '.join(DIRECTIONS)})")
        if self.kind == "bandwidth" and self.rate_kbps <= 0:
            raise ValueError("a bandwidth toxic needs a rate above 0 KB/s")

    def acts_on(self, direction: str) -> bool:
        return self.direction in ("both", direction)


def _reset(transport: asyncio.Transport) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed or firewalled peer would."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed: nothing left to reset
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class _Flow:
    """One direction of one connection: bytes from ``source`` written to ``sink``."""

    def __init__(self, link: _Link, direction: str) -> None:
        self.link = link
        self.direction = direction
        self.source: asyncio.Transport | None = None
        self.sink: asyncio.Transport | None = None
        self.pending: collections.deque[tuple[float, bytes]] = collections.deque()
        self.pending_bytes = 0
        self.eof = False
        self.pump: asyncio.Task[None] | None = None
        self.sent_at = 0.0  # latency: when the last chunk went out, so jitter never reorders

    def received(self, data: bytes) -> None:
        toxic = self.link.proxy.toxic_for(self.direction)
        if toxic is None and not self.pending and self.pump is None and self.sink is not None:
            self.sink.write(data)
            return
        self.pending.append((time.monotonic(), data))
        self.pending_bytes += len(data)
        if self.pending_bytes > _BUFFER_HIGH and self.source is not None:
            self.source.pause_reading()
        self.start()

    def ended(self) -> None:
        if self.direction not in self.link.half_closed:
            self.eof = True
            self.start()

    def start(self) -> None:
        if self.pump is None and self.sink is not None:
            self.pump = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.pending or self.eof:
                toxic = self.link.proxy.toxic_for(self.direction)
                if toxic is not None and toxic.kind == "timeout":
                    await self._stall(toxic)
                    continue
                if toxic is not None and toxic.kind == "reset_peer":
                    if toxic.after_s:
                        await asyncio.sleep(toxic.after_s)
                    self.link.reset()
                    return
                if not self.pending:
                    await self._close(toxic)
                    return
                arrived, data = self.pending.popleft()
                self.pending_bytes -= len(data)
                if self.pending_bytes <= _BUFFER_HIGH and self.source is not None and not self.source.is_closing():
                    self.source.resume_reading()
                await self._deliver(toxic, arrived, data)
        finally:
            self.pump = None

    async def _stall(self, toxic: Toxic) -> None:
        """timeout: nothing moves until the fault is removed, or the connection is closed after ``after_s``."""
        if self.source is not None and not self.source.is_closing():
            self.source.pause_reading()
        removed = self.link.proxy.changed()
        await asyncio.wait({removed}, timeout=toxic.after_s or None)  # not wait_for: it would cancel removed
        if not removed.done():
            self.link.close()
            self.pending.clear()
            self.eof = False
            return
        if self.source is not None and not self.source.is_closing():
            self.source.resume_reading()

    async def _deliver(self, toxic: Toxic | None, arrived: float, data: bytes) -> None:
        assert self.sink is not None
        if self.sink.is_closing():
            return
        if toxic is None:
            self.sink.write(data)
        elif toxic.kind == "blackhole":
            return
        elif toxic.kind == "latency":
            delay = max(0.0, toxic.latency_s + random.uniform(-toxic.jitter_s, toxic.jitter_s))
            due = max(arrived + delay, self.sent_at)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            self.sent_at = due
            self.sink.write(data)
        elif toxic.kind == "bandwidth":
            step = max(1, int(toxic.rate_kbps * 1024 * _SLICE_S))
            for start in range(0, len(data), step):
                piece = data[start : start + step]
                self.sink.write(piece)
                await asyncio.sleep(len(piece) / (toxic.rate_kbps * 1024))
        else:  # slow_close acts on the close only
            self.sink.write(data)

    async def _close(self, toxic: Toxic | None) -> None:
        self.eof = False
        if toxic is not None and toxic.kind == "slow_close":
            await asyncio.sleep(toxic.delay_s)
        self.link.half_close(self)


class _Side(asyncio.Protocol):
    """One socket of a connection: the client's (accepted) or the server's (dialled)."""

    def __init__(self, link: _Link, outgoing: _Flow, incoming: _Flow) -> None:
        self.link = link
        self.outgoing = outgoing  # what this socket sends us
        self.incoming = incoming  # what we write to this socket
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if self.link.closed:  # the client left while the server was being dialled
            transport.close()
            return
        self.transport = transport
        transport.set_write_buffer_limits(high=_BUFFER_HIGH)  # fewer pauses of the other side: throughput
        self.outgoing.source = transport
        self.incoming.sink = transport
        self.incoming.start()

    def data_received(self, data: bytes) -> None:
        self.link.proxy.traffic += len(data)
        self.outgoing.received(data)

    def eof_received(self) -> bool:
        self.outgoing.ended()
        return True  # half-close: the other direction may still carry the reply

    def connection_lost(self, exc: Exception | None) -> None:
        self.link.lost(self)

    def pause_writing(self) -> None:
        if self.incoming.source is not None:
            self.incoming.source.pause_reading()

    def resume_writing(self) -> None:
        if self.incoming.source is not None and not self.incoming.pending:
            self.incoming.source.resume_reading()


class _Link:
    """One proxied connection: the client's socket, the server's, and a flow each way."""

    def __init__(self, proxy: TcpProxy) -> None:
        self.proxy = proxy
        self.up = _Flow(self, "upstream")
        self.down = _Flow(self, "downstream")
        self.client = _Side(self, outgoing=self.up, incoming=self.down)
        self.server = _Side(self, outgoing=self.down, incoming=self.up)
        self.half_closed: set[str] = set()
        self.closed = False

    async def dial(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(lambda: self.server, self.proxy.upstream_host, self.proxy.upstream_port)
        except OSError:
            self.reset()  # the server refused: so does the proxy, as a direct connection would

    def half_close(self, flow: _Flow) -> None:
        if flow.sink is not None and flow.sink.can_write_eof() and not flow.sink.is_closing():
            with contextlib.suppress(OSError):  # the peer is already gone: nothing to tell it
                flow.sink.write_eof()
        self.half_closed.add(flow.direction)
        if len(self.half_closed) == 2:
            self.close()

    def lost(self, side: _Side) -> None:
        """One socket went away: the other goes too, once what was queued for it is written."""
        if self.closed:
            return
        other = self.server if side is self.client else self.client
        if other.transport is None:
            self.close()
            return
        side.incoming.pending.clear()  # nothing more can reach the socket that went away
        self.half_closed.add(side.incoming.direction)
        side.outgoing.ended()
        if len(self.half_closed) == 2:
            self.close()

    def reset(self) -> None:
        self.closed = True
        for side in (self.client, self.server):
            if side.transport is not None:
                _reset(side.transport)
        self.proxy.links.discard(self)

    def close(self) -> None:
        self.closed = True
        for side in (self.client, self.server):
            if side.transport is not None:
                side.transport.close()
        self.proxy.links.discard(self)


class TcpProxy:
    """Listens on 127.0.0.1 and forwards every connection to ``upstream_host:upstream_port``.

    ``inject`` sets a fault (one at a time: a new one replaces the last) until ``remove``,
    or until ``for_s`` has passed. ``close`` stops listening and drops every connection."""

    def __init__(self, upstream_host: str, upstream_port: int, listen_port: int = 0) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.links: set[_Link] = set()
        #: connections accepted plus bytes received from either side since the proxy started:
        #: a fault check compares it before and after, to tell a fault nothing went through
        self.traffic = 0
        self._toxic: Toxic | None = None
        self._changed: asyncio.Future[None] | None = None
        self._expiry: asyncio.TimerHandle | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="golive-netproxy", daemon=True)
        self._thread.start()
        self._server = self._call(self._listen(listen_port))
        self.port: int = self._server.sockets[0].getsockname()[1]
        self.host = "127.0.0.1"

    @property
    def toxic(self) -> Toxic | None:
        return self._toxic

    def inject(self, toxic: Toxic, for_s: float | None = None) -> None:
        """Set ``toxic``; it is in force when this returns, and ends by itself after ``for_s``."""
        self._call(self._set(toxic, for_s))

    def remove(self) -> None:
        """End the fault; safe to call when none is set, and from any thread."""
        if not self._loop.is_closed():
            self._call(self._set(None, None))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def toxic_for(self, direction: str) -> Toxic | None:
        toxic = self._toxic
        return toxic if toxic is not None and toxic.acts_on(direction) else None

    def changed(self) -> asyncio.Future[None]:
        """Resolved at the next inject or remove."""
        if self._changed is None or self._changed.done():
            self._changed = self._loop.create_future()
        return self._changed

    def _call(self, work: Coroutine[Any, Any, Any]) -> Any:
        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(work, self._loop)
        return future.result(timeout=30)

    async def _listen(self, port: int) -> asyncio.Server:
        return await self._loop.create_server(self._accept, "127.0.0.1", port, reuse_address=True)

    def _accept(self) -> asyncio.Protocol:
        self.traffic += 1
        link = _Link(self)
        self.links.add(link)
        self._loop.create_task(link.dial())
        return link.client

    async def _set(self, toxic: Toxic | None, for_s: float | None) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        self._toxic = toxic
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
        if toxic is not None and for_s is not None:
            self._expiry = self._loop.call_later(for_s, self._expired, toxic)
        for link in list(self.links):  # queued bytes move on (or stop) under the new rule
            link.up.start()
            link.down.start()

    def _expired(self, toxic: Toxic) -> None:
        if self._toxic is toxic:
            self._loop.create_task(self._set(None, None))

    async def _shutdown(self) -> None:
        await self._set(None, None)
        self._server.close()
        for link in list(self.links):
            for flow in (link.up, link.down):
                if flow.pump is not None:
                    flow.pump.cancel()
            link.close()
        await self._server.wait_closed()
