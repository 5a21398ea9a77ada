"""The load generator of bench/realtime.py: one process holding many websockets, told what to do
over a multiprocessing pipe by the bench's main process.

It opens sockets as the browser's call page does (the URL, a session cookie for staff, the
page's Origin, permessage-deflate; no protocol pings of its own, as browsers send none), waits for
each socket's first message (`welcome`), pings every socket every 25 s as `call.js` does, and
sends `signal` messages at a given rate, each from one socket of a call to the other. Every signal
carries its run, sequence number and send time (CLOCK_MONOTONIC, the same clock in every process
of the machine) inside an ICE candidate string, so the receiving socket can tell the one-way
delay and which messages never came. Both sockets of a call live in the same generator.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

CANDIDATE = (
    "candidate:{run} 1 udp 2122260223 127.0.0.1 {seq} typ host generation 0 ufrag bnch "
    "network-id 1 ts {ns}"
)
PING = '{"type": "ping"}'
SIGNAL = (
    '{{"type": "signal", "to": "{to}", "candidate": {{"candidate": "{candidate}", '
    '"sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "bnch"}}}}'
)


@dataclass(frozen=True)
class SocketSpec:
    """One socket to open: `peer` is the participant id its signals go `to`."""

    call: int
    side: str  # "patient" or "clinician"
    url: str
    origin: str
    me: str
    peer: str
    cookie: str = ""


@dataclass
class Sock:
    spec: SocketSpec
    ws: Any = None
    welcomed: asyncio.Future[float] | None = None
    closed: bool = False
    close_code: int | None = None
    close_reason: str = ""
    ping_at: float = 0.0


@dataclass
class RunStats:
    run: int
    rate: float
    sent: int = 0
    send_failed: int = 0
    received: set[int] = field(default_factory=set)
    duplicates: int = 0
    delays_ms: list[float] = field(default_factory=list)
    errors: int = 0
    pongs: int = 0
    lag_max_ms: float = 0.0
    started: float = 0.0
    stopped: float = 0.0

    def report(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "sent": self.sent,
            "send_failed": self.send_failed,
            "received": len(self.received),
            "duplicates": self.duplicates,
            "delays_ms": self.delays_ms,
            "errors": self.errors,
            "pongs": self.pongs,
            "lag_max_ms": self.lag_max_ms,
            "seconds": self.stopped - self.started,
        }


class Generator:
    def __init__(self, conn: Connection, ping_seconds: float) -> None:
        self.conn = conn
        self.ping_seconds = ping_seconds
        self.socks: list[Sock] = []
        self.calls: list[tuple[Sock, Sock]] = []
        self.runs: dict[int, RunStats] = {}
        self.late: Counter[int] = Counter()  # signals of a run already reported, by run
        self.pong_ms: list[float] = []
        self.pongs_late = 0  # later than call.js's pongTimeout (10 s): a browser reconnects
        self.other: Counter[str] = Counter()  # other messages received, by type
        # (side, request id, status) -> when that socket heard of it
        self.payments: dict[tuple[str, str, str], float] = {}
        self.payment_waiters: dict[tuple[str, str, str], asyncio.Future[float]] = {}
        self.background: asyncio.Task[None] | None = None
        self.pinger: asyncio.Task[None] | None = None
        self.readers: set[asyncio.Future[None]] = set()

    # ------------------------------------------------------------- receiving

    def on_message(self, sock: Sock, raw: str | bytes) -> None:
        now_ns = time.monotonic_ns()
        data = json.loads(raw)
        kind = data.get("type")
        if kind == "signal":
            parts = data["candidate"]["candidate"].split(" ")
            run, seq, ns = int(parts[0][10:]), int(parts[5]), int(parts[-1])
            stats = self.runs.get(run)
            if stats is None or stats.stopped:
                self.late[run] += 1
            elif seq in stats.received:
                stats.duplicates += 1
            else:
                stats.received.add(seq)
                stats.delays_ms.append((now_ns - ns) / 1e6)
            return
        if sock.welcomed is not None and not sock.welcomed.done():
            # The first message is the welcome (CareCall) or the relay's hello.
            sock.welcomed.set_result(time.monotonic())
        if kind == "pong":
            if sock.ping_at:
                rtt = time.monotonic() - sock.ping_at
                self.pong_ms.append(rtt * 1000)
                for stats in self.runs.values():
                    if not stats.stopped:
                        stats.pongs += 1
                if rtt > 10:
                    self.pongs_late += 1
                sock.ping_at = 0.0
            return
        if kind == "payment":
            request = data.get("request") or {}
            key = (sock.spec.side, str(request.get("id")), str(request.get("status")))
            now = time.monotonic()
            self.payments.setdefault(key, now)
            waiter = self.payment_waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(now)
            return
        if kind == "error":
            for stats in self.runs.values():
                if not stats.stopped:
                    stats.errors += 1
        self.other[str(kind)] += 1

    async def reader(self, sock: Sock) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in sock.ws:
                self.on_message(sock, raw)
        except ConnectionClosed:
            pass
        finally:
            sock.closed = True
            sock.close_code = sock.ws.close_code
            sock.close_reason = sock.ws.close_reason or ""
            if sock.welcomed is not None and not sock.welcomed.done():
                sock.welcomed.set_exception(
                    RuntimeError(f"closed before welcome: {sock.close_code} {sock.close_reason}")
                )

    # ------------------------------------------------------------- commands

    async def connect(
        self, specs: list[SocketSpec], concurrency: int, timeout: float
    ) -> dict[str, Any]:
        from websockets.asyncio.client import connect

        gate = asyncio.Semaphore(concurrency)
        loop = asyncio.get_running_loop()
        failures: list[str] = []
        durations: list[float] = []
        opened: dict[tuple[int, str], Sock] = {}

        async def open_one(spec: SocketSpec) -> None:
            async with gate:
                started = time.monotonic()
                sock = Sock(spec=spec, welcomed=loop.create_future())
                try:
                    sock.ws = await connect(
                        spec.url,
                        origin=spec.origin,  # type: ignore[arg-type]
                        additional_headers={"Cookie": spec.cookie} if spec.cookie else None,
                        user_agent_header="Mozilla/5.0 (bench/realtime.py)",
                        proxy=None,
                        open_timeout=timeout,
                        ping_interval=None,
                        close_timeout=2,
                        max_size=16 * 1024 * 1024,
                    )
                    task = asyncio.ensure_future(self.reader(sock))
                    self.readers.add(task)
                    task.add_done_callback(self.readers.discard)
                    assert sock.welcomed is not None
                    done = await asyncio.wait_for(sock.welcomed, timeout)
                except Exception as error:
                    failures.append(
                        f"{spec.side} of call {spec.call}: {type(error).__name__}: {error}"
                    )
                    if sock.ws is not None:
                        await sock.ws.close()
                    return
                durations.append(done - started)
                opened[(spec.call, spec.side)] = sock
                self.socks.append(sock)

        started = time.monotonic()
        await asyncio.gather(*(open_one(spec) for spec in specs))
        seconds = time.monotonic() - started
        by_call: dict[int, dict[str, Sock]] = {}
        for (call, side), sock in opened.items():
            by_call.setdefault(call, {})[side] = sock
        for sides in by_call.values():
            if "patient" in sides and "clinician" in sides:
                self.calls.append((sides["patient"], sides["clinician"]))
        if self.pinger is None and self.ping_seconds > 0:
            self.pinger = asyncio.ensure_future(self.ping_loop())
        return {
            "opened": len(opened),
            "failed": failures[:20],
            "failures": len(failures),
            "seconds": seconds,
            "durations": durations,
        }

    async def ping_loop(self) -> None:
        """Every open socket pings every `ping_seconds`, spread evenly as pages load at random."""
        index = 0
        started = time.monotonic()
        done = 0
        while True:
            await asyncio.sleep(0.05)
            socks = [s for s in self.socks if not s.closed]
            if not socks:
                continue
            due = int((time.monotonic() - started) * len(socks) / self.ping_seconds)
            while done < due:
                sock = socks[index % len(socks)]
                index += 1
                done += 1
                if not sock.ping_at:  # one ping in flight per socket, as call.js has
                    sock.ping_at = time.monotonic()
                    try:
                        await sock.ws.send(PING)
                    except Exception:
                        sock.ping_at = 0.0

    async def drive(self, run: int, rate: float, seconds: float | None, start_at: float) -> None:
        """Send `rate` signals per second over the calls, round robin, alternating sides."""
        from websockets.exceptions import ConnectionClosed

        stats = self.runs[run]
        delay = start_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        calls = self.calls
        t0 = time.monotonic()
        stats.started = t0
        end = t0 + seconds if seconds is not None else float("inf")
        seq = 0
        n = len(calls)
        while n:
            now = time.monotonic()
            if now >= end:
                break
            due = int((now - t0) * rate)
            if seq < due:
                # How late the most overdue message goes out (the tick is 5 ms).
                late = time.monotonic() - (t0 + seq / rate)
                stats.lag_max_ms = max(stats.lag_max_ms, late * 1000)
            while seq < due:
                patient, clinician = calls[seq % n]
                src, dst = (patient, clinician) if (seq // n) % 2 == 0 else (clinician, patient)
                candidate = CANDIDATE.format(run=run, seq=seq, ns=time.monotonic_ns())
                text = SIGNAL.format(to=src.spec.peer, candidate=candidate)
                stats.sent += 1
                seq += 1
                if src.closed or dst.closed:
                    stats.send_failed += 1
                    continue
                try:
                    await src.ws.send(text)
                except ConnectionClosed:
                    stats.send_failed += 1
            await asyncio.sleep(0.005)

    async def run(
        self, run: int, rate: float, seconds: float, start_at: float, drain: float
    ) -> dict[str, Any]:
        stats = self.runs[run] = RunStats(run=run, rate=rate)
        cpu0 = os.times()
        await self.drive(run, rate, seconds, start_at)
        sent_end = time.monotonic()
        deadline = sent_end + drain
        while time.monotonic() < deadline and len(stats.received) < stats.sent - stats.send_failed:
            await asyncio.sleep(0.02)
        stats.stopped = time.monotonic()
        cpu1 = os.times()
        out = stats.report()
        out["send_seconds"] = sent_end - stats.started
        out["cpu_seconds"] = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
        return out

    async def background_start(self, run: int, rate: float) -> dict[str, Any]:
        self.runs[run] = RunStats(run=run, rate=rate)
        self.background = asyncio.ensure_future(self.drive(run, rate, None, 0.0))
        return {"ok": True}

    async def background_stop(self, run: int, drain: float) -> dict[str, Any]:
        stats = self.runs[run]
        if self.background is not None:
            self.background.cancel()
            self.background = None
        sent_end = time.monotonic()
        deadline = sent_end + drain
        while time.monotonic() < deadline and len(stats.received) < stats.sent - stats.send_failed:
            await asyncio.sleep(0.02)
        stats.stopped = time.monotonic()
        out = stats.report()
        out["send_seconds"] = sent_end - stats.started
        return out

    async def wait_payment(
        self, side: str, request_id: str, status: str, timeout: float
    ) -> float | None:
        key = (side, request_id, status)
        if key in self.payments:
            return self.payments[key]
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.payment_waiters[key] = waiter
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            self.payment_waiters.pop(key, None)
            return None

    async def status(self) -> dict[str, Any]:
        closed = Counter(f"{s.close_code} {s.close_reason}".strip() for s in self.socks if s.closed)
        pongs = sorted(self.pong_ms)
        return {
            "open": sum(1 for s in self.socks if not s.closed),
            "closed": dict(closed),
            "pongs": len(pongs),
            "pong_p99_ms": pongs[int(0.99 * (len(pongs) - 1))] if pongs else None,
            "pongs_late": self.pongs_late,
            "late_signals": sum(self.late.values()),
            "other": dict(self.other),
        }

    async def close_all(self) -> dict[str, Any]:
        if self.pinger is not None:
            self.pinger.cancel()
            self.pinger = None
        socks, self.socks, self.calls = self.socks, [], []
        await asyncio.gather(*(s.ws.close() for s in socks if not s.closed), return_exceptions=True)
        self.pong_ms.clear()
        self.pongs_late = 0
        self.late.clear()
        self.other.clear()
        return {"closed": len(socks)}

    async def handle(self, command: str, args: dict[str, Any]) -> Any:
        if command == "connect":
            return await self.connect(args["specs"], args["concurrency"], args["timeout"])
        if command == "run":
            return await self.run(**args)
        if command == "background_start":
            return await self.background_start(**args)
        if command == "background_stop":
            return await self.background_stop(**args)
        if command == "wait_payment":
            return await self.wait_payment(**args)
        if command == "status":
            return await self.status()
        if command == "close_all":
            return await self.close_all()
        if command == "cpu":
            t = os.times()
            return t.user + t.system
        raise ValueError(f"unknown command {command}")


def _serve(conn: Connection, ping_seconds: float) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        generator = Generator(conn, ping_seconds)
        lock = threading.Lock()
        stop = loop.create_future()

        async def answer(tag: int, command: str, args: dict[str, Any]) -> None:
            try:
                result: Any = ("ok", await generator.handle(command, args))
            except Exception as error:
                result = ("error", f"{type(error).__name__}: {error}")
            with lock:
                conn.send((tag, result))

        def read() -> None:
            while True:
                try:
                    tag, command, args = conn.recv()
                except EOFError:
                    command = "quit"
                if command == "quit":
                    loop.call_soon_threadsafe(stop.set_result, None)
                    return
                asyncio.run_coroutine_threadsafe(answer(tag, command, args), loop)

        threading.Thread(target=read, daemon=True).start()
        await stop
        await generator.close_all()

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


def serve(conn: Connection, ping_seconds: float) -> None:
    """The generator process's entry point (multiprocessing target)."""
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    _serve(conn, ping_seconds)
