"""Run records: what ``Project.resume()`` (and ``pipeloop run --resume``) needs to finish a run.

Each run of a project keeps one small JSON file, ``.pipeloop/runs/<run id>.json``::

    {"format": 2, "run_id": "...", "status": "failed", "started_at": "...", "ended_at": "...",
     "request": {"pipelines": ["training"], "params": {"lr": 0.1}, ...},
     "options": {...}, "argv": ["-p", "training", "--params", "lr=0.1"],
     "resume_nodes": ["train", "evaluate"]}

``request`` holds the arguments of ``Project.run``; ``options`` and ``argv`` the command line
of ``pipeloop run``, when the CLI started the run. A record is written as the run starts
(``running``) and when it ends: ``completed``, ``failed`` or ``interrupted`` with the nodes
``from_nodes`` must restart from. Each write replaces the file atomically, and
``.pipeloop/last_run.json`` is a copy of the newest record, for people and tools.

Runs of one project may overlap (two terminals, a CI job): each keeps its own record, so a run
that succeeds while another fails does not erase what resuming the failure needs.
"""

from __future__ import annotations

import json
import logging
import shlex
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pipeloop.datasets.atomic import write_atomically
from pipeloop.errors import ConfigError, ResumeError

__all__ = ["RECORD_FOLDER", "RecordStatus", "RunRecord", "log_resume", "read_records",
           "record_path", "resumable_run"]

logger = logging.getLogger("pipeloop.project")

RECORD_FOLDER = ".pipeloop"
_RUNS = "runs"
_LAST = "last_run.json"
_FORMAT = 2
_FOLDER_GITIGNORE = "# Written by pipeloop runs for resuming; not for version control.\n*\n"


class RecordStatus(StrEnum):
    """How the recorded run ended (or that it has not, yet)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


def _now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="microseconds")


def record_path(project_root: Path, run_id: str | None = None) -> Path:
    """Where a run's record lives (``run_id=None``: the copy of the newest one)."""
    folder = project_root / RECORD_FOLDER
    return folder / _LAST if run_id is None else folder / _RUNS / f"{run_id}.json"

@dataclass
class RunRecord:
    """One run of a project.

    Attributes:
        run_id: the run's id.
        request: the arguments of ``Project.run``, JSON-ready.
        options: ``pipeloop run``'s options by parameter name (empty from Python).
        argv: the command line that started it (without ``pipeloop run``).
        status: how it ended.
        resume_nodes: for a failed or interrupted run, the nodes ``from_nodes`` restarts
            from; empty when no node ran or the failure was not a node's (the whole run is
            then repeated).
        started_at: when it started (ISO 8601, UTC).
        ended_at: when it ended, or ``None`` while running.
    """

    run_id: str
    request: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    status: RecordStatus = RecordStatus.RUNNING
    resume_nodes: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=_now)
    ended_at: str | None = None

    def ended(self, status: RecordStatus, resume_nodes: list[str] | None = None) -> None:
        """Mark the run as ended with ``status``."""
        self.status = status
        self.resume_nodes = list(resume_nodes or [])
        self.ended_at = _now()

    def to_json(self) -> dict[str, Any]:
        """The record as written to the file."""
        return {"format": _FORMAT, "run_id": self.run_id, "status": self.status.value,
                "started_at": self.started_at, "ended_at": self.ended_at,
                "request": self.request, "options": self.options, "argv": self.argv,
                "resume_nodes": self.resume_nodes}

    @classmethod
    def from_json(cls, data: Any) -> RunRecord:
        """The record a file holds.

        Raises:
            ValueError: ``data`` is not a record this version of pipeloop writes.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"not a format-{_FORMAT} run record")
        request, options = data.get("request"), data.get("options")
        argv, nodes = data.get("argv"), data.get("resume_nodes")
        if (not isinstance(request, dict) or not isinstance(options, dict)
                or not isinstance(argv, list) or not isinstance(nodes, list)
                or not all(isinstance(item, str) for item in [*argv, *nodes])):
            raise ValueError("request, options, argv or resume_nodes is missing or malformed")
        return cls(run_id=str(data.get("run_id")), request=request, options=options,
                   argv=argv, status=RecordStatus(str(data.get("status"))),
                   resume_nodes=nodes, started_at=str(data.get("started_at")),
                   ended_at=data.get("ended_at"))

    def write(self, project_root: Path) -> None:
        """Keep this record (and its copy as the newest), atomically. A record that cannot
        be written costs only resuming, never the run: the failure is logged."""
        path = record_path(project_root, self.run_id)
        text = json.dumps(self.to_json(), indent=2) + "\n"
        try:
            ignore = project_root / RECORD_FOLDER / ".gitignore"
            if not ignore.exists():
                write_atomically(ignore, _FOLDER_GITIGNORE)
            write_atomically(path, text)
            write_atomically(record_path(project_root), text)
        except OSError as exc:
            logger.warning("Cannot write the run record %s (%s); resuming will not know "
                           "about this run.", path, exc)


def read_records(project_root: Path) -> list[RunRecord]:
    """Every run record of the project, oldest first.

    Raises:
        ConfigError: a record exists but cannot be read (delete it to start afresh).
    """
    records = []
    for path in sorted((project_root / RECORD_FOLDER / _RUNS).glob("*.json")):
        try:
            records.append(RunRecord.from_json(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
            raise ConfigError(f"Cannot read the run record {path}: {exc}.").with_hint(
                "Delete it, then run the pipeline without --resume.") from exc
    return sorted(records, key=lambda record: record.started_at)


def resumable_run(project_root: Path) -> RunRecord:
    """The run that resuming finishes: the newest one that failed or was interrupted and
    that no run started after it ended has completed since.

    Raises:
        ResumeError: nothing to resume (no record, the newest runs completed, or the newest
            is still ``running``).
        ConfigError: a record cannot be read.
    """
    records = read_records(project_root)
    if not records:
        raise ResumeError("Nothing to resume: no run of this project is recorded "
                          f"({record_path(project_root).parent / _RUNS} is empty).")
    for record in reversed(records):
        if record.status in (RecordStatus.FAILED, RecordStatus.INTERRUPTED):
            assert record.ended_at is not None
            later = [other for other in records if other.started_at > record.ended_at
                     and other.status is RecordStatus.COMPLETED]
            if not later:
                return record
            break
    newest = records[-1]
    if newest.status is RecordStatus.RUNNING:
        again = (f"Run it again with: {shlex.join(['pipeloop', 'run', *newest.argv])}"
                 if newest.argv else None)
        raise ResumeError(
            f"Cannot resume: the last run (started {newest.started_at}) has not recorded how "
            "it ended; it is still running, or was killed before it could.").with_hint(again)
    raise ResumeError(f"Nothing to resume: the last run (started {newest.started_at}) "
                      "completed.")


def log_resume(record: RunRecord) -> None:
    """Log which run is resumed, and from where."""
    start = (f"from nodes {', '.join(record.resume_nodes)}" if record.resume_nodes
             else "from the start")
    logger.info("Resuming the last run (started %s, %s) %s.", record.started_at,
                record.status.value, start)
