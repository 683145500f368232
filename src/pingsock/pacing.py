"""When the next probe may leave: iputils' token bucket, without a clock of its own.

``pinger()`` in iputils' ping_common.c lets ``preload`` probes leave at once and then one per
interval, in integer milliseconds of CLOCK_MONOTONIC_RAW; with interval 0 (flood) a probe
leaves as soon as the previous one is answered, but at least every ``MININTERVAL`` (10 ms)
while ``preload`` probes are unanswered ("100 pps when no reply"). This class keeps the same
arithmetic; the driver passes in the time and the number of probes in flight.
"""

from __future__ import annotations

__all__ = ["MIN_INTERVAL_MS", "Pacer"]

MIN_INTERVAL_MS = 10  # iputils MININTERVAL


def _elapsed_ms(now_ns: int, then_ns: int) -> int:
    """pinger(): ``(tv.tv_sec - cur.tv_sec) * 1000 + (tv.tv_nsec - cur.tv_nsec) / 1000000``,
    seconds and nanoseconds subtracted apart, with C's truncating division."""
    seconds = now_ns // 1_000_000_000 - then_ns // 1_000_000_000
    nanos = now_ns % 1_000_000_000 - then_ns % 1_000_000_000
    return seconds * 1000 + int(nanos / 1_000_000)


class Pacer:
    """The token bucket of one run. Call :meth:`wait_ms` before each send; send only when
    it returns None, then report the outcome with one of the ``sent_*`` methods."""

    __slots__ = ("_last_ns", "_tokens", "interval_ms", "preload")

    def __init__(self, interval_ms: int, preload: int = 1) -> None:
        self.interval_ms = interval_ms
        self.preload = max(1, preload)
        self._tokens = 0
        self._last_ns: int | None = None

    def wait_ms(self, now_ns: int, in_flight: int) -> int | None:
        """Milliseconds to wait before the next probe, or None: send now (the tokens for that
        probe are taken)."""
        interval = self.interval_ms
        if self._last_ns is None:
            # The first call: the bucket holds the preload burst.
            self._last_ns = now_ns
            self._tokens = interval * (self.preload - 1)
            return None
        ntokens = _elapsed_ms(now_ns, self._last_ns)
        if not interval and ntokens < MIN_INTERVAL_MS and in_flight >= self.preload:
            # Unlimited flood: a new probe once the window has room, else every 10 ms.
            return MIN_INTERVAL_MS - ntokens
        ntokens = min(ntokens + self._tokens, interval * self.preload)
        if ntokens < interval:
            return interval - ntokens
        self._last_ns = now_ns
        self._tokens = ntokens - interval
        return None

    def flood_sent(self, now_ns: int) -> None:
        """An unpaced flood (interval 0) sent with room in its window: what :meth:`wait_ms`
        would have done (it always says "now" then), without its arithmetic. The 10 ms
        "no reply" clock restarts here."""
        self._last_ns = now_ns
        self._tokens = 0

    def sent_ok(self) -> int:
        """The probe left; returns pinger()'s hint of when the next one is due."""
        return self.interval_ms - self._tokens

    def sent_again_later(self) -> int:
        """EAGAIN: the socket buffer is full; the probe is retried (tokens given back)."""
        self._tokens += self.interval_ms
        return MIN_INTERVAL_MS

    def sent_no_buffers(self) -> int:
        """ENOBUFS/ENOMEM: the device queue overflowed; slow down (``nores_interval``)."""
        self._tokens = 0
        return min(max(self.interval_ms // 2, MIN_INTERVAL_MS), 500)

    def sent_failed(self) -> int:
        """A hard local error: iputils pretends the probe left and waits one interval."""
        self._tokens = 0
        return max(self.interval_ms, MIN_INTERVAL_MS)

    def set_interval(self, interval_ms: int) -> None:
        """-A: the interval follows the measured round trip (``update_interval``)."""
        self.interval_ms = interval_ms
