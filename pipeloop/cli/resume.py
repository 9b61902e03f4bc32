"""``pipeloop run --resume``: the options of the run that finishes the last one.

The last run's record (:mod:`pipeloop.cli.run_record`) holds its options and, when it failed
or was interrupted, the nodes its ``Resume with`` line names. ``--resume`` runs those options
again with ``--from-nodes`` set to those nodes — the printed command, without copy-paste.

Options typed alongside ``--resume`` replace the recorded ones (``--runner ThreadRunner``,
``--params lr=0.1``: a ``--params`` given replaces all the recorded ``--params``); options
set through environment variables (``PIPELOOP_ENV``) do not, since the record already holds
the values they had. Filters cannot be typed alongside ``--resume``: the resumed run keeps the
filters of the run it resumes, and starts where that run stopped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from pipeloop.cli.errors import CliError, UsageProblem
from pipeloop.engine.run_record import RunRecord

__all__ = ["command_line", "recorded_options", "resume_options"]

logger = logging.getLogger("pipeloop.cli")

_FILTERS = ("from_nodes", "to_nodes", "node_names", "tags", "namespaces", "from_inputs",
            "to_outputs")
# The options a run record keeps, in groups: an option typed with --resume replaces the
# recorded values of its whole group (``-p`` and ``--pipelines`` name the pipelines together;
# ``--runner`` and ``--parallel`` the runner).
_RECORDED_GROUPS: tuple[tuple[str, ...], ...] = (
    ("pipeline_name", "pipeline_names"), ("runner_name", "parallel"), ("is_async",),
    ("max_workers",), ("runner_params",), ("address",), ("keep_going",), ("params",),
    ("env",), ("conf_source",), ("load_versions",), ("only_missing_outputs",),
    ("only_changed",), ("force_nodes",), _FILTERS,
)
_RECORDED = frozenset(name for group in _RECORDED_GROUPS for name in group)
_NOT_REPEATED = frozenset({"resume"})


def recorded_options(options: dict[str, Any], conf_source: Path | None) -> dict[str, Any]:
    """The options a run record keeps, JSON-ready.

    Args:
        options: the run's options, as the command received them.
        conf_source: ``--conf-source`` made absolute (the record outlives the current
            folder), or ``None``.
    """
    recorded = {name: list(value) if isinstance(value, tuple) else value
                for name, value in options.items() if name in _RECORDED}
    recorded["conf_source"] = str(conf_source) if conf_source is not None else None
    return recorded


def resume_options(ctx: click.Context, options: dict[str, Any], record: RunRecord
                   ) -> dict[str, Any]:
    """The options of the run that resumes ``record``: the recorded ones, with
    ``--from-nodes`` set to where it stopped, replaced by those typed alongside
    ``--resume``.

    Raises:
        UsageProblem: a filter was typed with ``--resume``.
        CliError: the record holds a value its option does not accept.
    """
    typed = {name for name in options if _typed(ctx, name)}
    clashes = [_flag(_option(ctx, name)) for name in _FILTERS if name in typed]
    if clashes:
        raise UsageProblem(
            f"--resume cannot be used with {', '.join(clashes)}: the resumed run keeps the "
            "filters of the run it resumes, from the nodes that did not finish.")
    merged = dict(options)
    for group in _RECORDED_GROUPS:
        if typed.isdisjoint(group):
            for name in group:
                if name in record.options:
                    merged[name] = _restored(ctx, name, record.options[name], record)
    if record.resume_nodes:
        merged["from_nodes"] = (",".join(record.resume_nodes),)
    return merged


def command_line(ctx: click.Context, options: dict[str, Any]) -> list[str]:
    """The arguments of ``pipeloop run`` that set ``options``: the recorded options that
    have a value, and the others that were typed (``--project``, ``--trace``)."""
    argv: list[str] = []
    for param in ctx.command.params:
        name = param.name
        if not isinstance(param, click.Option) or name is None or name not in options:
            continue
        if name in _NOT_REPEATED or (name not in _RECORDED and not _typed(ctx, name)):
            continue
        value = options[name]
        if param.is_flag and param.secondary_opts:
            if value is not None:
                argv.append(_flag(param) if value else param.secondary_opts[0])
        elif param.is_flag:
            if value:
                argv.append(_flag(param))
        elif param.multiple:
            for item in value:
                argv += [_flag(param), str(item)]
        elif value is not None:
            argv += [_flag(param), str(value)]
    return argv


def _typed(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE


def _option(ctx: click.Context, name: str) -> click.Option:
    for param in ctx.command.params:
        if param.name == name and isinstance(param, click.Option):
            return param
    raise KeyError(name)  # pragma: no cover - every recorded name is an option


def _flag(option: click.Option) -> str:
    """The option's long name (``--nodes`` for ``-n/--nodes``)."""
    return next((opt for opt in option.opts if opt.startswith("--")), option.opts[0])


def _restored(ctx: click.Context, name: str, value: Any, record: RunRecord) -> Any:
    """A recorded value, checked and converted as if typed (lists become tuples, paths
    ``Path``)."""
    option = _option(ctx, name)
    try:
        return option.type_cast_value(ctx, value)
    except click.BadParameter as exc:
        raise CliError(f"The record of run {record.run_id} holds an invalid value "
                       f"for {_flag(option)}: {exc.format_message()}",
                       hint="Delete it, then run the pipeline without --resume.") from exc
