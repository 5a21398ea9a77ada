"""A throwaway coturn on 127.0.0.1 with TURN REST credentials (`use-auth-secret`).

The configuration is the one verified for relay-only calls on loopback (docs/machine-notes.md):
`relay-ip=127.0.0.1` and `allow-loopback-peers` are what let a relay reach a peer on loopback.
Missing `turnserver` (Debian package coturn) skips locally and fails in CI (services.py).
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import socket
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from testsupport.processes import (
    log_tail,
    spawn,
    stop,
    tcp_port_is_free,
    udp_port_is_free,
    wait_until,
)
from testsupport.services import require_executable

REALM = "carecall.test"
RELAY_PORTS = 12  # a few allocations per call; a small range keeps the free-port search cheap

_STUN_BINDING_REQUEST = 0x0001
_STUN_BINDING_SUCCESS = 0x0101
_STUN_MAGIC_COOKIE = 0x2112A442


@dataclass(frozen=True)
class Coturn:
    port: int
    min_relay_port: int
    max_relay_port: int
    secret: str
    log: Path

    @property
    def udp_url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def stun_binding_answers(port: int, *, timeout: float = 0.3) -> bool:
    """True when a STUN Binding request to 127.0.0.1:port gets a Binding success back.

    Binding needs no credentials, so it tells "coturn is listening" apart from "auth works"."""
    transaction = secrets.token_bytes(12)
    request = struct.pack("!HHI", _STUN_BINDING_REQUEST, 0, _STUN_MAGIC_COOKIE) + transaction
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(request, ("127.0.0.1", port))
            data = s.recv(2048)
        except OSError:  # refused (nothing listening yet) or timed out
            return False
    if len(data) < 20:
        return False
    kind, _length, cookie = struct.unpack("!HHI", data[:8])
    return (
        kind == _STUN_BINDING_SUCCESS and cookie == _STUN_MAGIC_COOKIE and data[8:20] == transaction
    )


def _free_ports() -> tuple[int, int, int]:
    """A listening port (UDP and TCP) and a range of RELAY_PORTS free UDP ports.

    Chosen below Linux's ephemeral range (32768-60999), where the OS hands out ports itself,
    so that a browser's or server's own sockets are unlikely to take them before coturn does."""
    rng = random.SystemRandom()
    for _attempt in range(200):
        listen = rng.randrange(20000, 32000)
        first = listen + 2  # coturn may also use listen + 1 (RFC 5780's alternative port)
        ports = range(first, first + RELAY_PORTS)
        if (
            tcp_port_is_free(listen)
            and udp_port_is_free(listen)
            and udp_port_is_free(listen + 1)
            and all(udp_port_is_free(p) for p in ports)
        ):
            return listen, first, first + RELAY_PORTS - 1
    raise RuntimeError("no free ports for coturn between 20000 and 32000")


def _config(*, port: int, min_port: int, max_port: int, secret: str, folder: Path) -> str:
    return "\n".join(
        [
            "listening-ip=127.0.0.1",
            "relay-ip=127.0.0.1",
            f"listening-port={port}",
            f"min-port={min_port}",
            f"max-port={max_port}",
            "use-auth-secret",
            f"static-auth-secret={secret}",
            f"realm={REALM}",
            "no-tls",
            "no-dtls",
            "no-rfc5780",
            "fingerprint",
            "allow-loopback-peers",
            "no-cli",
            "no-software-attribute",
            # Its default pid file and user database are under /var; tests write only here.
            f"pidfile={folder / 'turnserver.pid'}",
            f"userdb={folder / 'turndb'}",
            "log-file=stdout",
            "simple-log",
            "verbose",
            "",
        ]
    )


@contextmanager
def throwaway_coturn(secret: str | None = None) -> Iterator[Coturn]:
    """Start turnserver on free loopback ports; yield where it listens; stop it at the end."""
    executable = require_executable("turnserver", why="the relay-only call test uses coturn")
    secret = secret or secrets.token_hex(16)
    folder = Path(tempfile.mkdtemp(prefix="carecall-coturn-"))
    log = folder / "turnserver.log"
    try:
        for _attempt in range(3):
            port, min_port, max_port = _free_ports()
            config = folder / "turnserver.conf"
            config.write_text(
                _config(
                    port=port, min_port=min_port, max_port=max_port, secret=secret, folder=folder
                )
            )
            os.chmod(config, 0o600)  # it holds the secret
            process = spawn([executable, "-c", str(config)], log=log, cwd=folder)
            try:
                wait_until(
                    partial(stun_binding_answers, port),
                    process=process,
                    what="turnserver",
                    log=log,
                )
            except RuntimeError:
                stop(process)
                continue
            try:
                yield Coturn(
                    port=port,
                    min_relay_port=min_port,
                    max_relay_port=max_port,
                    secret=secret,
                    log=log,
                )
            finally:
                stop(process)
            return
        raise RuntimeError(f"turnserver did not start:\n{log_tail(log)}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
