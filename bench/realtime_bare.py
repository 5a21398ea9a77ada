"""The anchors of bench/realtime.py: the barest servers that do what CareCall's realtime path does.

    python bench/realtime_bare.py --port 8765            # the bare `websockets` relay
    BENCH_BARE_DB=/tmp/x.sqlite3 python -m uvicorn bench.realtime_bare:starlette_app --port 8766

Relay (`websockets`, one process): a socket opens `/ws/<participant id>`, is sent a `welcome`,
and from then on a `signal` naming another open socket in `to` is parsed, re-shaped as CareCall
does (`to` becomes `from`, the description or candidate is carried as it came) and sent to that
socket; a `ping` is answered with a `pong`. No authentication, no schema, no database: the floor
of relaying one JSON message between two sockets of one process on this machine.

Starlette app (under uvicorn, as CareCall is): the same relay on the same paths, plus
`POST /publish/<participant id>`, which writes a row to SQLite (CareCall's pragmas, in the thread
pool as a Django view would) and then sends `{"type": "payment", …}` to that participant's
socket: the floor of "a POST that writes a row and tells a websocket".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sqlite3
import threading
import time
from typing import Any

WELCOME = '{{"type": "welcome", "you": {{"id": "{me}"}}}}'
PONG = '{"type": "pong"}'


def relayed(me: str, data: dict[str, Any]) -> str | None:
    """CareCall's SignalOut shape for an inbound signal; None if it is not one."""
    if data.get("type") != "signal":
        return None
    out: dict[str, Any] = {"type": "signal", "from": me}
    for part in ("description", "candidate"):
        if data.get(part) is not None:
            out[part] = data[part]
    return json.dumps(out)


# ----------------------------------------------------------------- bare `websockets` relay


async def serve_relay(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.exceptions import ConnectionClosed

    sockets: dict[str, ServerConnection] = {}

    async def handler(ws: ServerConnection) -> None:
        me = ws.request.path.rstrip("/").rsplit("/", 1)[-1] if ws.request else ""
        sockets[me] = ws
        try:
            await ws.send(WELCOME.format(me=me))
            async for raw in ws:
                data = json.loads(raw)
                if not isinstance(data, dict):
                    continue
                if data.get("type") == "ping":
                    await ws.send(PONG)
                    continue
                text = relayed(me, data)
                peer = sockets.get(str(data.get("to")))
                if text is not None and peer is not None:
                    with contextlib.suppress(ConnectionClosed):
                        await peer.send(text)
        except ConnectionClosed:
            pass
        finally:
            if sockets.get(me) is ws:
                del sockets[me]

    # uvicorn's defaults where they differ from websockets': backlog 2048, 16 MiB frames, a
    # protocol ping every 20 s; permessage-deflate on, as both offer it and browsers take it.
    async with serve(
        handler, "127.0.0.1", port, backlog=2048, max_size=16 * 1024 * 1024, ping_interval=20
    ):
        await asyncio.Future()


def main() -> None:
    parser = argparse.ArgumentParser(description="bare websockets relay (bench/realtime.py)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop  # uvicorn runs CareCall on uvloop when it is installed: the same loop here
    except ImportError:
        asyncio.run(serve_relay(args.port))
    else:
        uvloop.run(serve_relay(args.port))


# ----------------------------------------------------------------- bare Starlette app


class _Rows:
    """One SQLite connection with CareCall's pragmas; inserts serialised as SQLite's are."""

    def __init__(self, path: str) -> None:
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.executescript(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            "CREATE TABLE IF NOT EXISTS published"
            " (id INTEGER PRIMARY KEY, target TEXT NOT NULL, body TEXT NOT NULL, at REAL NOT NULL);"
        )

    def insert(self, target: str, body: str) -> int:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            cursor = self.db.execute(
                "INSERT INTO published (target, body, at) VALUES (?, ?, ?)",
                (target, body, time.time()),
            )
            self.db.execute("COMMIT")
            return int(cursor.lastrowid or 0)


def make_starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    sockets: dict[str, WebSocket] = {}
    rows = _Rows(os.environ.get("BENCH_BARE_DB", ":memory:"))

    async def relay(ws: WebSocket) -> None:
        me = ws.path_params["me"]
        await ws.accept()
        sockets[me] = ws
        try:
            await ws.send_text(WELCOME.format(me=me))
            while True:
                data = json.loads(await ws.receive_text())
                if not isinstance(data, dict):
                    continue
                if data.get("type") == "ping":
                    await ws.send_text(PONG)
                    continue
                text = relayed(me, data)
                peer = sockets.get(str(data.get("to")))
                if text is not None and peer is not None:
                    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                        await peer.send_text(text)
        except WebSocketDisconnect:
            pass
        finally:
            if sockets.get(me) is ws:
                del sockets[me]

    async def publish(request: Request) -> JSONResponse:
        target = request.path_params["to"]
        body = await request.json()
        row = await run_in_threadpool(rows.insert, target, json.dumps(body))
        peer = sockets.get(target)
        if peer is not None:
            await peer.send_text(json.dumps({"type": "payment", "request": {**body, "row": row}}))
        return JSONResponse({"row": row}, status_code=201)

    return Starlette(
        routes=[
            WebSocketRoute("/ws/{me}", relay),
            WebSocketRoute("/ws/{me}/", relay),
            Route("/publish/{to}", publish, methods=["POST"]),
        ]
    )


def __getattr__(name: str) -> Any:
    # `uvicorn bench.realtime_bare:starlette_app` builds the app in the server process only.
    if name == "starlette_app":
        app = make_starlette_app()
        globals()["starlette_app"] = app
        return app
    raise AttributeError(name)


if __name__ == "__main__":
    main()
