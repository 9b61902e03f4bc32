"""``DaskRunner`` keeps a catalog's secrets out of what its workers print.

A dataset built from configuration with credentials fails on a worker and quotes them, as a
database driver does: in its log line, in a warning and in its exception, which distributed
reports itself (``Compute Failed ... Exception: ...``). With worker processes that output
is the worker's own stderr (captured here at the file-descriptor level, so the cluster is
started inside each test); with worker threads it goes through this process's logging.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

from pipeloop import AbstractDataset, DataCatalog, Pipeline, node  # noqa: E402
from pipeloop.engine.runners.dask import DaskRunner  # noqa: E402
from pipeloop.errors import DatasetError  # noqa: E402

PASSWORD = "quote'n\"back\\slash-caf\u00e9-PLANTED"
USER = "planted-user"
SECRETS = (PASSWORD, USER)

logger = logging.getLogger("my_project.datasets")


class Remote(AbstractDataset):
    """A table behind a login that refuses it, quoting the login everywhere."""

    def __init__(self, host: str, credentials: dict[str, Any]) -> None:
        self._host = host
        self._login = dict(credentials)

    def _url(self) -> str:
        return f"db://{self._login['user']}:{self._login['password']}@{self._host}"

    def _load(self) -> Any:
        logger.warning("connecting to %s as %r", self._url(), self._login["password"])
        warnings.warn(f"slow login for {self._url()!r}", UserWarning, stacklevel=1)
        raise ConnectionError(f"login refused by {self._url()!r}")

    def _save(self, data: Any) -> None:
        raise NotImplementedError

    def _describe(self) -> dict[str, Any]:
        return {"host": self._host, "login": self._login}


def count(rows: Any) -> int:
    return len(rows)


def catalog() -> DataCatalog:
    return DataCatalog.from_config(
        {"rows": {"type": f"{__name__}.Remote", "host": "db.example.com", "credentials": "db"}},
        {"db": {"user": USER, "password": PASSWORD}},
    )


PIPELINE = Pipeline([node(count, "rows", "n", name="count")])


def forms(secret: str) -> set[str]:
    """``secret`` raw and escaped up to three times as by ``repr`` and ``json.dumps``."""
    found = {secret}
    for _ in range(3):
        found |= {escape(form)[1:-1] for form in found
                  for escape in (repr, ascii, json.dumps)}
    return found


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        for form in forms(secret):
            assert form not in text, f"{form!r} leaked:\n{text}"


@pytest.fixture
def worker_records() -> Iterator[io.StringIO]:
    """What distributed's worker logger emits in this process, whatever its propagation."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    worker_logger = logging.getLogger("distributed.worker")
    worker_logger.addHandler(handler)
    yield stream
    worker_logger.removeHandler(handler)


@pytest.mark.timeout(300)
def test_worker_processes_print_nothing_secret(capfd: pytest.CaptureFixture[str]) -> None:
    # The cluster starts inside the test, so its worker processes write to capfd's stderr.
    runner = DaskRunner(cluster_kwargs={"n_workers": 1, "processes": True,
                                        "threads_per_worker": 1, "dashboard_address": ":0"})
    with pytest.raises(DatasetError, match="login refused"):
        runner.run_sync(PIPELINE, catalog())
    out, err = capfd.readouterr()
    assert_no_secret(out)
    assert_no_secret(err)
    # The worker's output is there to read, masked.
    assert "Compute Failed" in err
    assert "login refused by" in err
    assert "connecting to db://***:***@db.example.com as '***'" in err
    assert "UserWarning: slow login for 'db://***:***@db.example.com'" in err


@pytest.mark.timeout(300)
@pytest.mark.filterwarnings("ignore::UserWarning")  # this process's warnings are the caller's
async def test_worker_threads_log_nothing_secret(worker_records: io.StringIO,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    async with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0",
                                        asynchronous=True) as cluster:
        with pytest.raises(DatasetError, match="login refused"):
            await DaskRunner(cluster.scheduler_address).run(PIPELINE, catalog())
        # The run's plugin is gone from the cluster once the run is over.
        assert not [name for name in cluster.scheduler.worker_plugins
                    if name.startswith("pipeloop-")]
    text = worker_records.getvalue()
    assert "Compute Failed" in text
    assert "login refused by" in text
    assert_no_secret(text)
    assert_no_secret(caplog.text)
    assert "connecting to db://***:***@db.example.com" in caplog.text
    # Masking ends with the run.
    logging.getLogger("distributed.worker").warning("after the run: %s", USER)
    assert worker_records.getvalue().endswith(f"after the run: {USER}\n")


PLUGINS: list[list[str]] = []


def note_plugins(x: int) -> int:
    PLUGINS.append([str(name) for name in distributed.get_worker().plugins])
    return x


@pytest.mark.timeout(300)
@pytest.mark.parametrize("credentials", [{}, {"db": {"password": PASSWORD}}])
def test_the_plugin_is_registered_only_for_secrets(credentials: dict[str, Any]) -> None:
    PLUGINS.clear()
    run_catalog = DataCatalog.from_config({"x": {"type": "MemoryDataset", "data": 1}},
                                          credentials)
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        outputs = DaskRunner(cluster.scheduler_address).run_sync(
            Pipeline([node(note_plugins, "x", "y")]), run_catalog)
    assert outputs == {"y": 1}
    [names] = PLUGINS
    assert any(name.startswith("pipeloop-mask-secrets-") for name in names) is bool(credentials)
