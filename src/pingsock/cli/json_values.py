"""The values of ``pingsock ping --json`` lines: numbers, errno names, timestamps, IP options.

Pure: the number and name conversions :mod:`pingsock.cli.json_lines` writes (milliseconds from
the microseconds of :mod:`pingsock.stats`, the text's ``time=`` rounding, the ``%g`` loss
percent, ``-D``'s timestamp, symbolic errno names) and the decoding of an IPv4 reply's
record-route and timestamp options into plain lists. The line format is documented there.
"""

from __future__ import annotations

import errno as _errno

from pingsock.stats import PingStats, c_div

__all__ = [
    "errno_name",
    "ip_option_lists",
    "loss",
    "ms",
    "reply_time_ms",
    "timestamp",
]


def ms(us: int) -> float:
    """Microseconds as milliseconds: the nearest double to the exact decimal ``us/1000``."""
    return us / 1000


def timestamp(at_ns: int) -> float:
    """A CLOCK_REALTIME stamp in seconds, to the microsecond, like ``-D``'s ``[sec.usec]``."""
    return (at_ns // 1000) / 1_000_000


def reply_time_ms(t_us: int) -> float:
    """The ``time=`` value as a number: :func:`pingsock.stats.format_reply_time`'s rounding."""
    if t_us >= 100000 - 50:
        return float(c_div(t_us + 500, 1000))
    if t_us >= 10000 - 5:
        return c_div(t_us + 50, 100) / 10
    if t_us >= 1000:
        return c_div(t_us + 5, 10) / 100
    return ms(t_us)


def errno_name(number: int) -> str | None:
    if not number:
        return None
    return _errno.errorcode.get(number, str(number))


def loss(stats: PingStats) -> float | None:
    """The loss percent as the statistics print it (``%g``), None when nothing was sent."""
    if not stats.transmitted:
        return None
    return float(f"{stats.loss_percent:g}")


_IPOPT_EOL, _IPOPT_NOP, _IPOPT_RR, _IPOPT_TS = 0, 1, 7, 68
_IPOPT_TS_TSONLY = 0


def _ipv4(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def ip_option_lists(
    options: bytes,
) -> tuple[list[str] | None, list[dict[str, str | int | None]] | None]:
    """The record-route addresses and timestamp entries of an IPv4 options area.

    Only the slots the routers filled (up to the option's pointer) are listed; the walk
    stops, like ``pr_options``, at an end-of-list or a malformed length.
    """
    route: list[str] | None = None
    stamps: list[dict[str, str | int | None]] | None = None
    pos = 0
    while pos < len(options):
        kind = options[pos]
        if kind == _IPOPT_EOL:
            break
        if kind == _IPOPT_NOP:
            pos += 1
            continue
        if pos + 3 > len(options):
            break
        length, pointer = options[pos + 1], options[pos + 2]
        if length < 3 or pos + length > len(options):
            break
        body = options[pos : pos + length]
        filled = min(pointer, length + 1)  # the pointer is 1-based: the next free byte
        if kind == _IPOPT_RR:
            count = max(filled - 4, 0) // 4
            route = [_ipv4(body[3 + 4 * i : 7 + 4 * i]) for i in range(count)]
        elif kind == _IPOPT_TS and length >= 4:
            with_address = body[3] & 0xF != _IPOPT_TS_TSONLY
            size = 8 if with_address else 4
            count = max(filled - 5, 0) // size
            stamps = []
            for i in range(count):
                entry = body[4 + size * i : 4 + size * (i + 1)]
                stamps.append(
                    {
                        "address": _ipv4(entry[:4]) if with_address else None,
                        "ms": int.from_bytes(entry[-4:], "big"),
                    }
                )
        pos += length
    return route, stamps
