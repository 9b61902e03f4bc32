"""Node functions whose module, imported in a pool's zygote, can be held at import time.

When ``PIPELOOP_TEST_IMPORT_GATE`` names a folder, importing this module writes the
importing process's pid to ``<folder>/importer`` and waits (at most 60 s) until
``<folder>/open`` exists: a zygote that takes as long to start as the test wants. The test
process imports it before setting the variable.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

_GATE = os.environ.get("PIPELOOP_TEST_IMPORT_GATE")
if _GATE:
    Path(_GATE, "importer").write_text(str(os.getpid()))
    _deadline = time.monotonic() + 60
    while not Path(_GATE, "open").exists() and time.monotonic() < _deadline:
        time.sleep(0.01)


def pids(x: Any) -> list[int]:
    """This worker's pid and its parent's (the pool's zygote)."""
    return [os.getpid(), os.getppid()]
