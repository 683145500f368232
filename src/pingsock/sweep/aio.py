"""The sweep under asyncio: the same :class:`~pingsock.sweep.driver.Sweeper` rounds, with the
waits between them handed to the event loop (``add_reader`` on each family's socket) instead
of ``select()``. A round sends at most a few thousand probes, so other tasks keep running
during a large sweep.

Names are resolved in the round, like the blocking sweep does (getaddrinfo blocks the loop
briefly); addresses, blocks and ranges need no resolving.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable

from pingsock.sweep.driver import Sweeper
from pingsock.sweep.events import Event, HostDone, HostResult
from pingsock.sweep.options import SweepOptions

__all__ = ["arun", "asweep"]


async def _readable(sweeper: Sweeper, delay: float | None) -> None:
    """Until a socket is readable or ``delay`` seconds pass (None: one second at most, to
    notice the end of a sweep that only waits for replies)."""
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not woken.done():
            woken.set_result(None)

    fds = [sock.fileno() for sock in sweeper.pollables]
    for fd in fds:
        loop.add_reader(fd, wake)
    try:
        await asyncio.wait_for(woken, 1.0 if delay is None else min(delay, 1.0))
    except asyncio.TimeoutError:
        pass
    finally:
        for fd in fds:
            loop.remove_reader(fd)


async def arun(targets: Iterable[str], options: SweepOptions | None = None) -> AsyncIterator[Event]:
    """Every event of a sweep, as :func:`pingsock.sweep.run` gives them, for ``async for``."""
    sweeper = Sweeper(targets, options)
    out: list[Event] = []
    try:
        while True:
            sweeper.step(out)
            for event in out:
                yield event
            out.clear()
            if sweeper.done:
                return
            delay = sweeper.delay()
            if delay == 0:
                await asyncio.sleep(0)  # a full round: let the other tasks run
            else:
                await _readable(sweeper, delay)
    finally:
        sweeper.close()


async def asweep(targets: Iterable[str], **fields: object) -> AsyncIterator[HostResult]:
    """``pingsock.asweep()``: one :class:`HostResult` per target, as each finishes."""
    options = SweepOptions(**fields)  # type: ignore[arg-type]
    async for event in arun(targets, options):
        if isinstance(event, HostDone):
            yield event.result
