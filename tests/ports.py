"""A TCP port on 127.0.0.1 that nothing listens on right now: where a test starts a server, or an address
that refuses connections (the kernel picks it, so parallel runs do not collide)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
