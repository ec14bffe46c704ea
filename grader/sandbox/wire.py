"""Messages between the grader and its zygote: length-prefixed JSON over a unix socket, file descriptors beside.

A unix socket can carry open file descriptors (``SCM_RIGHTS``). That is how the
grader hands each grading child the write ends of two pipes whose read ends it
keeps outside the sandbox: whatever the child reports can only ever reach the
grader through the pipes made for that child.
"""

from __future__ import annotations

import json
import socket
import struct

HEADER = struct.Struct("!I")  # the body's length in bytes
MAX_FDS = 4
MAX_BODY = 64 * 2**20  # a learner file bigger than this is not a course exercise


class WireClosed(Exception):
    """The other end closed the socket, or sent something that is not a message."""


def send(sock: socket.socket, message: dict, fds: tuple[int, ...] = ()) -> None:
    """Send ``message``; ``fds`` travel with its first byte."""
    body = json.dumps(message).encode()
    header = HEADER.pack(len(body))
    if fds:
        socket.send_fds(sock, [header], list(fds))
    else:
        sock.sendall(header)
    sock.sendall(body)


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise WireClosed("the other end closed the socket")
        data += chunk
    return data


def receive(sock: socket.socket) -> tuple[dict, list[int]]:
    """The next message and the file descriptors that came with it; WireClosed at the end."""
    header, fds, _, _ = socket.recv_fds(sock, HEADER.size, MAX_FDS)
    if not header:
        raise WireClosed("the other end closed the socket")
    header += _read_exactly(sock, HEADER.size - len(header))
    (length,) = HEADER.unpack(header)
    if length > MAX_BODY:
        raise WireClosed(f"a message of {length} bytes is too long")
    try:
        message = json.loads(_read_exactly(sock, length))
    except ValueError as exc:
        raise WireClosed("a message that is not JSON") from exc
    if not isinstance(message, dict):
        raise WireClosed("a message that is not a JSON object")
    return message, fds
