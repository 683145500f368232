"""What a sweep reports (docs/sweep-api.md): per-probe events and one result per target.

Named tuples rather than frozen dataclasses: as immutable, and a quarter of the cost to make
(a /16 sweep makes 200,000 of them, and a frozen dataclass costs more than the probe's own
bookkeeping).
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "Event",
    "HostDone",
    "HostResult",
    "ProbeError",
    "ProbeLost",
    "ProbeReply",
    "ResolveFailed",
    "SweepTally",
    "SweepTarget",
]


class SweepTarget(NamedTuple):
    """A target as typed (``given``) and the numeric ``address`` it is pinged at."""

    given: str
    address: str
    family: int
    scope_id: int = 0

    @property
    def sockaddr(self) -> tuple[str, int] | tuple[str, int, int, int]:
        if self.scope_id or ":" in self.address:
            return (self.address, 0, 0, self.scope_id)
        return (self.address, 0)


class HostResult(NamedTuple):
    """Everything a sweep learnt about one target."""

    target: SweepTarget
    sent: int
    received: int  # probes answered (each counted once)
    duplicates: int
    errors: int  # ICMP errors about its probes
    rtts_ns: tuple[int | None, ...]  # per probe: the first reply's round trip, or None

    @property
    def alive(self) -> bool:
        return self.received > 0

    @property
    def loss_percent(self) -> int:
        """fping's ``%loss``: integer division of the lost share (0 when nothing was sent)."""
        if not self.sent:
            return 0
        return (self.sent - self.received) * 100 // self.sent

    def answered_rtts(self) -> list[int]:
        return [rtt for rtt in self.rtts_ns if rtt is not None]

    @property
    def min_ms(self) -> float | None:
        rtts = self.answered_rtts()
        return min(rtts) / 1e6 if rtts else None

    @property
    def max_ms(self) -> float | None:
        rtts = self.answered_rtts()
        return max(rtts) / 1e6 if rtts else None

    @property
    def avg_ms(self) -> float | None:
        rtts = self.answered_rtts()
        return sum(rtts) / len(rtts) / 1e6 if rtts else None


class ProbeReply(NamedTuple):
    """Probe ``number`` of ``target`` was answered (count mode; in default mode the first reply
    ends the target, and only :class:`HostDone` is reported)."""

    target: SweepTarget
    number: int  # the probe's number for that target, from 0 (fping's [0])
    rtt_ns: int
    size: int  # ICMP bytes received, header included
    ttl: int | None
    duplicate: bool


class ProbeLost(NamedTuple):
    """Probe ``number`` of ``target`` timed out (count mode)."""

    target: SweepTarget
    number: int  # the probe's number for that target, from 0 (fping's [0])


class ProbeError(NamedTuple):
    """An ICMP error about probe ``number`` of ``target``, sent by ``source``; or, with
    ``icmp_type`` -1, a local failure to send it (``icmp_code`` is then the errno)."""

    target: SweepTarget
    number: int  # the probe's number for that target, from 0 (fping's [0])
    source: str
    icmp_type: int
    icmp_code: int


class HostDone(NamedTuple):
    """Nothing more will happen for ``result.target``."""

    result: HostResult


class ResolveFailed(NamedTuple):
    """``given`` did not resolve; ``message`` is getaddrinfo's reason."""

    given: str
    message: str


class SweepTally:
    """What a tallied sweep counts instead of reporting a :class:`HostDone` per target: the
    default mode's targets that ended without an ICMP error or a failed send (those still
    get their events). fping's counters (``print_global_stats``)."""

    __slots__ = ("alive", "max_ns", "min_ns", "received", "sent", "settled", "sum_ns", "timeouts")

    def __init__(self) -> None:
        self.settled = 0  # targets counted here
        self.alive = 0
        self.sent = 0
        self.received = 0
        self.timeouts = 0  # probes that timed out
        self.min_ns = 0  # 0: no reply yet
        self.max_ns = 0
        self.sum_ns = 0


Event = ProbeReply | ProbeLost | ProbeError | HostDone | ResolveFailed
