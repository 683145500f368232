"""Many targets from one socket per family: ``pingsock.sweep()`` and friends.

``targets``, ``options``, ``events`` and ``engine`` are pure; ``driver`` (blocking) and
``aio`` (asyncio) do the I/O. The API is described in docs/sweep-api.md.

The package is also callable: ``pingsock.sweep(targets, **options)`` is
:func:`pingsock.sweep.driver.sweep`, since ``pingsock.sweep`` names this package as soon as
any of its modules is imported.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any

from pingsock.sweep.events import (
    Event,
    HostDone,
    HostResult,
    ProbeError,
    ProbeLost,
    ProbeReply,
    ResolveFailed,
    SweepTally,
    SweepTarget,
)
from pingsock.sweep.options import SweepOptions

__all__ = [
    "Event",
    "HostDone",
    "HostResult",
    "ProbeError",
    "ProbeLost",
    "ProbeReply",
    "ResolveFailed",
    "SweepOptions",
    "SweepTally",
    "SweepTarget",
    "run",
]


def run(targets: Iterable[str], options: SweepOptions | None = None) -> Iterator[Event]:
    """Every event of a sweep (:func:`pingsock.sweep.driver.run`)."""
    from pingsock.sweep.driver import run as _run

    return _run(targets, options)


class _CallableModule(types.ModuleType):
    def __call__(self, targets: Iterable[str], **fields: Any) -> Iterator[HostResult]:
        from pingsock.sweep.driver import sweep as _sweep

        return _sweep(targets, **fields)


sys.modules[__name__].__class__ = _CallableModule
