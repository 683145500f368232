"""Ping statistics with iputils' exact arithmetic (shared/spec/iputils-ping.md section 5).

The counters and sums follow ``gather_statistics()`` and ``finish()`` in iputils 20221126
(``ping/ping_common.c``) so that every number pingsock prints is the one ``ping`` would print
for the same replies: the sums are C doubles (Python floats are the same IEEE binary64), the
divisions truncate toward zero like C's ``/`` on integers and ``(long)`` casts of doubles, and
the loss is rounded through a C ``float`` before ``%g``.

:class:`StatsAccumulator` is the small mutable builder the drivers feed; :class:`PingStats` is
its frozen snapshot, with the derived values (loss, avg, mdev, ewma) as properties. Times are
integer microseconds throughout. This module is pure: no clock, no I/O.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from pingsock.events import Event, IcmpError, LocalError, Reply, Sent

__all__ = [
    "INT_MAX",
    "LONG_MAX",
    "PingStats",
    "RttSummary",
    "StatsAccumulator",
    "c_div",
    "c_mod",
    "elapsed_ms",
    "format_reply_time",
    "format_us_as_ms",
    "ipg_us",
]

INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1  # iputils' initial tmin (ping.c: main, ``.tmin = LONG_MAX``)

_FLOAT32 = struct.Struct("=f")
_SEQ_SPACE = 0x10000  # icmp_seq is 16 bits


def c_div(a: int, b: int) -> int:
    """C integer division: the quotient truncates toward zero (Python's ``//`` floors)."""
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def c_mod(a: int, b: int) -> int:
    """C ``%``: the remainder takes the sign of the dividend, so ``a == c_div(a, b)*b + c_mod``."""
    return a - c_div(a, b) * b


def _int32(value: int) -> int:
    """Store into a C ``int`` (two's complement wrap), as ``rts->rtt`` does in 20221126."""
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value & 0x80000000 else value


def _c_float(value: float) -> float:
    """Round through a C ``float``: ``finish()`` casts the loss to float before ``%g``."""
    result: float = _FLOAT32.unpack(_FLOAT32.pack(value))[0]
    return result


def _llsqrt(a: int) -> int:
    """iputils' ``llsqrt()``: Newton's method from ``x = a``, returning the last iterate.

    That is floor(sqrt(a)) except when ``a + 1`` is a perfect square: there the loop steps
    from floor(sqrt(a)) back up and returns the next integer (``llsqrt(224) == 15``). For
    a <= 0 the loop never runs and the argument comes back unchanged, so a (rounding-)
    negative variance prints as a negative mdev, as in ping.
    """
    if a <= 0:
        return a
    root = math.isqrt(a)
    return root + 1 if (root + 1) * (root + 1) == a + 1 else root


def format_us_as_ms(us: int) -> str:
    """``%ld.%03ld`` of ``us / 1000`` and ``us % 1000`` with C semantics (truncation).

    Negative values keep C's look: -1234 gives ``-1.-234`` and -5 gives ``0.-05``.
    """
    return f"{c_div(us, 1000)}.{c_mod(us, 1000):03d}"


def format_reply_time(t_us: int) -> str:
    """The ``time=`` value of a reply line (``gather_statistics``; spec section 5.2).

    Half-up rounding on integer µs to three significant digits from 1 ms up; exact below.
    """
    if t_us >= 100000 - 50:
        return f"{c_div(t_us + 500, 1000)}"
    if t_us >= 10000 - 5:
        return f"{c_div(t_us + 50, 1000)}.{c_div(c_mod(t_us + 50, 1000), 100)}"
    if t_us >= 1000:
        return f"{c_div(t_us + 5, 1000)}.{c_div(c_mod(t_us + 5, 1000), 10):02d}"
    return format_us_as_ms(t_us)


def elapsed_ms(elapsed_ns: int) -> int:
    """The ``time Nms`` of the statistics: ``1000*sec + (nsec + 500000)/1000000`` (finish).

    ``elapsed_ns`` is CLOCK_MONOTONIC_RAW from the first probe to the last probe sent.
    """
    sec, nsec = divmod(elapsed_ns, 1_000_000_000)  # tssub() normalises nsec into [0, 1e9)
    return 1000 * sec + c_div(nsec + 500_000, 1_000_000)


def ipg_us(elapsed_ns: int, transmitted: int) -> int:
    """Mean inter-packet gap in µs (``finish``): ``(1e6*sec + nsec/1000) / (tx - 1)``.

    Only meaningful for ``transmitted > 1``; the result is stored in a C int.
    """
    sec, nsec = divmod(elapsed_ns, 1_000_000_000)
    return _int32(c_div(1_000_000 * sec + c_div(nsec, 1000), transmitted - 1))


@dataclass(frozen=True, slots=True)
class RttSummary:
    """min/avg/max/mdev in integer µs, as the ``rtt min/avg/max/mdev`` line prints them."""

    min_us: int
    avg_us: int
    max_us: int
    mdev_us: int


@dataclass(frozen=True, slots=True)
class PingStats:
    """A snapshot of the counters of one run (the fields of iputils' ``struct ping_rts``).

    ``received`` excludes duplicates and corrupted replies; ``tsum``/``tsum2`` include
    duplicates (``gather_statistics`` times every good reply before the duplicate check).
    ``tmin_us`` starts at LONG_MAX and ``tmax_us`` at 0, as in iputils; ``pipesize`` starts at
    -1. ``ewma_x8`` is the fixed-point (x8) moving average iputils keeps in ``rts->rtt``.
    """

    transmitted: int = 0
    received: int = 0
    duplicates: int = 0
    corrupted: int = 0
    errors: int = 0
    tsum: float = 0.0
    tsum2: float = 0.0
    tmin_us: int = LONG_MAX
    tmax_us: int = 0
    ewma_x8: int = 0
    pipesize: int = -1

    @property
    def loss_percent(self) -> float:
        """``(float)((tx - rx) * 100.0 / tx)`` (finish); 0.0 before anything was sent.

        Errors and duplicates do not enter: an error is a lost probe, a duplicate is not a
        second answer. Render with ``%g``.
        """
        if not self.transmitted:
            return 0.0
        return _c_float((self.transmitted - self.received) * 100.0 / self.transmitted)

    @property
    def loss_percent_int(self) -> int:
        """The integer (truncated) loss of the SIGQUIT line (``status``)."""
        if not self.transmitted:
            return 0
        return c_div((self.transmitted - self.received) * 100, self.transmitted)

    @property
    def timed(self) -> int:
        """How many replies the averages divide by: received + duplicates (``total``)."""
        return self.received + self.duplicates

    @property
    def avg_us(self) -> int:
        """``(long)(tsum / total)``; 0 when nothing was received."""
        if not self.received:
            return 0
        return int(self.tsum / self.timed)

    @property
    def mdev_us(self) -> int:
        """Population standard deviation in µs (about: see :func:`_llsqrt`), in ``finish``'s order.

        ``tmvar = (tsum2 - tsum*tsum/total) / total`` while ``tsum < INT_MAX`` (the comment in
        finish: this order avoids rounding errors for small times), otherwise
        ``tsum2/total - avg*avg``; then iputils' integer square root (:func:`_llsqrt`).
        """
        if not self.received:
            return 0
        total = self.timed
        if self.tsum < INT_MAX:
            tmvar = int((self.tsum2 - self.tsum * self.tsum / total) / total)
        else:
            avg = self.avg_us
            tmvar = int(self.tsum2 / total - avg * avg)
        return _llsqrt(tmvar)

    @property
    def rtt(self) -> RttSummary | None:
        """The ``rtt min/avg/max/mdev`` values, or None when nothing was received."""
        if not self.received:
            return None
        return RttSummary(self.tmin_us, self.avg_us, self.tmax_us, self.mdev_us)

    @property
    def ewma_us(self) -> int:
        """The moving average in µs: ``rtt / 8`` with C truncation (``status``, ``finish``)."""
        return c_div(self.ewma_x8, 8)


class StatsAccumulator:
    """The mutable side: feed it what happens, take :meth:`snapshot` values out.

    Each method names the iputils code whose counting it reproduces. ``quiet`` mirrors -q,
    which in ``ping4_receive_error_msg``/``ping6_receive_error_msg`` returns before counting a
    local error, so ``+N errors`` then shows only ICMP errors.
    """

    __slots__ = (
        "_acked",
        "_corrupted",
        "_duplicates",
        "_errors",
        "_ewma_x8",
        "_pipesize",
        "_quiet",
        "_received",
        "_tmax",
        "_tmin",
        "_transmitted",
        "_tsum",
        "_tsum2",
    )

    def __init__(self, *, quiet: bool = False) -> None:
        self._quiet = quiet
        self._transmitted = 0
        self._received = 0
        self._duplicates = 0
        self._corrupted = 0
        self._errors = 0
        self._tsum = 0.0
        self._tsum2 = 0.0
        self._tmin = LONG_MAX
        self._tmax = 0
        self._ewma_x8 = 0
        self._pipesize = -1
        self._acked = 0  # uint16 in iputils

    # -- sending ------------------------------------------------------------------------------

    def sent(self) -> None:
        """A probe left, or a hard send error pretended it did (``advance_ntransmitted``)."""
        self._transmitted += 1
        # Invalidate acked when the 16-bit sequence has run more than half a cycle past it.
        # (uint16_t)ntransmitted - acked is int arithmetic in C, so it may be negative here.
        if (self._transmitted & 0xFFFF) - self._acked > 0x7FFF:
            self._acked = (self._transmitted + 1) & 0xFFFF

    # -- receiving ----------------------------------------------------------------------------

    def acknowledge(self, seq: int) -> None:
        """``acknowledge()``: track the deepest pipe and the newest answered sequence."""
        seq &= 0xFFFF
        diff = (self._transmitted - seq) & 0xFFFF
        if diff <= 0x7FFF:
            if diff >= self._pipesize:
                self._pipesize = diff + 1
            ahead = (seq - self._acked) & 0xFFFF  # (int16_t)(seq - acked) > 0
            if (0 < ahead < 0x8000) or (self._transmitted & 0xFFFF) - self._acked > 0x7FFF:
                self._acked = seq

    def reply(
        self, seq: int, rtt_us: int | None, duplicate: bool, *, corrupted: bool = False
    ) -> None:
        """An echo reply (``gather_statistics``).

        ``rtt_us`` is None when the reply carries no send stamp (payload < 16 bytes, or too
        short); ``duplicate`` is the caller's duplicate-bitmap verdict. A negative RTT (the
        clock went back) counts as 0, as iputils does after its warning.
        """
        if corrupted:
            # Counted apart and not timed; the sequence is not acknowledged.
            self._corrupted += 1
            return
        self.acknowledge(seq)
        if rtt_us is not None:
            # Written for speed (a flood calls this per reply): no builtin called, the same
            # C arithmetic.
            t = rtt_us if rtt_us > 0 else 0
            self._tsum += t
            # (double)(t * t), the product exact in 64 bits: a float plus an int is that too.
            self._tsum2 += t * t
            if t < self._tmin:  # noqa: PLR1730 -- min() costs a call per reply
                self._tmin = t
            if t > self._tmax:  # noqa: PLR1730
                self._tmax = t
            # ewma x8: seeded with 8t whenever it is still 0 (not only on the first sample),
            # then rtt += t - rtt/8, all in a C int (>> 3 is C's / 8 for a non-negative one).
            ewma = self._ewma_x8
            if not ewma:
                ewma = t * 8
            elif ewma > 0:
                ewma += t - (ewma >> 3)
            else:
                ewma += t - c_div(ewma, 8)
            self._ewma_x8 = ewma if 0 <= ewma <= INT_MAX else _int32(ewma)
        if duplicate:
            self._duplicates += 1
        else:
            self._received += 1

    def icmp_error(self, seq: int) -> None:
        """An ICMP error quoting our probe: acknowledged and counted, even under -q."""
        self.acknowledge(seq)
        self._errors += 1

    def local_error(self) -> None:
        """A local error from the error queue (``+N errors``; not counted under -q)."""
        if not self._quiet:
            self._errors += 1

    def record(self, event: Event) -> None:
        """Feed one event from :mod:`pingsock.events` (corruption never reaches an event)."""
        if isinstance(event, Sent):
            self.sent()
        elif isinstance(event, Reply):
            self.reply(event.seq, event.rtt_us, duplicate=event.duplicate)
        elif isinstance(event, IcmpError):
            self.icmp_error(event.seq)
        elif isinstance(event, LocalError) and not event.send_only:
            self.local_error()
        # NoAnswerYet and StatusRequest are display events only.

    # -- reading ------------------------------------------------------------------------------

    @property
    def received(self) -> int:
        return self._received

    @property
    def errors(self) -> int:
        return self._errors

    @property
    def ewma_x8(self) -> int:
        return self._ewma_x8

    @property
    def tmax_us(self) -> int:
        return self._tmax

    def in_flight(self) -> int:
        """``in_flight()``: probes sent and not yet answered (flood dots use it)."""
        diff = ((self._transmitted & 0xFFFF) - self._acked) & 0xFFFF
        if diff <= 0x7FFF:
            return diff
        return self._transmitted - self._received - self._errors

    def snapshot(self) -> PingStats:
        """The counters as a frozen value."""
        return PingStats(
            transmitted=self._transmitted,
            received=self._received,
            duplicates=self._duplicates,
            corrupted=self._corrupted,
            errors=self._errors,
            tsum=self._tsum,
            tsum2=self._tsum2,
            tmin_us=self._tmin,
            tmax_us=self._tmax,
            ewma_x8=self._ewma_x8,
            pipesize=self._pipesize,
        )
