"""What the ping drivers (blocking and asyncio) share, without I/O: iputils' exit rules, the
socket options iputils' ``setup()`` asks for, and the decoding of a reply's ancillary data.

The schedule and the exit rules are iputils' ``main_loop()``/``pinger()``/``schedule_exit()``
(shared/spec/iputils-ping.md sections 4, 5.4): probes every interval; without -w the run ends
once replies + errors reach -c, or when the linger after the last probe runs out (2 x the
largest RTT, at least the interval, if anything came back; -W otherwise); -w is a hard
deadline, and with -w the first ICMP error ends the run. The drivers take the clock readings
and pass them in.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from pingsock import linux
from pingsock.cmsg import parse_int_cmsg, parse_timestamp_ns
from pingsock.stats import StatsAccumulator

__all__ = [
    "ANC_SIZE",
    "DEFAULT_LINGER_S",
    "ECHO_HEADER",
    "MAX_DRAIN",
    "Schedule",
    "host_text",
    "icmp_echo_type",
    "reply_metadata",
    "socket_options",
]

ECHO_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, id, seq
ANC_SIZE = 512
DEFAULT_LINGER_S = 10.0  # iputils MAXWAIT
MAX_DRAIN = 1024  # packets read per wake-up, so a flood cannot starve the sender


def icmp_echo_type(family: int) -> int:
    return 128 if family == linux.AF_INET6 else 8


@dataclass(slots=True)
class Schedule:
    """The exit rules of one run and the times they depend on (``time.monotonic()`` seconds).

    ``count`` is -c (None: until stopped), ``deadline`` -w, ``linger`` -W.
    """

    count: int | None
    deadline: float | None
    linger: float
    start_ns: int  # CLOCK_MONOTONIC of the first probe
    wait_ms: int = 0  # the pacer's hint of when the next probe is due
    linger_until: float | None = None  # schedule_exit(): set when the last probe has left
    deadline_at: float | None = None  # -w

    @classmethod
    def begin(
        cls, count: int | None, deadline: float | None, linger: float, *, now_ns: int, now: float
    ) -> Schedule:
        plan = cls(count, deadline, linger, now_ns)
        if deadline:
            plan.deadline_at = now + deadline
        return plan

    def may_send(self, transmitted: int) -> bool:
        # pinger(): with -w, probes go on past -c until enough replies came back.
        return self.count is None or transmitted < self.count or bool(self.deadline)

    def finished(self, stats: StatsAccumulator, now: float) -> bool:
        """Whether the run is over (the caller checks a stop request first)."""
        if self.count is not None and stats.received + stats.errors >= self.count:
            return True
        if self.deadline and stats.errors:
            return True  # main_loop(): "if (deadline && nerrors) break" (iputils #565)
        if self.deadline_at is not None and now >= self.deadline_at:
            return True
        return self.linger_until is not None and now >= self.linger_until

    def clock_limit(self) -> float:
        """The earliest time (``time.monotonic()`` seconds) at which :meth:`finished` ends the
        run by the clock alone (-w or the linger; infinity while neither is set): a tight
        loop compares it with its clock reading rather than calling :meth:`finished`."""
        limits = [t for t in (self.deadline_at, self.linger_until) if t is not None]
        return min(limits) if limits else math.inf

    def wait_seconds(self, transmitted: int, now: float) -> float:
        """How long the driver may sleep before something is due."""
        limits = []
        if self.may_send(transmitted):
            limits.append(self.wait_ms / 1000)
        if self.linger_until is not None:
            limits.append(self.linger_until - now)
        if self.deadline_at is not None:
            limits.append(self.deadline_at - now)
        return max(0.0, min(limits)) if limits else 1.0

    def last_probe_left(self, transmitted: int) -> bool:
        """Whether the probe just sent was the last one (-c reached, no -w)."""
        return self.count is not None and transmitted >= self.count and not self.deadline

    def start_linger(self, stats: StatsAccumulator, interval_ms: int, now: float) -> None:
        # schedule_exit(): computed once, when the last probe has been sent.
        if stats.received:
            wait = max(2 * stats.tmax_us / 1e6, interval_ms / 1000)
        else:
            wait = self.linger
        self.linger_until = now + wait if wait > 0 else None


def socket_options(
    family: int, *, ttl: int | None, tos: int | None, timestamps: bool, reply_ttl: bool = True
) -> list[tuple[int, int, int]]:
    """The ``setsockopt`` calls of iputils' ``setup()`` (spec L11), in order: errors on the
    error queue, the TTL / hop limit of each reply (not for a run that shows no reply:
    ``reply_ttl`` False spares a cmsg per reply), a kernel receive time stamp (not with -U),
    then -t and -Q."""
    v6 = family == linux.AF_INET6
    level = linux.SOL_IPV6 if v6 else linux.SOL_IP
    options = [(level, linux.IPV6_RECVERR if v6 else linux.IP_RECVERR, 1)]
    if reply_ttl:
        options.append((level, linux.IPV6_RECVHOPLIMIT if v6 else linux.IP_RECVTTL, 1))
    if timestamps:
        options.append((linux.SOL_SOCKET, linux.SO_TIMESTAMPNS, 1))
    if ttl is not None:
        options.append((level, linux.IPV6_UNICAST_HOPS if v6 else linux.IP_TTL, ttl))
    if tos is not None:
        options.append((level, linux.IPV6_TCLASS if v6 else linux.IP_TOS, tos))
    return options


def reply_metadata(anc: list[tuple[int, int, bytes]]) -> tuple[int, int | None, bytes]:
    """(kernel receive stamp or 0, TTL / hop limit, IPv4 options) from a reply's cmsgs."""
    received_ns = 0
    ttl = None
    options = b""
    for level, kind, payload in anc:
        if level == linux.SOL_SOCKET:
            stamp = parse_timestamp_ns(level, kind, payload)
            if stamp is not None:
                received_ns = stamp
        elif (level, kind) in ((linux.SOL_IP, linux.IP_TTL), (linux.SOL_IPV6, linux.IPV6_HOPLIMIT)):
            ttl = parse_int_cmsg(payload)
        elif (level, kind) in ((linux.SOL_IP, linux.IP_RETOPTS), (linux.SOL_IP, linux.IP_OPTIONS)):
            options = bytes(payload)  # ping4_parse_reply: the options of the echoed datagram
    return received_ns, ttl, options


def host_text(address: tuple[object, ...]) -> str:
    """A reply's source as text: IPv6 link-local gets ``%scope`` as iputils prints it."""
    host = str(address[0])
    if len(address) >= 4 and address[3] and "%" not in host and host.startswith("fe80"):
        return f"{host}%{address[3]}"
    return host
