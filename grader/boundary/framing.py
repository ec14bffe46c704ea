"""Whole messages over the socket between the judge and the learner process: a length, then the bytes."""

from __future__ import annotations

import socket
import struct

HEADER = struct.Struct("!Q")
LARGEST = 1 << 31  # a message past 2 GiB is not a model this course builds: the learner process is misbehaving


class ProcessGone(Exception):
    """The other side closed the socket (the learner process ended)."""


def send(sock: socket.socket, data: bytes) -> None:
    sock.sendall(HEADER.pack(len(data)) + data)


def receive(sock: socket.socket) -> bytes:
    """The next whole message; ProcessGone when the other side is gone or sends nonsense."""
    size = HEADER.unpack(_exactly(sock, HEADER.size))[0]
    if size > LARGEST:
        raise ProcessGone(f"a message of {size} bytes")
    return _exactly(sock, size)


def _exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ProcessGone("the socket was closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
