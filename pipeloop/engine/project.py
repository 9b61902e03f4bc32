"""``Project``: a pipeloop (or Kedro-shaped) project as a library — what ``pipeloop run`` runs.

A project is a folder whose ``pyproject.toml`` has a ``[tool.pipeloop]`` table (or, failing
that, Kedro's ``[tool.kedro]``)::

    [tool.pipeloop]
    package = "iris"                                          # required: the import name
    pipelines = "iris.pipeline_registry:register_pipelines"   # the default
    conf_source = "conf"                                      # the default
    hooks = ["iris.hooks:ProjectHooks"]                       # optional

The package lives in ``src/<package>/`` (Kedro's layout) or at the project root, and goes first
on ``sys.path``, so a project runs as it is, without being installed. Kedro's
``<package>/settings.py`` ``HOOKS`` are used too.

An async app runs it as the CLI does, with the same catalog, parameters, run record and
resume::

    project = Project.load("path/to/project", env="local")
    report = await project.run("__default__", runner=ThreadRunner(), tags=["training"])
    if report.status == "failed":
        report = await project.resume()

Every run records which node produced each persisted output, and with what fingerprint, in
``.pipeloop/provenance.db``; ``project.run(only_changed=True)`` then runs only the nodes whose
code, parameters or inputs changed or whose outputs are missing or were edited, and
``await project.status()`` says which those are and why.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import logging.config
import os
import pkgutil
import sys
import tomllib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.datasets.config import ConfigLoader, catalog_from_conf
from pipeloop.datasets.yaml_loader import read_yaml
from pipeloop.engine.pipeline import Pipeline
from pipeloop.engine.provenance import ProvenanceRecorder, ProvenanceStore, default_store_path
from pipeloop.engine.registry import DEFAULT_PIPELINE, load_pipelines, select_pipelines
from pipeloop.engine.report import RunReport, RunStatus
from pipeloop.engine.run_record import (
    RecordStatus,
    RunRecord,
    log_resume,
    read_records,
    resumable_run,
)
from pipeloop.engine.runners.base import AbstractRunner
from pipeloop.engine.staleness import Staleness, check_staleness, select_changed
from pipeloop.errors import ConfigError, ProjectNotFoundError

__all__ = ["PYPROJECT", "Project", "RunFilters", "find_project_root"]

logger = logging.getLogger("pipeloop.project")

PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class RunFilters:
    """Which nodes of the selected pipelines run: Kedro's filters, combined (a node runs
    when every given filter keeps it)."""

    tags: Sequence[str] = ()
    from_nodes: Sequence[str] = ()
    to_nodes: Sequence[str] = ()
    node_names: Sequence[str] = ()
    from_inputs: Sequence[str] = ()
    to_outputs: Sequence[str] = ()
    node_namespaces: Sequence[str] = ()

    def apply(self, pipeline: Pipeline) -> Pipeline:
        """``pipeline`` filtered; unchanged when no filter is given.

        Raises:
            PipelineError: a filter names something unknown, or leaves no node.
        """
        given = {key: list(value) for key, value in vars(self).items() if value}
        return pipeline.filter(**given) if given else pipeline

    def to_json(self) -> dict[str, list[str]]:
        return {key: list(value) for key, value in vars(self).items() if value}


def _read_table(pyproject: Path) -> tuple[str, dict[str, Any]] | None:
    """``("pipeloop", table)`` or ``("kedro", table)`` from ``pyproject``, or ``None``.

    Raises:
        ConfigError: the file is not valid TOML.
    """
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read {pyproject}: {exc}") from exc
    tools = data.get("tool", {})
    for tool in ("pipeloop", "kedro"):
        table = tools.get(tool)
        if isinstance(table, dict):
            return tool, table
    return None


def _setting(table: dict[str, Any], key: str, default: str | None, where: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        example = ' For example: package = "my_project"' if key == "package" else ""
        raise ConfigError(f"{where} {key} must be a non-empty string, not {value!r}.{example}")
    return value.strip()


def _find(path: str | os.PathLike[str] | None) -> tuple[Path, str, dict[str, Any]]:
    """The project folder at ``path`` (or the nearest one at or above the current folder),
    with the tool its table is for and the table.

    Raises:
        ProjectNotFoundError: no project there (``path``) or in any parent folder.
        ConfigError: a ``pyproject.toml`` on the way is not valid TOML.
    """
    start = Path(path).resolve() if path is not None else Path.cwd().resolve()
    for folder in (start,) if path is not None else (start, *start.parents):
        pyproject = folder / PYPROJECT
        found = _read_table(pyproject) if pyproject.is_file() else None
        if found is not None:
            return folder, *found
    if path is not None:
        raise ProjectNotFoundError(
            f"No pipeloop project at {start}: it needs a {PYPROJECT} with a "
            "[tool.pipeloop] table.").with_hint(
            "Create one with `pipeloop new NAME`, or point --project at a project.")
    raise ProjectNotFoundError(
        f"No pipeloop project found in {start} or its parents (looked for a {PYPROJECT} "
        "with a [tool.pipeloop] table).").with_hint(
        "Run inside a project, pass --project PATH, or create one with `pipeloop new`.")


def find_project_root(path: str | os.PathLike[str] | None = None) -> Path:
    """The project folder at ``path``, or else the nearest one at or above the current
    folder.

    Raises:
        ProjectNotFoundError: no project there (``path``) or in any parent folder.
    """
    return _find(path)[0]


def _source_dir(root: Path, package: str, hint: str | None) -> Path:
    top = package.split(".")[0]
    folders = [root / hint] if hint else []
    for folder in (*folders, root / "src", root):
        if (folder / top).is_dir() or (folder / f"{top}.py").is_file():
            return folder
    raise ConfigError(f"Cannot find the code of package '{package}' in {root}: expected "
                      f"src/{top}/ or {top}/.")


@dataclass
class Project:
    """A project's settings and what runs it. Make one with :meth:`load`.

    Attributes:
        root: the folder holding ``pyproject.toml``.
        package: the import name of the project's code.
        source_dir: the folder that holds the package (``root/src`` or ``root``).
        pipelines_spec: ``"module:function"`` returning ``{name: Pipeline}``.
        conf_source: the configuration folder.
        env: the configuration environment (``None``: the default, ``local``).
        hook_specs: ``"module:attr"`` of the project's hook classes or objects.
    """

    root: Path
    package: str
    source_dir: Path
    pipelines_spec: str
    conf_source: Path
    env: str | None = None
    hook_specs: tuple[str, ...] = ()
    _pipelines: dict[str, Pipeline] | None = field(default=None, repr=False)

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        env: str | None = None,
        conf_source: str | os.PathLike[str] | None = None,
    ) -> Project:
        """The project at ``path`` (or the nearest one above the current folder), its code
        made importable.

        Raises:
            ProjectNotFoundError: no project there.
            ConfigError: its settings are invalid, or its package folder does not exist.
        """
        root, tool, table = _find(path)
        where = f"{root / PYPROJECT}: [tool.{tool}]"
        package = _setting(table, "package" if tool == "pipeloop" else "package_name",
                           None, where)
        pipelines = _setting(table, "pipelines",
                             f"{package}.pipeline_registry:register_pipelines", where)
        conf = Path(conf_source) if conf_source is not None else root / _setting(
            table, "conf_source", "conf", where)
        if not conf.is_absolute():
            conf = (Path.cwd() / conf).resolve()
        if conf_source is not None and not conf.is_dir():
            raise ConfigError(f"Invalid conf_source: folder '{conf}' does not exist.")
        hooks = table.get("hooks", [])
        if not isinstance(hooks, list) or not all(isinstance(h, str) for h in hooks):
            raise ConfigError(f"{where} hooks must be a list of 'module:attr' strings.")
        source = _source_dir(root, package, table.get("source_dir"))
        project = cls(root, package, source, pipelines, conf, env, tuple(hooks))
        project.activate()
        return project

    def activate(self) -> None:
        """Make the package importable: put :attr:`source_dir` first on ``sys.path`` and
        forget modules of the same name imported from elsewhere (another project)."""
        source = str(self.source_dir)
        if source in sys.path:
            sys.path.remove(source)
        sys.path.insert(0, source)
        loaded = sys.modules.get(self.package)
        origin = getattr(loaded, "__file__", None)
        if loaded is not None and not (
                origin and Path(origin).resolve().is_relative_to(self.source_dir)):
            for name in [name for name in sys.modules if name == self.package
                         or name.startswith(f"{self.package}.")]:
                del sys.modules[name]
        importlib.invalidate_caches()

    # -- what it holds --------------------------------------------------------------------

    @property
    def pipelines(self) -> dict[str, Pipeline]:
        """The registered pipelines by name (the registry is called once).

        Raises:
            ConfigError: the registry cannot be imported or called, or returns something
                other than a mapping of names to pipelines.
        """
        if self._pipelines is None:
            self._pipelines = load_pipelines(self.pipelines_spec)
        return self._pipelines

    def config_loader(self, params: Mapping[str, Any] | None = None) -> ConfigLoader:
        """The project's configuration for :attr:`env`, with ``params`` over its parameters.

        Raises:
            ConfigError: the configuration folders do not exist.
        """
        return ConfigLoader(self.conf_source, self.env, runtime_params=params,
                            custom_resolvers=self._custom_resolvers())

    def _settings(self) -> Any:
        """Kedro's ``<package>.settings`` module, or ``None`` when the project has none.

        Raises:
            ConfigError: the module exists but cannot be imported.
        """
        try:
            return importlib.import_module(f"{self.package}.settings")
        except ModuleNotFoundError as exc:
            if exc.name in (f"{self.package}.settings", self.package):
                return None
            raise ConfigError(f"Cannot import {self.package}.settings: {exc}") from exc

    def _custom_resolvers(self) -> dict[str, Any]:
        """Resolvers the project registers: Kedro's ``settings.CONFIG_LOADER_ARGS
        ["custom_resolvers"]``."""
        arguments = getattr(self._settings(), "CONFIG_LOADER_ARGS", None) or {}
        return dict(arguments.get("custom_resolvers") or {})

    def logging_file(self) -> Path | None:
        """The project's logging configuration file, as Kedro finds it: the file
        ``KEDRO_LOGGING_CONFIG`` names, else ``<conf_source>/logging.yml``; ``None`` when
        there is none.

        Raises:
            ConfigError: ``KEDRO_LOGGING_CONFIG`` names something that is not a file.
        """
        named = os.environ.get("KEDRO_LOGGING_CONFIG")
        path = Path(named) if named else self.conf_source / "logging.yml"
        if path.is_file():
            return path
        if named:
            raise ConfigError(f"KEDRO_LOGGING_CONFIG names {path}, which is not a file.")
        return None

    def configure_logging(self) -> None:
        """Apply the project's logging configuration (``logging.dictConfig`` form), if it
        has one. Loggers configured before stay enabled unless the file says
        ``disable_existing_loggers: true``.

        Raises:
            ConfigError: the file cannot be read, or the configuration is invalid (an
                unknown handler class, say); the message names the file.
        """
        path = self.logging_file()
        if path is None:
            return
        config, _ = read_yaml(path)
        config.setdefault("version", 1)
        config.setdefault("disable_existing_loggers", False)
        try:
            with contextlib.chdir(self.root):  # file handlers' relative paths, as in Kedro
                logging.config.dictConfig(config)
        except (ValueError, TypeError, AttributeError, ImportError) as exc:
            raise ConfigError(f"Invalid logging configuration in {path}: {exc}") from exc

    def catalog(
        self,
        *,
        params: Mapping[str, Any] | None = None,
        load_versions: Mapping[str, str] | None = None,
    ) -> DataCatalog:
        """The project's catalog: datasets, factories and parameters.

        Raises:
            ConfigError: the configuration is invalid, or ``load_versions`` names a dataset
                the catalog does not version.
        """
        return catalog_from_conf(self.config_loader(params), load_versions=load_versions)

    def hooks(self) -> list[object]:
        """The project's hook objects: ``[tool.pipeloop] hooks`` and Kedro's
        ``settings.HOOKS`` (classes are instantiated with no arguments).

        Raises:
            ConfigError: a hook cannot be imported.
        """
        found: list[object] = []
        for spec in self.hook_specs:
            try:
                found.append(pkgutil.resolve_name(spec))
            except Exception as exc:
                raise ConfigError(f"Cannot import the project hook '{spec}': {exc}") from exc
        found.extend(getattr(self._settings(), "HOOKS", ()))
        return [hook() if isinstance(hook, type) else hook for hook in found]

    def select(self, pipelines: str | Sequence[str] = DEFAULT_PIPELINE,
               filters: RunFilters | None = None) -> Pipeline:
        """The sum of the named pipelines, filtered.

        Raises:
            PipelineError: a name is not registered, or the filters keep no node.
        """
        names = [pipelines] if isinstance(pipelines, str) else list(pipelines)
        return (filters or RunFilters()).apply(select_pipelines(self.pipelines, names))

    # -- what changed --------------------------------------------------------------------

    def provenance_store(self) -> ProvenanceStore:
        """The store of what each run produced: ``<root>/.pipeloop/provenance.db``."""
        return ProvenanceStore(default_store_path(self.root))

    async def status(
        self,
        pipelines: str | Sequence[str] = DEFAULT_PIPELINE,
        *,
        filters: RunFilters | None = None,
        params: Mapping[str, Any] | None = None,
        load_versions: Mapping[str, str] | None = None,
    ) -> Staleness:
        """Every node of the selected pipeline: fresh (a changed-only run skips it) or stale,
        with the reasons ("code changed", "parameter `model.lr` changed", ...).

        Raises:
            ConfigError: the project's configuration or registry is invalid.
            PipelineError: unknown pipeline names, or filters that keep no node.
        """
        pipeline = self.select(pipelines, filters)
        catalog = self.catalog(params=params, load_versions=load_versions)
        with contextlib.chdir(self.root):
            async with self.provenance_store() as store:
                return await check_staleness(pipeline, catalog, store)

    # -- running ----------------------------------------------------------------------------

    async def run(
        self,
        pipelines: str | Sequence[str] = DEFAULT_PIPELINE,
        *,
        runner: AbstractRunner | None = None,
        tags: Iterable[str] = (),
        from_nodes: Iterable[str] = (),
        to_nodes: Iterable[str] = (),
        node_names: Iterable[str] = (),
        from_inputs: Iterable[str] = (),
        to_outputs: Iterable[str] = (),
        namespaces: Iterable[str] = (),
        params: Mapping[str, Any] | None = None,
        load_versions: Mapping[str, str] | None = None,
        only_missing_outputs: bool = False,
        only_changed: bool = False,
        force_nodes: Iterable[str] = (),
        keep_going: bool = False,
        hooks: Iterable[object] = (),
        report: RunReport | None = None,
        record_options: Mapping[str, Any] | None = None,
        argv: Sequence[str] = (),
    ) -> RunReport:
        """Run pipelines of the project, as ``pipeloop run`` does, keeping a run record.

        A node's failure does not raise: the returned report says what failed
        (``report.status``, ``report.errors``) and where to resume (``report.resume_nodes``,
        or :meth:`resume`). Cancelling the caller cancels the run; the report passed in then
        says what was left undone, and the record lets :meth:`resume` finish it.

        Args:
            pipelines: the registered pipeline(s) to run, summed.
            runner: the runner (default ``SequentialRunner()``).
            tags, from_nodes, to_nodes, node_names, from_inputs, to_outputs, namespaces:
                Kedro's filters (see :class:`RunFilters`).
            params: parameters over the configured ones (dotted keys set nested values).
            load_versions: dataset name -> version to load.
            only_missing_outputs: run only what missing persisted outputs need.
            only_changed: skip the nodes that are fresh (see :meth:`status`); each skipped
                node is logged with why it is fresh.
            force_nodes: nodes to run with everything downstream of them even when fresh
                (implies ``only_changed``).
            keep_going: after a node fails, still run what does not depend on it.
            hooks: hook objects, after the project's own.
            report: a fresh report to fill (one is made otherwise).
            record_options, argv: what the CLI keeps in the record for ``--resume``.

        Returns:
            The run's report.

        Raises:
            ConfigError: the project's configuration or registry is invalid.
            PipelineError: unknown pipeline names, filters that keep no node, or free inputs
                the catalog lacks; nothing ran.
        """
        filters = RunFilters(tuple(tags), tuple(from_nodes), tuple(to_nodes),
                             tuple(node_names), tuple(from_inputs), tuple(to_outputs),
                             tuple(namespaces))
        runner = runner if runner is not None else _default_runner()
        forced = list(force_nodes)
        changed = only_changed or bool(forced)
        request = {"pipelines": [pipelines] if isinstance(pipelines, str) else list(pipelines),
                   "filters": filters.to_json(), "params": dict(params or {}),
                   "load_versions": dict(load_versions or {}), "env": self.env,
                   "only_missing_outputs": only_missing_outputs, "keep_going": keep_going,
                   "only_changed": changed, "force_nodes": forced,
                   "runner": f"{type(runner).__module__}:{type(runner).__qualname__}"}
        pipeline = self.select(pipelines, filters)
        catalog = self.catalog(params=params, load_versions=load_versions)
        report = report if report is not None else RunReport()
        all_hooks = [*self.hooks(), *hooks]
        record = RunRecord(run_id=_new_run_id(), request=request,
                           options=dict(record_options or {}), argv=list(argv))
        await anyio.to_thread.run_sync(record.write, self.root)
        try:
            # Relative dataset paths start at the project's root.
            with contextlib.chdir(self.root):
                async with self.provenance_store() as store:
                    pipeline, recorder = await self._changed_only(
                        pipeline, catalog, store, report, changed, forced)
                    await runner.run(pipeline, catalog, hooks=[*all_hooks, recorder],
                                     run_id=record.run_id, keep_going=keep_going,
                                     report=report, only_missing_outputs=only_missing_outputs)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._end_record, record, report)
            if report.status is RunStatus.FAILED and report.failed_nodes:
                return report  # a node's failure: the report says it all
            raise
        await anyio.to_thread.run_sync(self._end_record, record, report)
        return report

    async def _changed_only(
        self, pipeline: Pipeline, catalog: DataCatalog, store: ProvenanceStore,
        report: RunReport, only_changed: bool, force_nodes: Sequence[str],
    ) -> tuple[Pipeline, ProvenanceRecorder]:
        """The part of ``pipeline`` to run, and the hook that records what it produces."""
        if not only_changed:
            return pipeline, ProvenanceRecorder(store, report=report)
        selection, staleness = await select_changed(pipeline, catalog, store,
                                                    force_nodes=force_nodes)
        selection.log_skipped()
        if not selection.pipeline.nodes:
            logger.info("Nothing to run: all %d node(s) are fresh.", len(pipeline.nodes))
        return selection.pipeline, ProvenanceRecorder(
            store, fingerprints=staleness.fingerprints, report=report)

    def _end_record(self, record: RunRecord, report: RunReport) -> None:
        status = {RunStatus.COMPLETED: RecordStatus.COMPLETED,
                  RunStatus.FAILED: RecordStatus.FAILED}.get(report.status,
                                                             RecordStatus.INTERRUPTED)
        record.ended(status, report.resume_nodes if status is not RecordStatus.COMPLETED
                     else None)
        record.write(self.root)

    def record_interrupted(self, report: RunReport) -> None:
        """Mark the newest running record of this project interrupted, with every node of
        ``report`` not yet completed to resume from — for a caller about to exit at once
        (a second Ctrl-C) before the run could record how it ended."""
        running = [r for r in read_records(self.root) if r.status is RecordStatus.RUNNING
                   and r.run_id == report.run_id]
        for record in running:
            record.ended(RecordStatus.INTERRUPTED, report.resume_nodes)
            record.write(self.root)

    def last_unfinished_run(self) -> RunRecord:
        """The run :meth:`resume` would finish.

        Raises:
            ConfigError: there is nothing to resume, or the record cannot be read.
        """
        return resumable_run(self.root)

    async def resume(
        self,
        *,
        runner: AbstractRunner | None = None,
        hooks: Iterable[object] = (),
        report: RunReport | None = None,
    ) -> RunReport:
        """Finish the project's last failed or interrupted run: run its request again from
        the nodes it did not finish (what ``pipeloop run --resume`` does).

        Args:
            runner: the runner; by default one of the recorded run's class, made with no
                arguments.
            hooks: hook objects, after the project's own.
            report: a fresh report to fill.

        Raises:
            ConfigError: nothing to resume, or the record cannot be read.
        """
        record = self.last_unfinished_run()
        request = record.request
        filters = dict(request.get("filters", {}))
        if record.resume_nodes:
            filters["from_nodes"] = list(record.resume_nodes)
        log_resume(record)
        return await self.run(
            request.get("pipelines", [DEFAULT_PIPELINE]),
            runner=runner if runner is not None else _recorded_runner(request.get("runner")),
            tags=filters.get("tags", ()), from_nodes=filters.get("from_nodes", ()),
            to_nodes=filters.get("to_nodes", ()), node_names=filters.get("node_names", ()),
            from_inputs=filters.get("from_inputs", ()),
            to_outputs=filters.get("to_outputs", ()),
            namespaces=filters.get("node_namespaces", ()),
            params=request.get("params") or None,
            load_versions=request.get("load_versions") or None,
            only_missing_outputs=bool(request.get("only_missing_outputs")),
            only_changed=bool(request.get("only_changed")),
            force_nodes=request.get("force_nodes") or (),
            keep_going=bool(request.get("keep_going")),
            hooks=hooks, report=report, record_options=record.options, argv=record.argv,
        )


def _default_runner() -> AbstractRunner:
    from pipeloop.engine.runners.sequential import SequentialRunner

    return SequentialRunner()


def _recorded_runner(spec: Any) -> AbstractRunner:
    if isinstance(spec, str):
        try:
            cls = pkgutil.resolve_name(spec)
            if isinstance(cls, type) and issubclass(cls, AbstractRunner):
                return cls()
        except Exception as exc:  # the class moved or takes arguments: say so, go on
            logger.warning("Cannot make the recorded runner %s again (%s); resuming with "
                           "SequentialRunner.", spec, exc)
    return _default_runner()


def _new_run_id() -> str:
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"
