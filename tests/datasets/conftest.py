"""Fixtures of the dataset tests: a process killed mid-save, and a local S3 server."""

from __future__ import annotations

import gc
import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_KILLED_WRITER = """
import pathlib, sys, time
from pipeloop.datasets.atomic import begin_write
staging = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else None
write = begin_write(sys.argv[1], exclusive=staging is not None, staging=staging)
with open(write.path, "wb") as file:
    file.write(b"half a docu")
print(write.path, flush=True)
time.sleep(600)
"""


def _killed_writer(path: Path, staging: Path | None = None) -> Path:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [sys.executable, "-c", _KILLED_WRITER, str(path)]
    if staging is not None:
        args.append(str(staging))
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        temporary = Path(process.stdout.readline().decode().strip())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        if process.stdout is not None:
            process.stdout.close()
    assert temporary.is_file(), "the writer died before it began writing"
    return temporary


@pytest.fixture
def killed_writer() -> Callable[..., Path]:
    """``killed_writer(path, staging=None)``: run a process that starts an atomic write of
    ``path`` (exclusive, staged in ``staging``, when given), kill it with SIGKILL mid-write,
    and return the temporary file it left behind."""
    return _killed_writer


_BUCKETS = itertools.count()


@dataclass(frozen=True)
class S3Server:
    """A local S3 endpoint (moto) and credentials it accepts."""

    endpoint_url: str

    @property
    def fs_args(self) -> dict[str, object]:
        return {"client_kwargs": {"endpoint_url": self.endpoint_url, "region_name": "us-east-1"}}

    credentials = {"key": "testing-key", "secret": "testing-secret"}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    """A moto S3 server on 127.0.0.1 and a free port, for one test module. Skips (with the
    reason) only when moto or s3fs cannot be imported.

    Module-scoped, and torn down with every s3fs client's connections, so that no socket or
    thread of it outlives the module (the reliability suite counts both)."""
    moto_server = pytest.importorskip(
        "moto.server", reason="the S3 tests need moto[server] (the [test] extra)"
    )
    s3fs = pytest.importorskip("s3fs", reason="the S3 tests need s3fs (the [test] extra)")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(f"http://{host}:{port}")
    finally:
        for fs in list(s3fs.S3FileSystem._cache.values()):
            client = getattr(fs, "_s3", None)
            if client is not None:
                s3fs.S3FileSystem.close_session(fs.loop, client)
        s3fs.S3FileSystem.clear_instance_cache()
        gc.collect()
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> Iterator[str]:
    """A fresh, empty bucket on the local S3 server; its name."""
    import s3fs

    # No region: s3fs would send it as a LocationConstraint, which us-east-1 refuses.
    fs = s3fs.S3FileSystem(**s3_server.credentials, skip_instance_cache=True,
                           client_kwargs={"endpoint_url": s3_server.endpoint_url})
    name = f"bucket-{next(_BUCKETS)}"
    fs.mkdir(name)
    try:
        yield name
    finally:
        fs.rm(name, recursive=True)
        if fs._s3 is not None:
            s3fs.S3FileSystem.close_session(fs.loop, fs._s3)
