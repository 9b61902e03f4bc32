"""Credentials never appear in what a command prints or writes.

The test project keeps a password, a user name, a numeric PIN, an API key full of
characters that escape (a backslash, both quotes, non-ASCII) and a ``!!int``-tagged token in
``conf/local/credentials.yml``. Its dataset keeps copies of its credentials
(``dict(credentials)``, ``{**credentials}``) and shows them in its repr, logs the driver URL
it connects to and the headers it sends (``%r``, ``json.dumps``), warns with them, and
quotes them when the login is refused or its port is invalid — as real database drivers do.
Every command below is run, and every byte it prints or writes is searched for each secret,
raw and in every escaped form.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import REPO, Invoke, read_json, write_files
from click.testing import Result

from pipeloop import SecretMasker
from pipeloop.datasets.catalog import DataCatalog
from pipeloop.datasets.config import ConfigLoader

PACKAGE = "vault"
PASSWORD = "hunter2-PLANTED-password"
USER = "planted-db-user"
PIN = "73914682"
API_KEY = "key\\with'both\"quotes-caf\u00e9-\u20ac-PLANTED"
TOKEN = "5550123987"
SECRETS = (PASSWORD, USER, PIN, API_KEY, TOKEN)

CREDENTIALS = f"""
    db:
      user: {USER}
      password: {PASSWORD}
      pin: {PIN}
      api_key: {json.dumps(API_KEY)}
      token: !!int "{TOKEN}"
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
        noisy_rows:
          type: vault.datasets.RemoteDataset
          host: db.example.com
          refuse: true
          warn: true
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
        import json
        import logging
        import warnings

        from pipeloop.datasets import AbstractDataset

        logger = logging.getLogger(__name__)


        class RemoteDataset(AbstractDataset):
            '''A table reached with a login, as a database driver reaches it.'''

            def __init__(self, host, credentials, port=5432, refuse=False, warn=False):
                self._host = host
                self._credentials = credentials
                self._copy = dict(credentials)
                self._spread = {**credentials}
                self._refuse = refuse
                self._warn = warn
                if not str(port).isdigit():
                    raise ValueError(f"invalid port {port!r} in {self._url()}")

            def _url(self):
                c = self._copy
                return f"db://{c['user']}:{c['password']}@{self._host}/rows?pin={c['pin']}"

            def _load(self):
                key, token = self._copy["api_key"], self._spread["token"]
                logger.info("connecting to %s", self._url())
                logger.info("sending headers %r", {"X-Api-Key": f"{key}", "X-Token": f"{token}"})
                logger.info("login as json: %s", json.dumps(self._copy))
                if self._warn:
                    warnings.warn(f"slow login for {self._url()!r} with key {key!r}",
                                  stacklevel=1)
                if self._refuse:
                    raise ConnectionError(f"login refused by {self._url()} for key {key!r}")
                return [1, 2, 3]

            def _save(self, data):
                raise NotImplementedError

            def _describe(self):
                return {"host": self._host, "credentials": self._credentials,
                        "copy": self._copy, "spread": self._spread}
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
                "noisy": Pipeline([node(add, "noisy_rows", "total", name="add")]),
            }
    """,
}


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    return write_files(tmp_path / PACKAGE, FILES)


def forms(secret: str) -> set[str]:
    """``secret`` as it would show in text: raw, and escaped once or twice as by ``repr``,
    ``ascii`` and ``json.dumps`` (quotes stripped)."""
    once = {secret, repr(secret)[1:-1], ascii(secret)[1:-1], json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1]}
    return once | {repr(form)[1:-1] for form in once} | {ascii(form)[1:-1] for form in once}


def assert_no_secret(where: str, text: str) -> None:
    for secret in SECRETS:
        for form in forms(secret):
            assert form not in text, f"{form!r} (of {secret!r}) leaked in {where}:\n{text}"


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
    assert "sending headers {'X-Api-Key': '***', 'X-Token': '***'}" in result.stderr
    assert 'login as json: {"user": "***", "password": "***", "pin": ***, "api_key": "***"' \
        in result.stderr
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


@pytest.mark.filterwarnings("always::UserWarning")
def test_warnings_go_through_the_log_and_its_mask(vault: Path, invoke: Invoke) -> None:
    result = checked(invoke("run", "--project", vault, "-p", "noisy"), "run", 1)
    assert "UserWarning: slow login for 'db://***:***@db.example.com/rows?pin=***' with key " \
        "'***'" in result.stderr
    assert "login refused by db://***:***@db.example.com/rows?pin=*** for key '***'" \
        in result.stderr


def run_in_a_process(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pipeloop`` in a fresh process, so that what its children (Dask's workers) print
    on the inherited stderr is captured too."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIPELOOP_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "pipeloop.cli.main", "run", "--project",
                           str(project), *args], cwd=project, env=env, capture_output=True,
                          text=True, timeout=540, check=False)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("pipeline", ["noisy", "broken"])
def test_dask_workers_print_nothing_secret(vault: Path, pipeline: str) -> None:
    pytest.importorskip("distributed")
    done = run_in_a_process(vault, "-p", pipeline, "--runner", "DaskRunner", "--verbose")
    assert done.returncode == 1, done.stderr
    assert_no_secret("stdout", done.stdout)
    assert_no_secret("stderr", done.stderr)
    # What the worker processes print is there to read, masked: distributed's own report of
    # the failed task, the project's log lines and warnings from the worker.
    assert "Compute Failed" in done.stderr
    assert "Exception: 'DatasetError(" in done.stderr
    assert "Failed while loading data from dataset RemoteDataset(host=" in done.stderr
    assert "login refused by db://***:***@db.example.com/rows?pin=***" in done.stderr
    if pipeline == "noisy":
        assert "UserWarning: slow login for 'db://***:***@db.example.com" in done.stderr
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


def test_repr_of_the_catalog_and_of_its_datasets_once_masked(vault: Path) -> None:
    loader = ConfigLoader(vault / "conf")
    catalog = DataCatalog.from_config(loader.catalog, loader.credentials)
    assert_no_secret("repr(catalog)", repr(catalog))
    masker = SecretMasker(catalog.secrets)
    for name in catalog.list():
        # The dataset shows its copies of the credentials; the mask hides them.
        assert_no_secret(f"repr of {name}", masker.mask(repr(catalog[name])))
        assert_no_secret(f"str of {name}", masker.mask(str(catalog[name])))
