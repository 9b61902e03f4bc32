"""Credentials never appear in what a command prints or writes.

The test project keeps a password, a user name and a numeric PIN in
``conf/local/credentials.yml``. Its dataset logs the driver URL it connects to, which holds
all three, and quotes that URL when the login is refused or its port is invalid — as real
database drivers do. Every command below is run, and every byte it prints or writes is
searched for each secret.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import Invoke, read_json, write_files
from click.testing import Result

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.datasets.config import ConfigLoader

PACKAGE = "vault"
PASSWORD = "hunter2-PLANTED-password"
USER = "planted-db-user"
PIN = "73914682"
SECRETS = (PASSWORD, USER, PIN)

CREDENTIALS = f"""
    db:
      user: {USER}
      password: {PASSWORD}
      pin: {PIN}
"""

FILES = {
    "pyproject.toml": f"""
        [project]
        name = "{PACKAGE}"
        version = "0.1.0"

        [tool.pipeloop]
        package = "{PACKAGE}"
    """,
    "conf/local/credentials.yml": CREDENTIALS,
    "conf/badport/credentials.yml": CREDENTIALS,
    "conf/base/catalog.yml": """
        rows:
          type: vault.datasets.RemoteDataset
          host: db.example.com
          credentials: db
        broken_rows:
          type: vault.datasets.RemoteDataset
          host: db.example.com
          refuse: true
          credentials: db
        total:
          type: JSONDataset
          filepath: data/total.json
    """,
    "conf/badport/catalog.yml": """
        rows:
          type: vault.datasets.RemoteDataset
          host: db.example.com
          port: nope
          credentials: db
    """,
    f"src/{PACKAGE}/__init__.py": "",
    f"src/{PACKAGE}/datasets.py": """
        import logging

        from pipeloop.datasets import AbstractDataset

        logger = logging.getLogger(__name__)


        class RemoteDataset(AbstractDataset):
            '''A table reached with a login, as a database driver reaches it.'''

            def __init__(self, host, credentials, port=5432, refuse=False):
                self._host = host
                self._credentials = credentials
                self._refuse = refuse
                if not str(port).isdigit():
                    raise ValueError(f"invalid port {port!r} in {self._url()}")

            def _url(self):
                c = self._credentials
                return f"db://{c['user']}:{c['password']}@{self._host}/rows?pin={c['pin']}"

            def _load(self):
                logger.info("connecting to %s", self._url())
                if self._refuse:
                    raise ConnectionError(f"login refused by {self._url()}")
                return [1, 2, 3]

            def _save(self, data):
                raise NotImplementedError

            def _describe(self):
                return {"host": self._host, "credentials": self._credentials}
    """,
    f"src/{PACKAGE}/pipeline_registry.py": """
        from pipeloop import Pipeline, node


        def add(rows):
            return sum(rows)


        def register_pipelines():
            return {
                "__default__": Pipeline([node(add, "rows", "total", name="add")]),
                "broken": Pipeline([node(add, "broken_rows", "total", name="add",
                                         retries=1, retry_delay=0.01)]),
            }
    """,
}


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    return write_files(tmp_path / PACKAGE, FILES)


def assert_no_secret(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked in {where}:\n{text}"


def assert_no_secret_in_files(project: Path) -> None:
    """No file of the project holds a secret but the credentials files themselves."""
    for path in project.rglob("*"):
        if path.is_file() and path.name != "credentials.yml" and "__pycache__" not in path.parts:
            assert_no_secret(str(path), path.read_text(encoding="utf-8", errors="replace"))


def checked(result: Result, command: str, exit_code: int) -> Result:
    assert result.exit_code == exit_code, result.output
    assert_no_secret(f"`pipeloop {command}` stdout", result.stdout)
    assert_no_secret(f"`pipeloop {command}` stderr", result.stderr)
    return result


def test_a_successful_run_with_trace_and_verbose(vault: Path, invoke: Invoke) -> None:
    result = checked(invoke("run", "--project", vault, "--trace", vault / "trace.json",
                            "--verbose"), "run", 0)
    assert "connecting to db://***:***@db.example.com/rows?pin=***" in result.stderr
    assert read_json(vault / "data" / "total.json") == 6
    assert (vault / "trace.json").is_file()
    assert_no_secret_in_files(vault)


@pytest.mark.parametrize("options", [
    ["--verbose", "--trace", "{project}/failed.json"],
    ["--keep-going"],
    ["--runner", "ThreadRunner", "--no-async"],
    ["--parallel", "--max-workers", "1", "--verbose"],
], ids=["verbose-trace", "keep-going", "thread", "process"])
def test_a_failing_load_with_retries(vault: Path, invoke: Invoke, options: list[str]) -> None:
    options = [option.format(project=vault) for option in options]
    result = checked(invoke("run", "--project", vault, "-p", "broken", *options), "run", 1)
    stderr = result.stderr
    # The error is still there to read, with the secrets masked.
    assert "login refused by db://***:***@db.example.com/rows?pin=***" in stderr
    assert "RemoteDataset(host='db.example.com', credentials={'user': '***'" in stderr
    assert "failed (attempt 1 of 2)" in stderr  # the retry's log line
    if "--verbose" in options:
        assert "Traceback (most recent call last):" in stderr
        assert "ConnectionError: login refused by db://***:***@" in stderr
    if "--trace" in options:
        assert "login refused by db://***:***@" in (vault / "failed.json").read_text()
    assert_no_secret_in_files(vault)


def test_a_dataset_that_cannot_be_built(vault: Path, invoke: Invoke) -> None:
    for command in (["run"], ["catalog", "list"]):
        result = checked(invoke(*command, "--project", vault, "--env", "badport", "--verbose"),
                         " ".join(command), 1)
        assert "invalid port 'nope' in db://***:***@db.example.com" in result.stderr


def test_inspecting_the_project(vault: Path, invoke: Invoke) -> None:
    for command in (["catalog", "list"], ["catalog", "list", "--format", "json"],
                    ["pipeline", "describe"], ["pipeline", "describe", "broken"],
                    ["pipeline", "describe", "--format", "json"], ["pipeline", "list"]):
        result = checked(invoke(*command, "--project", vault), " ".join(command), 0)
        assert result.stdout.strip()
    assert "RemoteDataset" in invoke("catalog", "list", "--project", vault).stdout


def test_repr_of_the_catalog_and_its_datasets(vault: Path) -> None:
    loader = ConfigLoader(vault / "conf")
    catalog = DataCatalog.from_config(loader.catalog, loader.credentials)
    assert_no_secret("repr(catalog)", repr(catalog))
    for name in catalog.list():
        assert_no_secret(f"repr of {name}", repr(catalog[name]))
        assert_no_secret(f"str of {name}", str(catalog[name]))
