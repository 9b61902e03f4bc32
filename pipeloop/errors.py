"""Every exception pipeloop raises on purpose.

The hierarchy is flat on purpose: catch :class:`PipeloopError` for "anything pipeloop
refused", or one of the specific classes below for a precise reaction::

    PipeloopError
    ├── NodeError                 a node cannot be made, or its worker process died (ValueError)
    │   ├── NodeSignatureError    its function cannot take the declared inputs (TypeError)
    │   ├── NodeOutputError       a node returned something its outputs do not match
    │   ├── NodeExitError         a node raised SystemExit or KeyboardInterrupt itself
    │   └── NodeTimeoutError      a node ran past its ``timeout`` (TimeoutError)
    ├── NodesFailedError          nodes failed in a ``keep_going`` run (an ExceptionGroup)
    ├── PipelineError             a pipeline cannot be built, filtered or run as asked
    │   │                         (ValueError)
    │   └── MissingInputsError    free inputs that the catalog does not provide
    ├── RunnerError               a runner cannot run (bad options, wrong context, pickling)
    ├── RemoteError               a node's exception that could not cross from its worker
    │                             process as itself (a subclass of its type, when importable)
    ├── DatasetError              a dataset failed to load, save, or is misconfigured
    │   ├── DatasetNotFoundError  a name the catalog does not know (KeyError)
    │   ├── DatasetAlreadyExistsError
    │   └── VersionError          a versioned dataset's version is missing or taken
    └── ConfigError               project or catalog configuration is invalid (ValueError)
        ├── ProjectNotFoundError  no project where one was looked for
        ├── UnknownParameterError a runtime parameter (--params) that matches none
        └── ResumeError           nothing to resume, or the last run has not ended

A class marked with a builtin also subclasses it: it is what Kedro raises in the same place
(``node()`` and ``Pipeline`` raise ``ValueError``, a function that cannot take a node's inputs
``TypeError``, a missing free input ``ValueError``), so code written for Kedro that catches
the builtin keeps working. Kedro's own ``DatasetError`` is a plain ``Exception``, and so is
pipeloop's.

An exception raised *by a user's node function* is never wrapped: it propagates with its own
type, with a note (``add_note``) naming the node.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DatasetAlreadyExistsError",
    "DatasetError",
    "DatasetNotFoundError",
    "MissingInputsError",
    "NodeError",
    "NodeExitError",
    "NodeOutputError",
    "NodeSignatureError",
    "NodeTimeoutError",
    "NodesFailedError",
    "PipelineError",
    "PipeloopError",
    "ProjectNotFoundError",
    "RemoteError",
    "ResumeError",
    "RunnerError",
    "UnknownParameterError",
    "VersionError",
]


class PipeloopError(Exception):
    """Base class of every error pipeloop raises on purpose.

    Attributes:
        hint: what to do about it, when the message alone does not say (the CLI prints it
            on a line of its own).
    """

    hint: str | None = None

    def with_hint(self, hint: str | None) -> PipeloopError:
        """This error, with :attr:`hint` set (for ``raise Error(...).with_hint(...)``)."""
        self.hint = hint
        return self


class NodeError(PipeloopError, ValueError):
    """Raised by ``node()`` for arguments it cannot make a node of, and by a run when a node
    cannot be executed (its worker process died); a ``ValueError``, as in Kedro."""


class NodeSignatureError(NodeError, TypeError):
    """Raised by ``node()`` for a function that cannot take the declared inputs; also a
    ``TypeError``, which is what Kedro raises there."""


class NodeOutputError(NodeError):
    """Raised by a run when a node returns something that does not match its declared
    outputs (never retried: it is a bug in the node, not a passing fault). A ``ValueError``,
    as in Kedro."""


class NodeExitError(NodeError):
    """Raised by a run when a node's function raises ``SystemExit`` (``sys.exit()``) or
    ``KeyboardInterrupt`` itself: that ends the node, as a failure, not the process or the
    run's other work. Never retried. The original exception is its ``__cause__``."""


class NodeTimeoutError(NodeError, TimeoutError):
    """Raised by a run when a node exceeds its ``timeout``."""

    # TimeoutError's instances are laid out as OSError's; without this, ValueError's __new__
    # comes first in the MRO and refuses them, which breaks pickling by __new__ (tblib, as
    # Dask uses to send errors back from workers).
    __new__ = TimeoutError.__new__  # type: ignore[assignment]


class PipelineError(PipeloopError, ValueError):
    """Raised by ``Pipeline`` construction (duplicates, cycles), its filters (unknown names,
    empty results), and ``pipeline()`` renaming; a ``ValueError``, as in Kedro."""


class MissingInputsError(PipelineError):
    """Raised by ``runner.run`` before any node starts when free inputs are not in the
    catalog (a ``ValueError``, as Kedro's runner raises)."""


class RunnerError(PipeloopError):
    """Raised by runners for options or contexts they cannot work with (``run_sync`` inside
    a running loop, unpicklable nodes for ``ParallelRunner``)."""


class RemoteError(PipeloopError):
    """Raised by a ``ParallelRunner`` run in place of a node's exception that cannot be
    pickled or rebuilt in this process (its ``__init__`` takes other arguments than its
    message, it holds a lock or an open file, ...).

    The error raised is of a class made on the spot that subclasses both this class and the
    original exception's class (or its nearest base class that this process can import), so
    ``except TheOriginalError`` and ``node(retry_on=(TheOriginalError,))`` still match it.
    ``str()`` is the original message.

    Attributes:
        remote_type: the original class, as ``module.QualName``.
        remote_traceback: the traceback as the worker process formatted it.
    """

    remote_type: str = ""
    remote_traceback: str = ""


class DatasetError(PipeloopError):
    """Raised by datasets and the catalog when loading, saving or describing data fails."""


class DatasetNotFoundError(DatasetError, KeyError):
    """Raised by ``DataCatalog`` for a dataset name it does not hold."""

    def __str__(self) -> str:
        # KeyError quotes its message; this one is a sentence.
        return str(self.args[0]) if self.args else ""


class DatasetAlreadyExistsError(DatasetError):
    """Raised by ``DataCatalog.add`` for a name already registered (unless ``replace=True``)."""


class VersionError(DatasetError):
    """Raised by versioned datasets when no version exists to load, or the save version is
    already taken."""


class ConfigError(PipeloopError, ValueError):
    """Raised for invalid project, catalog, parameter or credentials configuration; the
    message names the file, entry or option at fault. A ``ValueError``, as Kedro's config
    loader raises for invalid configuration."""


class ProjectNotFoundError(ConfigError):
    """Raised by ``Project.load`` when the folder (or, without one, the current folder and
    its parents) holds no project's ``pyproject.toml``."""


class UnknownParameterError(ConfigError):
    """Raised while loading a project's configuration for a runtime parameter (``--params``,
    ``Project.run(params=...)``) that matches no configured parameter and no
    ``${runtime_params:...}``; the message suggests close matches."""


class ResumeError(ConfigError):
    """Raised by ``Project.resume`` (and ``pipeloop run --resume``) when no failed or
    interrupted run is left to finish, or the newest run has not recorded how it ended."""


class NodesFailedError(PipeloopError, ExceptionGroup[Exception]):
    """Raised by ``runner.run(..., keep_going=True)`` when one or more nodes failed.

    An ``ExceptionGroup`` of the nodes' own exceptions (so ``except* ValueError`` works);
    ``failed_nodes`` names them, ``resume_nodes`` is what ``--from-nodes`` needs.
    """

    failed_nodes: list[str]
    resume_nodes: list[str]
