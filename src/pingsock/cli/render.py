"""The text of ``pingsock ping``: iputils 20221126 output, byte for byte (spec section 3).

Every function here is pure and returns the exact characters ping would write, newlines
included; nothing is printed. Unless a function returns :class:`Output`, its text belongs on
**stdout**. :class:`Output` is used where iputils picks the stream by mode (local errors: a
``ping:`` diagnostic on stderr, or an ``E`` on stdout in flood mode) or always writes to
stderr (the SIGQUIT status line).

Run-wide switches travel in one :class:`RenderOptions`. Names are shown through
:func:`pr_addr`; the reverse lookup itself is the caller's (this module does no I/O), which
passes the looked-up name or None.

The ICMP error wording (``pr_icmph``, ``print_icmp``) lives in :mod:`pingsock.cli.icmp_text`
and the IPv4 option blocks (``pr_options``) in :mod:`pingsock.cli.options_text`; this module
re-exports :func:`icmp_error_text` and :class:`OptionsPrinter` from them.

Layout rules the caller keeps:

* write :func:`pattern_line` (if any) before the header, and flush stdout after each reply
  or error line (iputils ``fflush``es there; a pipe sees the header with the first of them);
* the flood ``.`` per send is :data:`FLOOD_SENT`; suppressing dots beyond the terminal width
  (``pinger``: ``in_flight() < screen_width``) needs the tty, so it is the caller's call;
* after an IPv4 option block the statistics come after **two** blank lines: the block's own
  and the one :func:`statistics` starts with. Nothing extra is needed.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

from pingsock.cli.icmp_text import icmp_error_text
from pingsock.cli.options_text import OptionsPrinter
from pingsock.events import IcmpError, LocalError, NoAnswerYet, Reply
from pingsock.stats import PingStats, elapsed_ms, format_reply_time, format_us_as_ms, ipg_us

__all__ = [
    "FLOOD_BAD_CHECKSUM",
    "FLOOD_ICMP_ERROR",
    "FLOOD_LOCAL_ERROR",
    "FLOOD_REPLY",
    "FLOOD_SENT",
    "OptionsPrinter",
    "Output",
    "RenderOptions",
    "exit_status",
    "header_v4",
    "header_v6",
    "icmp_error_line",
    "icmp_error_text",
    "local_error",
    "no_answer_yet_line",
    "pattern_line",
    "pr_addr",
    "reply_line",
    "send_error",
    "statistics",
    "status_line",
    "timestamp_prefix",
    "wrong_data_dump",
]

# Flood mode characters (gather_statistics, ping4/6_receive_error_msg, pinger).
FLOOD_SENT = "."
FLOOD_REPLY = "\b \b"
FLOOD_BAD_CHECKSUM = "\bC"
FLOOD_ICMP_ERROR = "\bE"
FLOOD_LOCAL_ERROR = "E"

_TIMEVAL_SIZE = 16  # sizeof(struct timeval) on x86-64: the send stamp at the payload start


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """The switches of one run that change its text."""

    datalen: int = 56  # -s: payload bytes; < 16 means no timing (no time=, no rtt line)
    numeric: bool = False  # -n, or forced by a numeric target (ping4_run/ping6_run)
    timestamps: bool = False  # -D: "[sec.usec] " before reply, error and no-answer lines
    audible: bool = False  # -a: "\a" before the newline of each reply line
    verbose: bool = False  # -v: ident=, and (DUP!) also for broadcast/multicast
    quiet: bool = False  # -q
    flood: bool = False  # -f
    adaptive: bool = False  # -A: shows ipg/ewma
    interval_ms: int = 1000  # -i, truncated to ms; 0 shows ipg/ewma
    multicast: bool = False  # -b or a multicast target (iputils' rts->multicast)
    ident: int | None = None  # rts->ident when known (raw socket, or -e); None is iputils' -1
    program: str = "ping"  # argv[0]: glibc error() prefixes diagnostics with it

    @property
    def timing(self) -> bool:
        """``rts->timing``: only a payload that holds a struct timeval can be timed."""
        return self.datalen >= _TIMEVAL_SIZE


@dataclass(frozen=True, slots=True)
class Output:
    """Text for the two streams, for lines whose stream depends on the mode."""

    stdout: str = ""
    stderr: str = ""


# -- names and prefixes -----------------------------------------------------------------------


def pr_addr(address: str, name: str | None, *, numeric: bool) -> str:
    """How iputils' ``pr_addr`` shows an address: ``addr``, or ``name (addr)``.

    ``name`` is the PTR result, or None when the lookup failed. 20221126 calls getnameinfo
    without NI_NAMEREQD, so a failed lookup yields the numeric string: ``addr (addr)``.
    """
    if numeric:
        return address
    return f"{name if name is not None else address} ({address})"


def timestamp_prefix(at_ns: int) -> str:
    """The -D prefix, ``print_timestamp``: ``[%lu.%06lu] `` of a CLOCK_REALTIME time."""
    sec, ns = divmod(at_ns, 1_000_000_000)
    return f"[{sec}.{ns // 1000:06d}] "


def _prefix(opts: RenderOptions, at_ns: int) -> str:
    # iputils stamps with gettimeofday() at print time; the event's own stamp is that moment
    # to within the time it took to get here.
    return timestamp_prefix(at_ns) if opts.timestamps else ""


# -- header -----------------------------------------------------------------------------------


def header_v4(
    hostname: str,
    address: str,
    opts: RenderOptions,
    *,
    optlen: int = 0,
    source: str | None = None,
    device: str | None = None,
) -> str:
    """``ping4_run``: ``PING host (addr) [from SRC DEV: ]56(84) bytes of data.``

    ``optlen`` is 40 with -R, -T or hops. Pass ``source`` only with -I or -B: the from part
    is printed then, with an empty device leaving iputils' space before the colon.
    """
    text = f"PING {hostname} ({address}) "
    if source is not None:
        text += f"from {source} {device or ''}: "
    return text + f"{opts.datalen}({opts.datalen + 8 + optlen + 20}) bytes of data.\n"


def header_v6(
    hostname: str,
    address_display: str,
    opts: RenderOptions,
    *,
    flowlabel: int = 0,
    source: str | None = None,
    device: str | None = None,
) -> str:
    """``ping6_run`` (Debian 20221126): ``PING host(ADDR) [, flow 0x%05x, ][from ...]N data bytes``.

    ``address_display`` is :func:`pr_addr` of the target (20221126 looks the name up here,
    giving ``PING n(n (addr))``). The source in the from part is always numeric.
    """
    text = f"PING {hostname}({address_display}) "
    if flowlabel:
        text += f", flow 0x{flowlabel:05x}, "
    if source is not None:
        text += f"from {source} {device or ''}: "
    return text + f"{opts.datalen} data bytes\n"


def pattern_line(pattern: bytes, opts: RenderOptions) -> str:
    """``fill``: ``PATTERN: 0x<bytes>``, printed before the header unless -q."""
    if opts.quiet:
        return ""
    return f"PATTERN: 0x{pattern.hex()}\n"


# -- replies ----------------------------------------------------------------------------------


def reply_line(
    reply: Reply,
    from_display: str,
    opts: RenderOptions,
    *,
    different_address: bool = False,
    corrupted: bool = False,
    wrong_data: str = "",
    ip_options: str = "",
) -> str:
    """One echo reply (``gather_statistics`` plus the tail of ``ping4/6_parse_reply``).

    ``from_display`` is :func:`pr_addr` of ``reply.source``. ``different_address`` is the
    caller's wrong-source check (reply source != target, and the target is neither broadcast
    nor multicast). ``wrong_data`` is :func:`wrong_data_dump` text; ``ip_options`` is
    :meth:`OptionsPrinter.render` text (IPv4).
    """
    if opts.quiet:
        return ""
    if opts.flood:
        # parse_reply still rings the bell in flood mode, right after the backspace.
        text = FLOOD_BAD_CHECKSUM if corrupted else FLOOD_REPLY
        return text + ("\a" if opts.audible else "")
    parts = [_prefix(opts, reply.received_at_ns)]
    parts.append(f"{reply.size} bytes from {from_display}: icmp_seq={reply.seq & 0xFFFF}")
    if opts.verbose and opts.ident is not None:
        parts.append(f" ident={opts.ident}")
    if reply.ttl is not None:  # IPv4 dgram prints ttl=0 without the cmsg; the caller decides
        parts.append(f" ttl={reply.ttl}")
    if reply.truncated:
        # gather_statistics returns right here: no time, no bell, no options.
        parts.append(" (truncated)\n")
        return "".join(parts)
    if opts.timing:
        # A timed run whose reply had no stamp prints iputils' initial triptime, 0.
        parts.append(f" time={format_reply_time(reply.rtt_us or 0)} ms")
    # A corrupted reply is never judged a duplicate (the checksum test comes first).
    if reply.duplicate and not corrupted and (not opts.multicast or opts.verbose):
        parts.append(" (DUP!)")
    if corrupted:
        parts.append(" (BAD CHECKSUM!)")
    if different_address:
        parts.append(" (DIFFERENT ADDRESS!)")
    parts.append(wrong_data)
    if opts.audible:
        parts.append("\a")
    parts.append(ip_options)
    parts.append("\n")
    return "".join(parts)


def wrong_data_dump(data: bytes, expected: bytes) -> str:
    """The payload check of ``gather_statistics``; empty when the data is right.

    ``data`` is the received ICMP payload and ``expected`` the one sent (its length is the
    datalen); the stamp area (first 16 bytes) is skipped. On the first wrong byte the whole
    payload from offset 16 is dumped, 32 bytes a row, each ``%x `` with its trailing space.
    """
    limit = len(expected)
    padded = data + bytes(max(0, limit - len(data)))
    for i in range(_TIMEVAL_SIZE, limit):
        if padded[i] != expected[i]:
            parts = [f"\nwrong data byte #{i} should be 0x{expected[i]:x} but was 0x{padded[i]:x}"]
            for k in range(_TIMEVAL_SIZE, limit):
                if k % 32 == _TIMEVAL_SIZE:
                    parts.append(f"\n#{k}\t")
                parts.append(f"{padded[k]:x} ")
            return "".join(parts)
    return ""


# -- errors -----------------------------------------------------------------------------------


def icmp_error_line(
    error: IcmpError,
    offender_display: str,
    opts: RenderOptions,
    *,
    nexthop: str | None = None,
    via_packet: bool = False,
) -> str:
    """``From <offender> icmp_seq=N <text>`` for an ICMP error quoting one of our probes.

    From the error queue (``ping4/6_receive_error_msg``) by default; ``via_packet`` is the
    raw-socket path for a redirect or source quench that arrived as a packet, which prints a
    colon after the address and nothing at all in flood mode.
    """
    if opts.quiet:
        return ""
    if opts.flood:
        return "" if via_packet else FLOOD_ICMP_ERROR
    colon = ":" if via_packet else ""
    text = icmp_error_text(
        error.family, error.icmp_type, error.icmp_code, error.info, nexthop=nexthop
    )
    return (
        f"{_prefix(opts, error.received_at_ns)}"
        f"From {offender_display}{colon} icmp_seq={error.seq & 0xFFFF} {text}\n"
    )


def local_error(
    error: LocalError, strerror: str, opts: RenderOptions, *, family: int = 4
) -> Output:
    """A local error from the error queue: ``ping: local error: ...`` on stderr.

    ``strerror`` is the text of ``error.errno`` (the caller has ``os.strerror``). EMSGSIZE
    from path-MTU discovery names the MTU: ``mtu=N`` for IPv4, ``mtu: N`` for IPv6.
    """
    if opts.quiet:
        return Output()
    if opts.flood:
        return Output(stdout=FLOOD_LOCAL_ERROR)
    if error.errno != errno.EMSGSIZE:
        message = f"local error: {strerror}"
    elif family == 6:
        message = f"local error: message too long, mtu: {error.mtu or 0}"
    else:
        message = f"local error: message too long, mtu={error.mtu or 0}"
    return Output(stderr=f"{opts.program}: {message}\n")


def send_error(strerror: str, opts: RenderOptions) -> Output:
    """A hard send failure (``pinger``: ``error(0, errno, "sendmsg")``), counted as sent."""
    if opts.quiet:
        return Output()
    if opts.flood:
        return Output(stdout=FLOOD_LOCAL_ERROR)
    return Output(stderr=f"{opts.program}: sendmsg: {strerror}\n")


def no_answer_yet_line(event: NoAnswerYet, opts: RenderOptions) -> str:
    """-O: ``no answer yet for icmp_seq=N`` (``pinger``).

    20221126 prints it even with -q: ``pinger`` does not look at opt_quiet here.
    """
    return f"{_prefix(opts, event.at_ns)}no answer yet for icmp_seq={event.seq % 0x10000}\n"


# -- summaries --------------------------------------------------------------------------------


def status_line(stats: PingStats, opts: RenderOptions) -> Output:
    """The SIGQUIT line on stderr (``status``); its loss is an integer, truncated."""
    text = f"\r{stats.received}/{stats.transmitted} packets, {stats.loss_percent_int}% loss"
    if stats.received and opts.timing:
        text += (
            f", min/avg/ewma/max = {format_us_as_ms(stats.tmin_us)}/"
            f"{format_us_as_ms(stats.avg_us)}/{format_us_as_ms(stats.ewma_us)}/"
            f"{format_us_as_ms(stats.tmax_us)} ms"
        )
    return Output(stderr=text + "\n")


def statistics(stats: PingStats, hostname: str, elapsed_ns: int, opts: RenderOptions) -> str:
    """The closing block (``finish``), starting with its blank line.

    ``hostname`` is the header's. ``elapsed_ns`` runs from the start to the last probe sent
    (CLOCK_MONOTONIC_RAW). The last line is empty when it has nothing to say, which jc's
    format detection relies on.
    """
    out = ["\n", f"--- {hostname} ping statistics ---\n"]
    out.append(f"{stats.transmitted} packets transmitted, {stats.received} received")
    if stats.duplicates:
        out.append(f", +{stats.duplicates} duplicates")
    if stats.corrupted:
        out.append(f", +{stats.corrupted} corrupted")
    if stats.errors:
        out.append(f", +{stats.errors} errors")
    if stats.transmitted:
        # %g in the C locale; "packets" stays plural for 1.
        out.append(f", {stats.loss_percent:g}% packet loss, time {elapsed_ms(elapsed_ns)}ms")
    out.append("\n")
    sep = ""
    rtt = stats.rtt
    if rtt is not None and opts.timing:
        out.append(
            f"rtt min/avg/max/mdev = {format_us_as_ms(rtt.min_us)}/{format_us_as_ms(rtt.avg_us)}"
            f"/{format_us_as_ms(rtt.max_us)}/{format_us_as_ms(rtt.mdev_us)} ms"
        )
        sep = ", "
    if stats.pipesize > 1:
        out.append(f"{sep}pipe {stats.pipesize}")
        sep = ", "
    if (
        stats.received
        and (opts.interval_ms == 0 or opts.flood or opts.adaptive)
        and stats.transmitted > 1
    ):
        ipg = ipg_us(elapsed_ns, stats.transmitted)
        out.append(f"{sep}ipg/ewma {format_us_as_ms(ipg)}/{format_us_as_ms(stats.ewma_us)} ms")
    out.append("\n")
    return "".join(out)


def exit_status(received: int, *, deadline: bool, count: int | None) -> int:
    """``finish``'s return: 1 without any reply, or with -w when fewer than -c came back.

    Loss, duplicates and errors do not matter otherwise (spec section 4). ``count`` is -c,
    None when not given (iputils' npackets 0).
    """
    if not received:
        return 1
    if deadline and count is not None and received < count:
        return 1
    return 0
