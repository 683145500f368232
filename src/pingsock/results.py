"""The outcome of a ping run as one value: what ``pingsock.ping()`` returns."""

from __future__ import annotations

from dataclasses import dataclass

from pingsock.events import Event, IcmpError, LocalError, Reply
from pingsock.resolve import Target
from pingsock.stats import LONG_MAX, PingStats, RttSummary, elapsed_ms

__all__ = ["PingResult"]


@dataclass(frozen=True, slots=True)
class PingResult:
    """Counts, replies, errors and iputils-exact statistics of one run.

    ``rtt`` holds min/avg/max/mdev in integer µs exactly as iputils computes them (duplicates
    included in the averages); the ``*_ms`` properties give them in milliseconds.
    """

    target: Target
    backend: str  # "kernel" or "raw"
    replies: tuple[Reply, ...]  # every reply, duplicates flagged
    errors: tuple[IcmpError | LocalError, ...]
    stats: PingStats
    elapsed_ns: int  # first probe to last probe sent (iputils' "time")

    @classmethod
    def from_run(
        cls,
        target: Target,
        backend: str,
        events: list[Event],
        stats: PingStats,
        elapsed_ns: int,
    ) -> PingResult:
        replies = tuple(e for e in events if isinstance(e, Reply))
        errors = tuple(e for e in events if isinstance(e, (IcmpError, LocalError)))
        return cls(target, backend, replies, errors, stats, elapsed_ns)

    @property
    def address(self) -> str:
        return self.target.address

    @property
    def transmitted(self) -> int:
        return self.stats.transmitted

    @property
    def received(self) -> int:
        return self.stats.received

    @property
    def duplicates(self) -> int:
        return self.stats.duplicates

    @property
    def error_count(self) -> int:
        return self.stats.errors

    @property
    def loss(self) -> float:
        """Packet loss in percent, as iputils computes it (errors count as loss)."""
        return self.stats.loss_percent

    @property
    def time_ms(self) -> int:
        return elapsed_ms(self.elapsed_ns)

    @property
    def rtt(self) -> RttSummary | None:
        """min/avg/max/mdev in µs; None when no reply was timed (none came back, or the payload
        was under 16 bytes: iputils then prints no rtt line either)."""
        return self.stats.rtt if self.stats.tmin_us != LONG_MAX else None

    @property
    def rtt_min_ms(self) -> float | None:
        return None if self.rtt is None else self.rtt.min_us / 1000

    @property
    def rtt_avg_ms(self) -> float | None:
        return None if self.rtt is None else self.rtt.avg_us / 1000

    @property
    def rtt_max_ms(self) -> float | None:
        return None if self.rtt is None else self.rtt.max_us / 1000

    @property
    def rtt_mdev_ms(self) -> float | None:
        return None if self.rtt is None else self.rtt.mdev_us / 1000
