"""Kedro's runner interface on pipeloop's scheduler: ``pipeloop[kedro]``.

Run an unchanged Kedro project with pipeloop executing its nodes::

    kedro run --runner=pipeloop.kedro.ThreadRunner

Kedro's session, configuration, catalog and hooks stay Kedro's; pipeloop loads and saves
each node's datasets concurrently and awaits ``async def`` node functions. This package is
the only part of pipeloop that imports Kedro.
"""

from __future__ import annotations

from pipeloop.kedro.runners import ParallelRunner, SequentialRunner, ThreadRunner

__all__ = ["ParallelRunner", "SequentialRunner", "ThreadRunner"]
