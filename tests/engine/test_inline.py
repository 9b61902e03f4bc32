"""Interrupting a plain node that runs inline on the main thread: the node sees
``KeyboardInterrupt`` where it stands, the run is cancelled (not failed) and no later node
starts. ``pipeloop run``'s signal handler does this at the first Ctrl-C; here a handler of
SIGUSR1 does the same, sent by the node itself, so nothing depends on timing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from types import FrameType

import pytest

from pipeloop import DataCatalog, MemoryDataset, Pipeline, RunReport, RunStatus, SequentialRunner
from pipeloop import node as make_node
from pipeloop.engine.inline import (
    NodeInterrupted,
    call_inline,
    inline_node,
    interrupt_inline_node,
)
from pipeloop.errors import RunnerError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SEEN: list[str] = []


def waits_for_its_signal(x: int) -> int:
    """Sends SIGUSR1 to this process, then would sleep for a minute."""
    SEEN.append("started")
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(60)
    except KeyboardInterrupt as exc:
        SEEN.append(type(exc).__name__)
        raise
    SEEN.append("returned")
    return x


def after(y: int) -> int:
    SEEN.append("after")
    return y


def test_a_signal_stops_the_inline_node_and_cancels_the_run() -> None:
    pipeline = Pipeline([make_node(waits_for_its_signal, "x", "y", name="waits"),
                         make_node(after, "y", "z", name="after")])
    report = RunReport()
    cancelled: list[bool] = []

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()

        def handler(_signum: int, _frame: FrameType | None) -> None:
            loop.call_soon_threadsafe(task.cancel)
            interrupt_inline_node("SIGUSR1")

        previous = signal.signal(signal.SIGUSR1, handler)
        try:
            await SequentialRunner().run(pipeline, DataCatalog({"x": MemoryDataset(1)}),
                                         report=report)
        except asyncio.CancelledError:
            cancelled.append(True)
        finally:
            signal.signal(signal.SIGUSR1, previous)

    SEEN.clear()
    asyncio.run(main())
    assert cancelled == [True]
    assert SEEN == ["started", "NodeInterrupted"]  # it never returned; 'after' never ran
    assert report.status is RunStatus.CANCELLED
    assert report.resume_nodes == ["waits"]
    assert report.errors == {}  # an interruption, not the node's failure


def test_interrupting_does_nothing_when_no_plain_node_runs_inline() -> None:
    assert inline_node() is None
    interrupt_inline_node("SIGINT")  # no exception: nothing to interrupt


def _records_inline_node(seen: list[str | None]) -> None:
    seen.append(inline_node())


def _interrupts_itself(seen: list[str | None]) -> None:
    seen.append(inline_node())
    interrupt_inline_node("SIGTERM")


def test_only_the_main_thread_marks_an_interruptible_call() -> None:
    seen: list[str | None] = []
    elsewhere = make_node(_records_inline_node, "seen", None, name="elsewhere")
    thread = threading.Thread(target=call_inline, args=(elsewhere, {"seen": seen}))
    thread.start()
    thread.join()
    assert seen == [None]
    here = make_node(_interrupts_itself, "seen", None, name="here")
    with pytest.raises(NodeInterrupted, match="SIGTERM stopped node 'here'") as caught:
        call_inline(here, {"seen": seen})
    assert seen[-1] == "here"
    assert isinstance(caught.value, KeyboardInterrupt)
    assert (caught.value.node_name, caught.value.signal_name) == ("here", "SIGTERM")
    assert inline_node() is None


async def test_an_interrupted_node_that_nothing_cancels_fails_the_run(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the cancellation the signal should have brought, the run does not hang.
    import pipeloop.engine.inline as inline

    monkeypatch.setattr(inline, "CANCELLATION_WAIT", 0.01)

    def interrupted(x: int) -> int:
        interrupt_inline_node("SIGINT")
        return x

    with pytest.raises(RunnerError, match="SIGINT stopped node 'self', but the run was not "
                                        "cancelled"):
        await SequentialRunner().run(Pipeline([make_node(interrupted, "x", "y",
                                                         name="self")]),
                                     DataCatalog({"x": MemoryDataset(1)}))
