"""Loopback TCP connections as the kernel reports them (Linux's /proc/net/tcp).

Some things a test waits for happen only inside a server process: it has read a request, it has
stopped listening, or it has let go of a connection whose client is not reading (and so cannot see
a close frame or a FIN stuck behind the data it has not read). The kernel knows all three without
the test touching the sockets involved.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from pathlib import Path

_TABLE = Path("/proc/net/tcp")
_ESTABLISHED = "01"
_LISTEN = "0A"


@dataclass(frozen=True)
class _Socket:
    state: str
    unacknowledged: int
    """Bytes sent that the other end's kernel has not acknowledged yet."""
    unread: int
    """Bytes received that the process owning the socket has not read yet."""


def server_let_go(client: socket.socket) -> bool:
    """Whether the server has closed (or aborted) its end of `client`'s connection."""
    theirs = _find(client.getpeername(), client.getsockname())
    return theirs is None or theirs.state != _ESTABLISHED


def server_read_all(client: socket.socket) -> bool:
    """Whether the server process has read everything `client` has sent so far: the server's kernel
    has acknowledged all of it, and none of it is left in the server socket's receive queue."""
    mine = _find(client.getsockname(), client.getpeername())
    theirs = _find(client.getpeername(), client.getsockname())
    return mine is not None and mine.unacknowledged == 0 and theirs is not None and theirs.unread == 0


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Whether some process listens on `host:port`."""
    local = _address((host, port))
    return any(fields[1] == local and fields[3] == _LISTEN for fields in _rows())


def _find(local: tuple[str, int], remote: tuple[str, int]) -> _Socket | None:
    """The socket bound to `local` and connected to `remote`, if the kernel still has one."""
    wanted = (_address(local), _address(remote))
    for fields in _rows():
        if (fields[1], fields[2]) == wanted:
            unacknowledged, unread = (int(count, 16) for count in fields[4].split(":"))
            return _Socket(state=fields[3], unacknowledged=unacknowledged, unread=unread)
    return None


def _rows() -> list[list[str]]:
    return [line.split() for line in _TABLE.read_text().splitlines()[1:]]


def _address(address: tuple[str, int]) -> str:
    """An IPv4 `(host, port)` as /proc/net/tcp writes it: the address as a host-order word, in hex."""
    host, port = address[:2]
    return f"{int.from_bytes(socket.inet_aton(host), sys.byteorder):08X}:{port:04X}"
