"""The run record: what ``pipeloop run --resume`` needs to finish the last run.

``pipeloop run`` keeps one small JSON file per project, ``.pipeloop/last_run.json``::

    {"format": 1, "status": "failed", "started_at": "...", "ended_at": "...",
     "options": {"pipeline_name": "training", "params": ["lr=0.1"], ...},
     "argv": ["-p", "training", "--params", "lr=0.1"],
     "resume_nodes": ["train", "evaluate"]}

It is written as a run starts (status ``running``), at the first Ctrl-C or SIGTERM
(``interrupted``, resuming from every node not yet finished), and when the run ends:
``completed``, ``failed`` or ``interrupted`` with the nodes ``--from-nodes`` must restart from
(the same nodes as the printed resume command). Each write replaces the file atomically. A
record still ``running`` belongs to a run that is still going, or that was killed before it
could say how it ended.

``options`` holds the run's options as ``pipeloop run`` parsed them (strings as typed, so
``--params`` values are read again the same way); ``argv`` is the command line, for messages.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pipeloop.cli.errors import CliError
from pipeloop.cli.trace import write_atomically

__all__ = ["RECORD_FOLDER", "RunRecord", "RunStatus", "read_record", "record_path"]

logger = logging.getLogger("pipeloop.cli")

RECORD_FOLDER = ".pipeloop"
_RECORD_FILE = "last_run.json"
_FORMAT = 1
_FOLDER_GITIGNORE = "# Written by pipeloop run for --resume; not for version control.\n*\n"


class RunStatus(StrEnum):
    """How the recorded run ended (or that it has not, yet)."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


def _now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="seconds")


def record_path(project_root: Path) -> Path:
    """Where the project's run record lives."""
    return project_root / RECORD_FOLDER / _RECORD_FILE


@dataclass
class RunRecord:
    """One run of ``pipeloop run``.

    Attributes:
        options: the run's options by parameter name, JSON-ready.
        argv: the command line that started it (without ``pipeloop run``).
        status: how it ended.
        resume_nodes: for a failed or interrupted run, the nodes ``--from-nodes`` restarts
            from; empty when no node ran or the failure was not a node's (the whole run is
            then repeated).
        started_at: when it started (ISO 8601, UTC).
        ended_at: when it ended, or ``None`` while running.
    """

    options: dict[str, Any]
    argv: list[str]
    status: RunStatus = RunStatus.RUNNING
    resume_nodes: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=_now)
    ended_at: str | None = None

    def ended(self, status: RunStatus, resume_nodes: list[str] | None = None) -> None:
        """Mark the run as ended with ``status``."""
        self.status = status
        self.resume_nodes = list(resume_nodes or [])
        self.ended_at = _now()

    def to_json(self) -> dict[str, Any]:
        """The record as written to the file."""
        return {"format": _FORMAT, "status": self.status.value, "started_at": self.started_at,
                "ended_at": self.ended_at, "options": self.options, "argv": self.argv,
                "resume_nodes": self.resume_nodes}

    @classmethod
    def from_json(cls, data: Any) -> RunRecord:
        """The record a file holds.

        Raises:
            ValueError: ``data`` is not a record this version of pipeloop writes.
        """
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"not a format-{_FORMAT} run record")
        options, argv, nodes = data.get("options"), data.get("argv"), data.get("resume_nodes")
        if (not isinstance(options, dict) or not isinstance(argv, list)
                or not isinstance(nodes, list)
                or not all(isinstance(item, str) for item in [*argv, *nodes])):
            raise ValueError("options, argv or resume_nodes is missing or malformed")
        return cls(options=options, argv=argv, status=RunStatus(str(data.get("status"))),
                   resume_nodes=nodes, started_at=str(data.get("started_at")),
                   ended_at=data.get("ended_at"))

    def write(self, project_root: Path) -> None:
        """Replace the project's record with this one, atomically. A record that cannot be
        written costs only ``--resume``, never the run: the failure is logged."""
        path = record_path(project_root)
        try:
            ignore = path.parent / ".gitignore"
            if not ignore.exists():
                write_atomically(ignore, _FOLDER_GITIGNORE)
            write_atomically(path, json.dumps(self.to_json(), indent=2) + "\n")
        except OSError as exc:
            logger.warning("Cannot write the run record %s (%s); `pipeloop run --resume` "
                           "will not know about this run.", path, exc)


def read_record(project_root: Path) -> RunRecord | None:
    """The project's run record, or ``None`` when there is none.

    Raises:
        CliError: the file exists but is not a run record (delete it to start afresh).
    """
    path = record_path(project_root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CliError(f"Cannot read the run record {path}: {exc}") from exc
    try:
        return RunRecord.from_json(json.loads(text))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise CliError(f"Cannot read the run record {path}: {exc}.",
                       hint="Delete it, then run the pipeline without --resume.") from exc
