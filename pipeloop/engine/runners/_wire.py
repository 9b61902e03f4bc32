"""Messages between a ``ParallelRunner`` and its worker processes, on the worker's own pipe.

A message is ``(kind, payload)``, pickled with protocol 5: large buffers (numpy arrays,
pandas columns, Arrow buffers, bytes) travel *out of band*, each as a frame of its own
written straight from the object's memory and read straight into a fresh ``bytearray``
that the rebuilt object then uses, so data is not copied into one big pickle on either
side. The frames of one message: a header (how many buffers, their sizes), the pickle,
then the buffers.

Both sides import this module, so it stays free of pipeloop's heavier modules.
"""

from __future__ import annotations

import pickle
import struct
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["Frames", "dumps", "loads", "recv", "recv_frames", "send", "send_frames"]

#: One message, ready to write: the pickle and its out-of-band buffers.
Frames = tuple[bytes, list[pickle.PickleBuffer]]

# Buffers smaller than this stay inside the pickle: a frame of their own costs more.
_OUT_OF_BAND_MIN = 64 * 1024


def dumps(kind: str, payload: Any) -> Frames:
    """Pickle one message; large contiguous buffers are kept apart, not copied.

    Raises:
        Exception: whatever pickling ``payload`` raises.
    """
    buffers: list[pickle.PickleBuffer] = []

    def keep_apart(buffer: pickle.PickleBuffer) -> bool:
        try:
            size = buffer.raw().nbytes
        except BufferError:  # not contiguous: pickled in band
            return True
        if size < _OUT_OF_BAND_MIN:
            return True
        buffers.append(buffer)
        return False

    data = pickle.dumps((kind, payload), protocol=5, buffer_callback=keep_apart)
    return data, buffers


def loads(data: bytes, buffers: list[bytearray]) -> tuple[str, Any]:
    """The message of :func:`dumps`'s frames."""
    kind, payload = pickle.loads(data, buffers=buffers)
    return kind, payload


def send_frames(conn: Connection, frames: Frames) -> None:
    """Write one message's frames (blocking)."""
    data, buffers = frames
    sizes = [buffer.raw().nbytes for buffer in buffers]
    conn.send_bytes(struct.pack(f"!I{len(sizes)}Q", len(sizes), *sizes))
    conn.send_bytes(data)
    for buffer in buffers:
        conn.send_bytes(buffer.raw())


def recv_frames(conn: Connection) -> tuple[bytes, list[bytearray]]:
    """Read one message's frames (blocking); the buffers are writable.

    Raises:
        EOFError: the other side closed its end (or died).
    """
    header = conn.recv_bytes()
    (count,) = struct.unpack_from("!I", header)
    sizes = struct.unpack_from(f"!{count}Q", header, 4)
    data = conn.recv_bytes()
    buffers = []
    for size in sizes:
        buffer = bytearray(size)
        if size:
            conn.recv_bytes_into(buffer)
        else:
            conn.recv_bytes()
        buffers.append(buffer)
    return data, buffers


def send(conn: Connection, kind: str, payload: Any) -> None:
    """Pickle and write one message (blocking)."""
    send_frames(conn, dumps(kind, payload))


def recv(conn: Connection) -> tuple[str, Any]:
    """Read and unpickle one message (blocking).

    Raises:
        EOFError: the other side closed its end (or died).
    """
    return loads(*recv_frames(conn))
