"""The text of ``pingsock sweep``: fping 5.1's lines, as pure functions.

Every function returns text (ending in ``"\\n"`` where fping ends the line) and prints nothing;
:mod:`pingsock.cli.sweep_main` decides the stream. The facts come from fping 5.1's
``src/fping.c``:

* times are nanoseconds rendered by :func:`sprint_tm` (milliseconds with three significant-ish
  digits: ``%.3f`` below 1 ms, ``%.2f`` below 10, ``%.1f`` below 100, ``%.0f`` below 10^6,
  ``%.3e`` above; ``%.2g`` for a negative value);
* percentages are C integer divisions (``(sent - recv) * 100 / sent``);
* averages are ``total_ns / count`` in integer nanoseconds; the per-reply and per-host averages
  pass through a C ``int`` (they wrap above 2.147 s, as in fping), the global one does not;
* in count mode names are left-justified to the longest target name (``%-*s``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "PROG",
    "GlobalStats",
    "HostTally",
    "alive_line",
    "c_int",
    "count_summary_line",
    "duplicate_line",
    "global_stats",
    "icmp_error_line",
    "loss_percent",
    "name_error_line",
    "progress_bar",
    "reachable_line",
    "reply_line",
    "send_error_line",
    "split_header",
    "split_line",
    "sprint_tm",
    "timeout_line",
    "unreachable_line",
    "usage_text",
    "vcount_line",
    "version_text",
]

PROG = "fping"

_UNREACH = (
    "ICMP Network Unreachable",
    "ICMP Host Unreachable",
    "ICMP Protocol Unreachable",
    "ICMP Port Unreachable",
    "ICMP Unreachable (Fragmentation Needed)",
    "ICMP Unreachable (Source Route Failed)",
    "ICMP Unreachable (Destination Network Unknown)",
    "ICMP Unreachable (Destination Host Unknown)",
    "ICMP Unreachable (Source Host Isolated)",
    "ICMP Unreachable (Communication with Network Prohibited)",
    "ICMP Unreachable (Communication with Host Prohibited)",
    "ICMP Unreachable (Network Unreachable For Type Of Service)",
    "ICMP Unreachable (Host Unreachable For Type Of Service)",
    "ICMP Unreachable (Communication Administratively Prohibited)",
    "ICMP Unreachable (Host Precedence Violation)",
    "ICMP Unreachable (Precedence cutoff in effect)",
)
_TYPES = {
    4: "ICMP Source Quench",
    5: "ICMP Redirect",
    11: "ICMP Time Exceeded",
    12: "ICMP Parameter Problem",
}


def c_int(value: int) -> int:
    """``value`` stored in a 32-bit C ``int`` (two's complement wrap)."""
    return ((value + 2**31) % 2**32) - 2**31


def sprint_tm(ns: int) -> str:
    """fping's ``sprint_tm``: nanoseconds as milliseconds text."""
    t = ns / 1e6
    if t < 0.0:
        return f"{t:.2g}"
    if t < 1.0:
        return f"{t:.3f}"
    if t < 10.0:
        return f"{t:.2f}"
    if t < 100.0:
        return f"{t:.1f}"
    if t < 1000000.0:
        return f"{t:.0f}"
    return f"{t:.3e}"


def loss_percent(sent: int, received: int) -> int:
    """``((sent - received) * 100) / sent``, 0 when nothing was sent (C integer division)."""
    if sent <= 0:
        return 0
    return ((sent - received) * 100) // sent


@dataclass(slots=True)
class HostTally:
    """fping's per-host counters, updated as probes end (``stats_add``).

    ``sent`` counts probes that ended (a reply, a timeout or a send error), like fping's
    ``num_sent``; ``received_total`` also counts duplicates (``num_recv_total``).
    """

    sent: int = 0
    received: int = 0
    received_total: int = 0
    total_ns: int = 0
    min_ns: int = 0
    max_ns: int = 0
    rtts: list[int | None] = field(default_factory=list)
    # the same since the last split report (-Q, SIGQUIT): fping's *_i counters
    sent_i: int = 0
    received_i: int = 0
    total_i: int = 0
    min_i: int = 0
    max_i: int = 0

    def _slot(self, index: int) -> None:
        while len(self.rtts) <= index:
            self.rtts.append(None)

    def reply(self, index: int, rtt_ns: int) -> None:
        self.sent += 1
        self.received += 1
        self.received_total += 1
        if not self.max_ns or rtt_ns > self.max_ns:
            self.max_ns = rtt_ns
        if not self.min_ns or rtt_ns < self.min_ns:
            self.min_ns = rtt_ns
        self.total_ns += rtt_ns
        self._slot(index)
        self.rtts[index] = rtt_ns
        self.sent_i += 1
        self.received_i += 1
        if not self.max_i or rtt_ns > self.max_i:
            self.max_i = rtt_ns
        if not self.min_i or rtt_ns < self.min_i:
            self.min_i = rtt_ns
        self.total_i += rtt_ns

    def duplicate(self) -> None:
        self.received_total += 1

    def lost(self, index: int) -> None:
        self.sent += 1
        self.sent_i += 1
        self._slot(index)

    def reset_split(self) -> None:
        self.sent_i = self.received_i = self.total_i = self.min_i = self.max_i = 0

    @property
    def avg_ns(self) -> int:
        """``h->total_time / h->num_recv`` (0 without replies)."""
        return self.total_ns // self.received if self.received else 0


@dataclass(slots=True)
class GlobalStats:
    """What ``-s`` prints (``print_global_stats``)."""

    targets: int = 0
    alive: int = 0
    unreachable: int = 0
    unknown: int = 0
    timeouts: int = 0
    sent: int = 0
    received: int = 0
    other_icmp: int = 0
    min_ns: int = 0
    max_ns: int = 0
    sum_ns: int = 0
    replies: int = 0
    elapsed_ns: int = 0

    def reply(self, rtt_ns: int) -> None:
        if not self.max_ns or rtt_ns > self.max_ns:
            self.max_ns = rtt_ns
        if not self.min_ns or rtt_ns < self.min_ns:
            self.min_ns = rtt_ns
        self.sum_ns += rtt_ns
        self.replies += 1


def _stamp(timestamp: float | None) -> str:
    return "" if timestamp is None else f"[{timestamp:.5f}] "


def alive_line(host: str, *, verbose: bool, rtt_ns: int | None = None) -> str:
    """Default mode's first reply: ``X is alive`` (``-a``: ``X``); ``-e`` adds ``(t ms)``."""
    text = host + (" is alive" if verbose else "")
    if rtt_ns is not None:
        text += f" ({sprint_tm(rtt_ns)} ms)"
    return text + "\n"


def unreachable_line(host: str, *, verbose: bool) -> str:
    """``finish()``: ``X is unreachable`` (``-u``: ``X``)."""
    return host + (" is unreachable" if verbose else "") + "\n"


def _loss_or_return(tally: HostTally) -> str:
    if tally.received <= tally.sent:
        return f"{loss_percent(tally.sent, tally.received)}% loss)"
    return f"{(tally.received_total * 100) // tally.sent}% return)"


def reply_line(
    host: str,
    width: int,
    index: int,
    size: int,
    rtt_ns: int,
    *,
    tally: HostTally,
    timestamp: float | None = None,
) -> str:
    """Count mode, one reply (``tally`` already counts it)."""
    avg = c_int(tally.avg_ns)
    return (
        f"{_stamp(timestamp)}{host:<{width}} : [{index}], {size} bytes, {sprint_tm(rtt_ns)} ms"
        f" ({sprint_tm(avg)} avg, {_loss_or_return(tally)}\n"
    )


def timeout_line(
    host: str, width: int, index: int, tally: HostTally, *, timestamp: float | None = None
) -> str:
    """Count mode, one probe timed out (``tally`` already counts it)."""
    avg = f"{sprint_tm(tally.avg_ns)} avg" if tally.received > 0 else "NaN avg"
    return f"{_stamp(timestamp)}{host:<{width}} : [{index}], timed out ({avg}, " + (
        _loss_or_return(tally) + "\n"
    )


def duplicate_line(host: str, index: int, size: int, rtt_ns: int) -> str:
    """A duplicate reply outside of count mode's per-reply lines (stderr)."""
    return f"{host} : duplicate for [{index}], {size} bytes, {sprint_tm(rtt_ns)} ms\n"


def count_summary_line(
    host: str, width: int, tally: HostTally, *, outage_period_ns: int | None = None
) -> str:
    """``-c``: ``X : xmt/rcv/%loss = 2/2/0%, min/avg/max = a/b/c`` (stderr)."""
    text = f"{host:<{width}} :"
    if tally.received <= tally.sent:
        text += (
            f" xmt/rcv/%loss = {tally.sent}/{tally.received}/"
            f"{loss_percent(tally.sent, tally.received)}%"
        )
        if outage_period_ns is not None:
            text += f", outage(ms) = {int((tally.sent - tally.received) * outage_period_ns / 1e6)}"
    else:
        text += (
            f" xmt/rcv/%return = {tally.sent}/{tally.received}/"
            f"{(tally.received * 100) // tally.sent}%"
        )
    if tally.received:
        text += (
            f", min/avg/max = {sprint_tm(tally.min_ns)}/{sprint_tm(c_int(tally.avg_ns))}"
            f"/{sprint_tm(tally.max_ns)}"
        )
    return text + "\n"


def split_line(
    host: str, width: int, tally: HostTally, *, outage_period_ns: int | None = None
) -> str:
    """One host of a split report (``-Q``, SIGQUIT): the counters since the last report."""
    sent, received = tally.sent_i, tally.received_i
    text = f"{host:<{width}} :"
    if received <= sent:
        text += f" xmt/rcv/%loss = {sent}/{received}/{loss_percent(sent, received)}%"
        if outage_period_ns is not None:
            text += f", outage(ms) = {int((sent - received) * outage_period_ns / 1e6)}"
    else:
        text += f" xmt/rcv/%return = {sent}/{received}/{(received * 100) // sent}%"
    if received:
        avg = c_int(tally.total_i // received)
        text += (
            f", min/avg/max = {sprint_tm(tally.min_i)}/{sprint_tm(avg)}/{sprint_tm(tally.max_i)}"
        )
    return text + "\n"


def split_header(hour: int, minute: int, second: int) -> str:
    """The local time line that starts a split report."""
    return f"[{hour:02d}:{minute:02d}:{second:02d}]\n"


def vcount_line(host: str, width: int, rtts: Sequence[int | None]) -> str:
    """``-C``: ``X : 0.120 - 0.193`` (stderr), one value per probe that ended."""
    values = "".join(" -" if rtt is None else f" {sprint_tm(rtt)}" for rtt in rtts)
    return f"{host:<{width}} :{values}\n"


def global_stats(stats: GlobalStats) -> str:
    """``-s`` (stderr)."""
    replies = stats.replies
    low, high, total = stats.min_ns, stats.max_ns, stats.sum_ns
    if replies == 0:
        low = high = total = 0
        replies = 1
    avg = total // replies
    return (
        "\n"
        f" {stats.targets:7d} targets\n"
        f" {stats.alive:7d} alive\n"
        f" {stats.unreachable:7d} unreachable\n"
        f" {stats.unknown:7d} unknown addresses\n"
        "\n"
        f" {stats.timeouts:7d} timeouts (waiting for response)\n"
        f" {stats.sent:7d} ICMP Echos sent\n"
        f" {stats.received:7d} ICMP Echo Replies received\n"
        f" {stats.other_icmp:7d} other ICMP received\n"
        "\n"
        f" {sprint_tm(low)} ms (min round trip time)\n"
        f" {sprint_tm(avg)} ms (avg round trip time)\n"
        f" {sprint_tm(high)} ms (max round trip time)\n"
        f" {stats.elapsed_ns / 1e9:12.3f} sec (elapsed real time)\n"
        "\n"
    )


def icmp_error_line(icmp_type: int, icmp_code: int, source: str, host: str) -> str:
    """An ICMPv4 error about one of our probes (stderr); ``""`` for types fping ignores."""
    if icmp_type == 3:
        text = (
            _UNREACH[icmp_code]
            if 0 <= icmp_code < len(_UNREACH)
            else "ICMP Unreachable (Invalid Code)"
        )
    elif icmp_type in _TYPES:
        text = _TYPES[icmp_type]
    else:
        return ""
    return f"{text} from {source} for ICMP Echo sent to {host}\n"


def send_error_line(host: str, strerror: str) -> str:
    """``sendto`` failed (stderr): ``X: error while sending ping: No route to host``."""
    return f"{host}: error while sending ping: {strerror}\n"


def name_error_line(name: str, message: str) -> str:
    """A name that did not resolve (stderr): ``name: Name or service not known``."""
    return f"{name}: {message}\n"


def reachable_line(required: int, reachable: int) -> str:
    """``-x N`` (stdout)."""
    word = "Enough" if reachable >= required else "Not enough"
    return f"{word} hosts reachable (required: {required}, reachable: {reachable})\n"


def version_text(pingsock_version: str) -> str:
    """``-v`` (stdout): fping's line, naming pingsock after it."""
    return f"{PROG}: Version 5.1 (pingsock {pingsock_version} sweep)\n"


def progress_bar(done: int, total: int, alive: int, *, width: int = 20) -> str:
    """The stderr progress bar for a terminal: ``\\r[#####     ] 1234/65534 alive 1000``."""
    filled = width if total <= 0 else min(width, done * width // total)
    return f"\r[{'#' * filled}{' ' * (width - filled)}] {done}/{total} alive {alive}"


_UNSUPPORTED_LINES = ("-I,", "-l,", "-M,", "-R,", "-S,", "-N,")


def usage_text(
    period_ms: float = 1000.0,
    timeout_ms: float = 500.0,
    interval_ms: float = 10.0,
    *,
    exact: bool = True,
) -> str:
    """fping's usage text; the defaults shown for ``-p``, ``-t`` and ``-i`` are their current
    values, as in fping.

    ``exact`` (a usage error, on stderr) is fping's text to the byte, so that scripts and
    logs see the same thing; otherwise (``-h``) the options pingsock does not implement are
    left out and ``--json`` is added.
    """
    lines = [
        f"Usage: {PROG} [options] [targets...]",
        "",
        "Probing options:",
        "   -4, --ipv4         only ping IPv4 addresses",
        "   -6, --ipv6         only ping IPv6 addresses",
        "   -b, --size=BYTES   amount of ping data to send, in bytes (default: 56)",
        "   -B, --backoff=N    set exponential backoff factor to N (default: 1.5)",
        "   -c, --count=N      count mode: send N pings to each target",
        "   -f, --file=FILE    read list of targets from a file ( - means stdin)",
        "   -g, --generate     generate target list (only if no -f specified)",
        "                      (give start and end IP in the target list, or a CIDR address)",
        f"                      (ex. {PROG} -g 192.168.1.0 192.168.1.255 or {PROG} -g "
        "192.168.1.0/24)",
        "   -H, --ttl=N        set the IP TTL value (Time To Live hops)",
        "   -I, --iface=IFACE  bind to a particular interface",
        "   -l, --loop         loop mode: send pings forever",
        "   -m, --all          use all IPs of provided hostnames (e.g. IPv4 and IPv6), use with -A",
        "   -M, --dontfrag     set the Don't Fragment flag",
        "   -O, --tos=N        set the type of service (tos) flag on the ICMP packets",
        "   -p, --period=MSEC  interval between ping packets to one target (in ms)",
        f"                      (in loop and count modes, default: {period_ms:.0f} ms)",
        "   -r, --retry=N      number of retries (default: 3)",
        "   -R, --random       random packet data (to foil link data compression)",
        "   -S, --src=IP       set source address",
        f"   -t, --timeout=MSEC individual target initial timeout (default: {timeout_ms:.0f} ms,",
        "                      except with -l/-c/-C, where it's the -p period up to 2000 ms)",
        "",
        "Output options:",
        "   -a, --alive        show targets that are alive",
        "   -A, --addr         show targets by address",
        "   -C, --vcount=N     same as -c, report results in verbose format",
        "   -d, --rdns         show targets by name (force reverse-DNS lookup)",
        "   -D, --timestamp    print timestamp before each output line",
        "   -e, --elapsed      show elapsed time on return packets",
        "   -i, --interval=MSEC  interval between sending ping packets "
        f"(default: {interval_ms:.0f} ms)",
        "   -n, --name         show targets by name (reverse-DNS lookup for target IPs)",
        "   -N, --netdata      output compatible for netdata (-l -Q are required)",
        "   -o, --outage       show the accumulated outage time (lost packets * packet interval)",
        "   -q, --quiet        quiet (don't show per-target/per-ping results)",
        "   -Q, --squiet=SECS  same as -q, but add interval summary every SECS seconds",
        "   -s, --stats        print final stats",
        "   -u, --unreach      show targets that are unreachable",
        "   -v, --version      show version",
        "   -x, --reachable=N  shows if >=N hosts are reachable or not",
    ]
    if not exact:
        lines = [line for line in lines if line.strip().split(" ")[0] not in _UNSUPPORTED_LINES]
        lines.append("   --json             JSON lines instead of the text (pingsock)")
    return "\n".join(lines) + "\n"
