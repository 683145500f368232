"""``pingsock ping --json``: one JSON object per line (NDJSON) for the programs that read ping.

Pure: every function returns one line of text ending in ``"\\n"`` (or ``""`` where nothing is
due) and prints nothing. The values come from the same events and :class:`PingStats` the text
renderer uses, so the numbers are the ones the text shows.

Format
======

Each line is one JSON object; its first key is ``"type"``. Every key of a type is always
present, in the fixed order of :data:`KEYS` (``null`` where a value does not apply), so a
consumer can index without checking. Numbers are JSON numbers, never strings. Times are
milliseconds (``"time"``, ``"rtt"``, ``"ipg"``, ``"ewma"``, ``*_ms``) unless the key says
``_us`` (integer microseconds, iputils' own unit); ``"timestamp"`` is the event's
CLOCK_REALTIME stamp in seconds with microsecond precision (what ``-D`` prints; a double
holds every microsecond until 2106). Lines are ``json.dumps`` with its default separators
(``", "`` and ``": "``, as iputils' ``-j`` writes) and ``ensure_ascii`` (so the stream is
ASCII whatever the locale), with NaN refused.

``start`` (once, where the text prints the ``PING`` header)::

    {"type": "start", "host": "203.0.113.1", "address": "203.0.113.1", "family": 4,
     "data_bytes": 56, "backend": "kernel", "socket_type": "dgram", "ident": null}

``reply`` (each echo reply, duplicates included)::

    {"type": "reply", "host": "203.0.113.1", "source": "203.0.113.1", "seq": 1, "bytes": 64,
     "ttl": 63, "time": 0.028, "rtt_ms": 0.028, "rtt_us": 28, "duplicate": false,
     "truncated": false, "different_address": false, "wrong_data": false, "ident": null,
     "tos": null, "record_route": null, "timestamps": null, "timestamp": 1700000000.123456}

``error`` (an ICMP error quoting one of our probes)::

    {"type": "error", "host": "198.51.100.254", "source": "198.51.100.254", "seq": 1,
     "icmp_type": 11, "icmp_code": 0, "info": 0, "text": "Time to live exceeded",
     "errno": "EHOSTUNREACH", "timestamp": 1700000000.123456}

``local_error`` (an error raised on this host; the text prints it on stderr)::

    {"type": "local_error", "seq": 3, "errno": "EMSGSIZE", "mtu": 1500,
     "text": "local error: message too long, mtu=1500", "timestamp": 1700000000.123456}

``no_answer`` (``-O``: the previous probe is still unanswered when the next one leaves)::

    {"type": "no_answer", "seq": 2, "timestamp": 1700000000.123456}

``status`` (SIGQUIT; the text prints it on stderr)::

    {"type": "status", "transmitted": 3, "received": 3, "duplicates": 0, "corrupted": 0,
     "errors": 0, "loss": 0.0, "rtt": {"min": 0.02, "avg": 0.02, "ewma": 0.021, "max": 0.021}}

``summary`` (once, last, where the text prints the statistics)::

    {"type": "summary", "host": "203.0.113.1", "transmitted": 3, "received": 3,
     "duplicates": 0, "corrupted": 0, "errors": 0, "loss": 0.0, "time": 2045,
     "rtt": {"min": 0.023, "avg": 0.025, "max": 0.028, "mdev": 0.002},
     "rtt_us": {"min": 23, "avg": 25, "max": 28, "mdev": 2}, "pipe": null, "ipg": null,
     "ewma": null, "exit_status": 0}

Meaning of the values
---------------------

* ``host`` is the name exactly as the text shows it: the header's hostname in ``start`` and
  ``summary`` (``--- host ping statistics ---``), the ``pr_addr`` form (``addr``, or
  ``name (addr)``) after ``from``/``From`` in ``reply``/``error``. ``address`` and ``source``
  are always numeric: the target, and the sender of the reply or of the ICMP error (the
  *offender*: a router, the target, or this host).
* ``family`` is 4 or 6; ``backend`` is ``"kernel"`` (the ICMP datagram socket,
  ``socket_type`` ``"dgram"``) or ``"raw"`` (the emulation, ``"raw"``); ``ident`` is the
  echo identifier when known (``-v`` prints it), else null.
* ``seq`` is the 16-bit ``icmp_seq`` as printed. ``bytes`` is the ICMP length (iputils'
  ``cc``, IP header excluded). ``ttl`` is the TTL / hop limit, null when unknown.
* ``time`` is the reply's ``time=`` value as the text rounds it (three significant digits
  from 1 ms up); ``rtt_ms`` is the same RTT at full microsecond precision and ``rtt_us`` the
  integer. All three are null when the reply was not timed (payload under 16 bytes); ``time``
  is also null for a ``truncated`` reply, which the text prints without a time although the
  statistics count its RTT.
* ``duplicate``, ``truncated``, ``different_address`` and ``wrong_data`` are the text's
  ``(DUP!)``, ``(truncated)``, ``(DIFFERENT ADDRESS!)`` and ``wrong data byte`` marks, except
  that ``duplicate`` is true for every repeated sequence (the text hides ``(DUP!)`` for
  broadcast and multicast targets without ``-v``).
* ``record_route`` lists the (numeric) addresses an IPv4 record-route option collected and
  ``timestamps`` the entries of a timestamp option, ``{"address": str | null, "ms": int}``
  each (``address`` null for ``tsonly``; ``ms`` is the raw 32-bit value, not the text's
  deltas, and the high bit set means non-standard); decoded from the reply's IP options
  (``-R``, ``-T``), null when it carried no such option.
* ``text`` is the description iputils prints (:func:`pingsock.cli.icmp_text.icmp_error_text`;
  for ``local_error`` the message after ``ping: ``). ``errno`` is the symbolic name of the
  kernel's errno (``EHOSTUNREACH``), the number as a string if Python knows no name, or null
  for 0. ``info`` is the error's ``ee_info`` (next-hop MTU, parameter-problem pointer, ...).
* ``loss`` is the packet-loss **percent** as the statistics print it (``%g`` of iputils' C
  float: 33.3333); null when nothing was sent (the text prints no loss then). ``time`` in the
  summary is the integer ``time Nms`` (first probe to last probe sent).
* ``rtt`` holds exactly the numbers of the ``rtt min/avg/max/mdev`` line (the same µs values
  from :mod:`pingsock.stats`, divided by 1000), ``rtt_us`` the integers; both are null when
  the text prints no rtt line (nothing received, or no timing). ``pipe`` is the ``pipe N``
  value, ``ipg``/``ewma`` the ``ipg/ewma`` values, each null when the text omits it.
* ``exit_status`` is the status the command exits with.

Names kept from iputils' experimental ``-j`` (HEAD, spec section 3.7): ``bytes``, ``host``,
``seq``, ``ttl``, ``ident``, ``time`` in replies; ``host``, ``transmitted``, ``received``,
``duplicates``, ``corrupted``, ``errors``, ``loss``, ``time``, ``rtt`` (``min``/``avg``/
``max``/``mdev``), ``pipe``, ``ipg``, ``ewma`` in the statistics. The differences are
deliberate: iputils writes times as strings (``"time": "0.033"``) and the loss as an
integer (its C float goes through an ``int`` parameter: 33.3333 becomes 33); here they are
numbers as the text prints them, and the reply's ``time`` keeps the text's rounding, so
``float(obj["time"])`` reads the same in both.
iputils also omits keys it does not print; here they are null. ``"type"`` and the lines other
than replies and statistics are pingsock's: ``-j`` prints errors as text.

How the CLI calls it
====================

With ``--json`` the command writes these lines, and nothing else, on **stdout**, flushing
after each line; ``ping:`` diagnostics (usage errors, resolve and permission failures) stay
text on stderr, and the exit status is the text mode's. In ``pingsock.cli.main``:

* after the route check, where the text writes the header::

      json_lines.start_line(target.canonical, target.address, family=4 or 6,
                            data_bytes=args.size, backend=pinger.backend,
                            ident=<the echo id if known, else None>)

  (the kernel socket's ident is its port, ``getsockname()[1]``; the raw backend's is the
  one it claimed);
* in the event callback, in place of the text (and in place of the flood dots), except that
  under ``-q`` replies and errors are not written (as the text; ``no_answer``, ``status``
  and ``summary`` still are):

  - ``Reply``: ``reply_line(event, names.show(event.source),
    different_address=different, wrong_data=bool(wrong))`` (``different`` and ``wrong`` as
    the text computes them);
  - ``IcmpError``: ``error_line(event, names.show(event.offender))``;
  - ``LocalError``: ``local_error_line(event, os.strerror(event.errno), family=4 or 6)``;
  - ``NoAnswerYet``: ``no_answer_line(event)``; ``Sent``: nothing.

  :func:`event_line` does this dispatch for callers without those extras.
* on SIGQUIT: ``status_line(stats, opts)``;
* at the end, in place of ``render.statistics``::

      status = render.exit_status(result.received, deadline=..., count=...)
      json_lines.summary_line(result.stats, target.canonical, result.elapsed_ns, status, opts)

  and exit with ``status``. ``opts`` is the run's :class:`RenderOptions` (its ``datalen``,
  ``interval_ms``, ``flood`` and ``adaptive`` decide, as for the text, whether there is an
  rtt and an ipg/ewma value).
"""

from __future__ import annotations

from typing import Any

from pingsock.cli import render
from pingsock.cli.icmp_text import icmp_error_text
from pingsock.cli.json_values import (
    errno_name,
    ip_option_lists,
    loss,
    ms,
    reply_time_ms,
    timestamp,
)
from pingsock.events import Event, IcmpError, LocalError, NoAnswerYet, Reply
from pingsock.stats import PingStats, elapsed_ms, ipg_us

__all__ = [
    "KEYS",
    "error_line",
    "event_line",
    "local_error_line",
    "no_answer_line",
    "reply_line",
    "start_line",
    "status_line",
    "summary_line",
]

KEYS: dict[str, tuple[str, ...]] = {
    "start": (
        "type",
        "host",
        "address",
        "family",
        "data_bytes",
        "backend",
        "socket_type",
        "ident",
    ),
    "reply": (
        "type",
        "host",
        "source",
        "seq",
        "bytes",
        "ttl",
        "time",
        "rtt_ms",
        "rtt_us",
        "duplicate",
        "truncated",
        "different_address",
        "wrong_data",
        "ident",
        "tos",
        "record_route",
        "timestamps",
        "timestamp",
    ),
    "error": (
        "type",
        "host",
        "source",
        "seq",
        "icmp_type",
        "icmp_code",
        "info",
        "text",
        "errno",
        "timestamp",
    ),
    "local_error": ("type", "seq", "errno", "mtu", "text", "timestamp"),
    "no_answer": ("type", "seq", "timestamp"),
    "status": (
        "type",
        "transmitted",
        "received",
        "duplicates",
        "corrupted",
        "errors",
        "loss",
        "rtt",
    ),
    "summary": (
        "type",
        "host",
        "transmitted",
        "received",
        "duplicates",
        "corrupted",
        "errors",
        "loss",
        "time",
        "rtt",
        "rtt_us",
        "pipe",
        "ipg",
        "ewma",
        "exit_status",
    ),
}
"""The keys of each line type, in the order they are written."""

_SOCKET_TYPES = {"kernel": "dgram", "raw": "raw"}
_DEFAULT_OPTS = render.RenderOptions()


def _line(obj: dict[str, Any]) -> str:
    import json  # imported by a --json run only: a plain ping starts 2 ms sooner

    return json.dumps(obj, allow_nan=False) + "\n"


# -- per-event lines --------------------------------------------------------------------------


def start_line(
    hostname: str,
    address: str,
    *,
    family: int,
    data_bytes: int,
    backend: str,
    ident: int | None = None,
) -> str:
    """The first line: the target (``hostname`` as the text header shows it, ``address``
    numeric), ``family`` 4 or 6, ``data_bytes`` (``-s``), ``backend`` ``"kernel"``/``"raw"``
    (its ``socket_type`` follows) and the echo ``ident`` when known."""
    return _line(
        {
            "type": "start",
            "host": hostname,
            "address": address,
            "family": family,
            "data_bytes": data_bytes,
            "backend": backend,
            "socket_type": _SOCKET_TYPES.get(backend),
            "ident": ident,
        }
    )


def reply_line(
    reply: Reply, host: str, *, different_address: bool = False, wrong_data: bool = False
) -> str:
    """An echo reply. ``host`` is ``pr_addr`` of ``reply.source`` (the text's ``from``);
    ``different_address`` and ``wrong_data`` are the caller's checks, as for the text. The
    record-route and timestamp options are decoded from ``reply.ip_options``."""
    rtt = reply.rtt_us
    time = None if rtt is None or reply.truncated else reply_time_ms(rtt)
    record_route, timestamps = ip_option_lists(reply.ip_options)
    return _line(
        {
            "type": "reply",
            "host": host,
            "source": reply.source,
            "seq": reply.seq & 0xFFFF,
            "bytes": reply.size,
            "ttl": reply.ttl,
            "time": time,
            "rtt_ms": None if rtt is None else ms(rtt),
            "rtt_us": rtt,
            "duplicate": reply.duplicate,
            "truncated": reply.truncated,
            "different_address": different_address,
            "wrong_data": wrong_data,
            "ident": reply.ident,
            "tos": reply.tos,
            "record_route": record_route,
            "timestamps": timestamps,
            "timestamp": timestamp(reply.received_at_ns),
        }
    )


def error_line(error: IcmpError, host: str, *, nexthop: str | None = None) -> str:
    """An ICMP error. ``host`` is ``pr_addr`` of ``error.offender`` (the text's ``From``);
    ``nexthop`` is the redirect gateway's display, as for the text."""
    return _line(
        {
            "type": "error",
            "host": host,
            "source": error.offender,
            "seq": error.seq & 0xFFFF,
            "icmp_type": error.icmp_type,
            "icmp_code": error.icmp_code,
            "info": error.info & 0xFFFFFFFF,
            "text": icmp_error_text(
                error.family, error.icmp_type, error.icmp_code, error.info, nexthop=nexthop
            ),
            "errno": errno_name(error.errno),
            "timestamp": timestamp(error.received_at_ns),
        }
    )


def local_error_line(error: LocalError, strerror: str, *, family: int = 4) -> str:
    """A local error; ``strerror`` is ``os.strerror(error.errno)`` (the caller's: no I/O here).

    ``text`` is the text mode's stderr message without its ``ping: `` prefix.
    """
    message = render.local_error(error, strerror, _DEFAULT_OPTS, family=family).stderr
    prefix = f"{_DEFAULT_OPTS.program}: "
    return _line(
        {
            "type": "local_error",
            "seq": None if error.seq is None else error.seq & 0xFFFF,
            "errno": errno_name(error.errno),
            "mtu": error.mtu,
            "text": message.removeprefix(prefix).removesuffix("\n"),
            "timestamp": timestamp(error.received_at_ns),
        }
    )


def no_answer_line(event: NoAnswerYet) -> str:
    """``-O``: ``no answer yet for icmp_seq=N``."""
    return _line(
        {"type": "no_answer", "seq": event.seq % 0x10000, "timestamp": timestamp(event.at_ns)}
    )


def event_line(
    event: Event, *, host: str | None = None, strerror: str | None = None, family: int = 4
) -> str:
    """The line of any event, for callers without the reply checks of :func:`reply_line`.

    ``host`` is the ``pr_addr`` display of the reply source or error offender (default: the
    numeric address); ``strerror`` the text of a local error's errno (default: its name).
    Events that print nothing of their own give ``""``: ``Sent``, and a SIGQUIT request,
    which is answered with :func:`status_line`.
    """
    if isinstance(event, Reply):
        return reply_line(event, event.source if host is None else host)
    if isinstance(event, IcmpError):
        return error_line(event, event.offender if host is None else host)
    if isinstance(event, LocalError):
        text = strerror if strerror is not None else (errno_name(event.errno) or "")
        return local_error_line(event, text, family=family)
    if isinstance(event, NoAnswerYet):
        return no_answer_line(event)
    return ""


# -- summaries --------------------------------------------------------------------------------


def status_line(stats: PingStats, opts: render.RenderOptions | None = None) -> str:
    """SIGQUIT: the counters so far. ``rtt`` (min/avg/ewma/max) is set when the text's status
    line shows it (something received and a timed run). ``loss`` is the summary's percent, not
    the status text's truncated integer."""
    opts = opts or _DEFAULT_OPTS
    rtt = None
    if stats.received and opts.timing:
        rtt = {
            "min": ms(stats.tmin_us),
            "avg": ms(stats.avg_us),
            "ewma": ms(stats.ewma_us),
            "max": ms(stats.tmax_us),
        }
    return _line(
        {
            "type": "status",
            "transmitted": stats.transmitted,
            "received": stats.received,
            "duplicates": stats.duplicates,
            "corrupted": stats.corrupted,
            "errors": stats.errors,
            "loss": loss(stats),
            "rtt": rtt,
        }
    )


def summary_line(
    stats: PingStats,
    hostname: str,
    elapsed_ns: int,
    exit_status: int,
    opts: render.RenderOptions | None = None,
) -> str:
    """The last line: :func:`pingsock.cli.render.statistics`' numbers, same arguments
    (``hostname`` as in the header, ``elapsed_ns`` from the first to the last probe sent),
    plus the command's ``exit_status``."""
    opts = opts or _DEFAULT_OPTS
    rtt_ms: dict[str, float] | None = None
    rtt_us: dict[str, int] | None = None
    summary = stats.rtt
    if summary is not None and opts.timing:
        rtt_us = {
            "min": summary.min_us,
            "avg": summary.avg_us,
            "max": summary.max_us,
            "mdev": summary.mdev_us,
        }
        rtt_ms = {key: ms(value) for key, value in rtt_us.items()}
    ipg = ewma = None
    if (
        stats.received
        and (opts.interval_ms == 0 or opts.flood or opts.adaptive)
        and stats.transmitted > 1
    ):
        ipg = ms(ipg_us(elapsed_ns, stats.transmitted))
        ewma = ms(stats.ewma_us)
    return _line(
        {
            "type": "summary",
            "host": hostname,
            "transmitted": stats.transmitted,
            "received": stats.received,
            "duplicates": stats.duplicates,
            "corrupted": stats.corrupted,
            "errors": stats.errors,
            "loss": loss(stats),
            "time": elapsed_ms(elapsed_ns) if stats.transmitted else None,
            "rtt": rtt_ms,
            "rtt_us": rtt_us,
            "pipe": stats.pipesize if stats.pipesize > 1 else None,
            "ipg": ipg,
            "ewma": ewma,
            "exit_status": exit_status,
        }
    )
