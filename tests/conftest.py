"""Fixtures shared by the test suite. Keep this small: helpers users may want too belong in
``pipeloop.testing``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from logging_state import logging_kept

from pipeloop import AbstractRunner, ParallelRunner, SequentialRunner, ThreadRunner

LOCAL_POLICIES = ("sequential", "thread", "process")


def make_runner(policy: str, *, is_async: bool = True) -> AbstractRunner:
    """A runner of the named local policy; pools are kept small to keep tests fast."""
    if policy == "sequential":
        return SequentialRunner(is_async=is_async)
    if policy == "thread":
        return ThreadRunner(max_workers=4, is_async=is_async)
    if policy == "process":
        return ParallelRunner(max_workers=2, is_async=is_async)
    raise ValueError(policy)


@pytest.fixture(params=LOCAL_POLICIES)
def local_runner(request: pytest.FixtureRequest) -> AbstractRunner:
    """Each local policy in turn (sequential, thread, process)."""
    return make_runner(request.param)


@pytest.fixture
def runner_of() -> object:
    """The ``make_runner(policy, is_async=True)`` factory, for tests that need a fresh runner
    or a policy chosen inside the test."""
    return make_runner


@pytest.fixture
def pipeloop_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """``caplog`` capturing pipeloop's INFO records and above."""
    caplog.set_level(logging.INFO, logger="pipeloop")
    return caplog


@pytest.fixture(autouse=True)
def _logging_kept() -> Iterator[None]:
    """No test leaves logging changed for the next (see ``logging_state``)."""
    with logging_kept():
        yield
