"""Plain node functions running inline on the main thread, and stopping them at once.

``SequentialRunner`` calls a plain function on the event loop's thread. While it runs, the
loop cannot see a cancelled scope, so a Ctrl-C that only cancels the run would wait for the
function (seconds, hours) and the loop could start the next node before it hears of the
cancellation. But code on the main thread *can* be interrupted as Python code: a signal
handler that raises makes the function see the exception where it stands.

:func:`call_inline` makes and marks the call; :func:`interrupt_inline_node`, called from a signal
handler, raises :class:`NodeInterrupted` inside it (and does nothing when no plain function
runs inline, so the handler can always call it). The runner turns that exception into the
run's cancellation, never into a node failure.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, NoReturn

import anyio

from pipeloop.errors import RunnerError

if TYPE_CHECKING:
    from pipeloop.engine.node import Node

__all__ = ["NodeInterrupted", "call_inline", "inline_node", "interrupt_inline_node",
           "wait_for_cancellation"]

# Names of the plain nodes running inline on the main thread, innermost last. Only the main
# thread runs signal handlers, so only its calls can be interrupted.
_inline: list[str] = []
_MAIN_THREAD = threading.main_thread().ident


class NodeInterrupted(KeyboardInterrupt):
    """Raised inside a plain node running inline when a signal stops the run.

    A ``KeyboardInterrupt``, so the node's own ``except Exception`` blocks do not swallow it
    and its ``finally`` blocks run, as on Ctrl-C in any Python program.
    """

    def __init__(self, node_name: str, signal_name: str) -> None:
        super().__init__(f"{signal_name} stopped node '{node_name}'")
        self.node_name = node_name
        self.signal_name = signal_name


def inline_node() -> str | None:
    """The name of the plain node running inline on the main thread, if one is."""
    return _inline[-1] if _inline else None


def interrupt_inline_node(signal_name: str) -> None:
    """From a signal handler: raise :class:`NodeInterrupted` in the plain node running inline
    on the main thread, if one is.

    Raises:
        NodeInterrupted: a plain node was running inline.
    """
    if _inline and threading.current_thread() is threading.main_thread():
        raise NodeInterrupted(_inline[-1], signal_name)


#: Seconds a plain node interrupted by a signal waits for the run's cancellation (which the
#: same signal asked for) before it fails instead; only reached if nothing cancels the run.
CANCELLATION_WAIT = 30.0


def call_inline(node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run plain ``node`` on this thread, interruptible by :func:`interrupt_inline_node`
    when this is the main thread (every plain node's path under ``SequentialRunner``: no
    context manager, one list append and pop).

    Raises:
        NodeInterrupted: a signal handler interrupted the node; pass it to
            :func:`wait_for_cancellation`.
    """
    if threading.get_ident() != _MAIN_THREAD:  # no signal handler can reach this call
        return node.run(inputs)
    _inline.append(node.name)
    try:
        return node.run(inputs)
    finally:
        _inline.pop()


async def wait_for_cancellation(interrupted: NodeInterrupted) -> NoReturn:
    """After :func:`call_inline` was interrupted: the node's call is over, but the run must
    not treat it as a failure (nothing went wrong with the node) nor go on to the next node.
    The signal that interrupted it also cancels the run; that cancellation is delivered
    here, at the first await.

    Raises:
        RunnerError: nothing cancelled the run within ``CANCELLATION_WAIT`` seconds.
    """
    with anyio.move_on_after(CANCELLATION_WAIT):
        await anyio.sleep_forever()
    raise RunnerError(f"{interrupted}, but the run was not cancelled.") from None
