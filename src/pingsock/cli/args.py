"""iputils ping's command line: the same letters, the same parsing, the same messages.

Emulates Debian 12's iputils 20221126 ``ping/ping.c: main()``: GNU getopt with its optstring
(options and the target may be interleaved; the last operand is the target, the others are
hops), then the checks ``main()`` makes before it creates a socket (no destination, ``fill()``'s
pattern). Checks run in iputils' order, so the first bad option in argv wins. Every failure is a
:class:`PingUsage` with iputils' text and exit status (shared/spec/iputils-ping.md section 2):
1 for ``strtol_or_err``/``strtoul_or_err`` failures and a missing destination, 2 for the rest.
Pure: no I/O; the caller prints, and makes the later checks listed on :class:`PingArgs`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from pingsock.cli.cparse import (
    DBL_MIN,
    LONG_MAX,
    GetoptError,
    getopt,
    inet_pton4,
    inet_pton6,
    strtod,
    strtol,
    strtoul,
)
from pingsock.cli.nodeinfo import NodeinfoExit, NodeinfoState
from pingsock.errors import UsageError

__all__ = ["PingArgs", "PingUsage", "Warning_", "check_hops", "parse_ping_args", "usage_text"]

INT_MAX = 2**31 - 1
UINT_MAX = 2**32 - 1
_OPTSTRING = "h?4bRT:6F:N:aABc:CdDe:fi:I:l:Lm:M:nOp:qQ:rs:S:t:UvVw:W:"  # 20221126 main()
_ENOENT = "No such file or directory"
_ERANGE = "Numerical result out of range"
_USAGE = """
Usage
  ping [options] <destination>

Options:
  <destination>      dns name or ip address
  -a                 use audible ping
  -A                 use adaptive ping
  -B                 sticky source address
  -c <count>         stop after <count> replies
  -C                 call connect() syscall on socket creation
  -D                 print timestamps
  -d                 use SO_DEBUG socket option
  -e <identifier>    define identifier for ping session, default is random for
                     SOCK_RAW and kernel defined for SOCK_DGRAM
                     Imply using SOCK_RAW (for IPv4 only for identifier 0)
  -f                 flood ping
  -h                 print help and exit
  -I <interface>     either interface name or address
  -i <interval>      seconds between sending each packet
  -L                 suppress loopback of multicast packets
  -l <preload>       send <preload> number of packages while waiting replies
  -m <mark>          tag the packets going out
  -M <pmtud opt>     define mtu discovery, can be one of <do|dont|want>
  -n                 no dns name resolution
  -O                 report outstanding replies
  -p <pattern>       contents of padding byte
  -q                 quiet output
  -Q <tclass>        use quality of service <tclass> bits
  -s <size>          use <size> as number of data bytes to be sent
  -S <size>          use <size> as SO_SNDBUF socket option value
  -t <ttl>           define time to live
  -U                 print user-to-user latency
  -v                 verbose output
  -V                 print version and exit
  -w <deadline>      reply wait <deadline> in seconds
  -W <timeout>       time to wait for response

IPv4 options:
  -4                 use IPv4
  -b                 allow pinging broadcast
  -R                 record route
  -T <timestamp>     define timestamp, can be one of <tsonly|tsandaddr|tsprespec>

IPv6 options:
  -6                 use IPv6
  -F <flowlabel>     define flow label, default is random
  -N <nodeinfo opt>  use icmp6 node info query, try <help> as argument

For more details see ping(8).
"""


def usage_text() -> str:
    """``usage()`` (ping_common.c): written to stderr, then exit 2."""
    return _USAGE


@dataclass(frozen=True, slots=True)
class Warning_:
    """A diagnostic that does not stop the run (printed on stderr with the program prefix)."""

    text: str


class PingUsage(UsageError):
    """How iputils ends while parsing: every error of this module is one of these.

    Write, in this order: each of ``warnings`` as a diagnostic (``ping: `` prefix; iputils
    printed them while parsing, before failing), ``message`` as a diagnostic unless it is
    empty, ``stdout`` verbatim to stdout, ``stderr`` verbatim to stderr; exit with ``status``.
    ``stderr`` is the usage text after getopt's errors (``invalid option -- 'Z'``, ``option
    requires an argument -- 'c'``) and for :func:`check_hops` (empty message), and the -N help
    after a bad -N argument (empty message; ``stdout`` may hold ``Qtype conflict``).
    ``-N help`` is status 0 with the -N help on stdout.
    """

    def __init__(
        self,
        message: str,
        status: int,
        *,
        warnings: Sequence[Warning_] = (),
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        super().__init__(message, status)
        self.warnings = list(warnings)
        self.stdout = stdout
        self.stderr = stderr


@dataclass(slots=True)
class PingArgs:
    """The parsed command line, in iputils' units and with iputils' defaults.

    -h/-? and -V stop parsing where they stand (``usage()`` and the -V case exit there): only
    ``help``/``version`` and the warnings so far are meaningful; the caller writes the warnings,
    then the usage text (stderr, exit 2) or the version (stdout, exit 0).

    Left to the caller, in iputils' order (none is a parse error; "user" = not privileged):

    1. ``main()``, before any socket: if ``pattern_given`` and not ``quiet``, ``PATTERN:
       0x<pattern as hex>`` on stdout; ``ident == 0`` with -v: ``WARNING: ident 0 => forcing raw
       socket``; sockets (-N and -e 0 force raw); ``tos`` if non-zero (IP_TOS/IPV6_TCLASS);
       resolving the target. (iputils resolves -N ``subject-ipv6=``/``subject-ipv4=`` values
       while parsing; they are not checked here.)
    2. ``ping4_run``/``ping6_run``, before the header: :func:`check_hops`; then for a user and a
       broadcast or multicast IPv4 target: ``interval_ms < 1000`` -> ``broadcast ping with too
       short interval: %d`` (2; -f has not zeroed the interval yet), then ``pmtudisc`` set and
       not "do" -> ``broadcast ping does not fragment`` (2).
    3. ``setup()``, after the header: ``interval = 0 if flood and not interval_given else
       interval_ms`` (this parser leaves ``interval_ms`` alone: zeroing it here would break
       step 2 for ``-f -b``); for a user, ``interval < 2`` -> ``cannot flood; minimal interval
       allowed for user is 2ms`` (2); then, for anyone, ``interval >= INT_MAX // preload`` ->
       ``illegal preload and/or interval: %d`` (2).
    """

    target: str = ""  # the last operand
    hops: list[str] = field(default_factory=list)  # the operands before it (see check_hops)
    family: int = 0  # 0: any, 4 or 6
    count: int | None = None  # -c; None: no limit
    interval_ms: int = 1000  # -i as (int)(s * 1000), may be 0 or negative; -f: see setup()
    interval_given: bool = False
    linger_ms: int = 10_000  # -W
    deadline: int = 0  # -w; 0: none
    size: int = 56  # -s
    ttl: int | None = None  # -t; 0 passes the parse (the kernel refuses it for IPv4)
    quiet: bool = False
    numeric: bool = False  # -n, also set by -f ("avoid getaddrinfo() during flood")
    verbose: bool = False
    version: bool = False
    help: bool = False
    warnings: list[Warning_] = field(default_factory=list)  # printed while parsing, in order
    audible: bool = False  # -a
    adaptive: bool = False  # -A
    broadcast: bool = False  # -b
    sticky_source: bool = False  # iputils' opt_strictsource: -B, and -I with an address
    connect: bool = False  # -C
    debug: bool = False  # -d
    timestamps: bool = False  # -D
    ident: int | None = None  # -e; 0 forces a raw socket
    flood: bool = False  # -f
    flowlabel: int | None = None  # -F
    interface: str | None = None  # the last -I, as given
    source_address: str | None = None  # the last -I address (IPv4, or IPv6 without %scope)
    device: str | None = None  # -I name or IPv6 %scope; kept by a later -I without one
    preload: int = 1  # -l
    preload_given: bool = False
    suppress_loopback: bool = False  # -L
    mark: int | None = None  # -m
    pmtudisc: str | None = None  # -M: "do", "dont" or "want"
    nodeinfo: str | None = None  # the last -N, as given; -N forces a raw IPv6 socket
    report_outstanding: bool = False  # -O
    pattern: bytes = b""  # -p after fill(): 0-16 bytes (b"" for -p '': PATTERN: 0x)
    pattern_given: bool = False
    tos: int | None = None  # -Q as a C int (negatives kept); 0: not set (if (rts.settos))
    dontroute: bool = False  # -r
    record_route: bool = False  # -R
    sndbuf: int | None = None  # -S
    timestamp_type: str | None = None  # -T: "tsonly", "tsandaddr" or "tsprespec"
    user_latency: bool = False  # -U


def _c_int(value: int) -> int:
    """A C ``(int)`` cast of a long: the low 32 bits, signed."""
    return (value + 2**31) % 2**32 - 2**31


class _Parser:
    """``main()``'s getopt loop state: the result, the warnings and C's ``errno``."""

    def __init__(self, privileged: bool) -> None:
        self.args = PingArgs()
        self.privileged = privileged
        # errno is never reset before ping_strtod's empty-argument error: it holds what came
        # before. At start, setlocale(LC_ALL, "") left ENOENT (any non-C locale, e.g.
        # LC_ALL=C.UTF-8; with no locale variables it is 0).
        self.errno = _ENOENT
        self.nodeinfo = NodeinfoState()
        self.pattern_text = ""

    def fail(self, message: str, status: int, *, stdout: str = "", stderr: str = "") -> PingUsage:
        return PingUsage(message, status, warnings=self.args.warnings, stdout=stdout, stderr=stderr)

    def strtol_or_err(self, text: str, low: int, high: int, *, unsigned: bool = False) -> int:
        """iputils_common.c ``strtol_or_err``/``strtoul_or_err``: exit 1."""
        value, end, erange = strtoul(text) if unsigned else strtol(text)
        if not text or erange or end == 0 or end != len(text):
            suffix = f": {_ERANGE}" if erange else ""
            raise self.fail(f"invalid argument: '{text}'{suffix}", 1)
        if not low <= value <= high:
            raise self.fail(
                f"invalid argument: '{text}': out of range: {low} <= value <= {high}", 1
            )
        self.errno = ""
        return value

    def ping_strtod(self, text: str, what: str) -> float:
        """ping.c ``ping_strtod``: trailing garbage only warns; NaN, inf, subnormal are fatal."""
        if not text:
            raise self.fail(f"{what}: " + (f": {self.errno}" if self.errno else ""), 2)
        value, end, erange = strtod(text)
        self.errno = _ERANGE if erange else ""
        if erange or end != len(text):
            rest = text[end:]
            self.args.warnings.append(Warning_(f"option argument contains garbage: {rest}"))
            self.args.warnings.append(Warning_("this will become fatal error in the future"))
        if math.isnan(value) or math.isinf(value) or 0 < abs(value) < DBL_MIN:  # fpclassify
            raise self.fail(f"{what}: {text}: {_ERANGE}", 2)
        return value

    def parse_tos(self, text: str) -> int:
        """ping.c ``parsetos``: decimal or 0x hex, cast to int; only > 255 is refused."""
        hexadecimal = text[:2] in ("0x", "0X")
        value, end, erange = strtol(text[2:] if hexadecimal else text, 16 if hexadecimal else 10)
        self.errno = _ERANGE if erange else self.errno
        if end != len(text) - 2 * hexadecimal:
            raise self.fail(f"bad TOS value: {text}", 2)
        tos = _c_int(value)
        if tos > 255:
            raise self.fail(f"the decimal value of TOS bits must be in range 0-255: {tos}", 2)
        return tos

    def parse_flow(self, text: str) -> int:
        """ping.c ``parseflow``: decimal or 0x hex, ``(int)strtoul``, at most 20 bits."""
        hexadecimal = text[:2] in ("0x", "0X")
        value, end, erange = strtoul(text[2:] if hexadecimal else text, 16 if hexadecimal else 10)
        self.errno = _ERANGE if erange else self.errno
        if end != len(text) - 2 * hexadecimal:
            raise self.fail(f"bad value for flowinfo: {text}", 2)
        flow = _c_int(value)
        if not 0 <= flow <= 0xFFFFF:
            raise self.fail(f"flow value is greater than 20 bits: {text}", 2)
        return flow

    def interface(self, text: str) -> None:
        """The -I case of ``main()``: IPv6 literal[%scope], IPv4 literal, else a device."""
        args = self.args
        args.interface = text
        if ":" in text:
            address, percent, scope = text.partition("%")
            if percent:
                args.device = scope
            if not inet_pton6(address):
                raise self.fail(f"invalid source address: {text}", 2)
            args.source_address, args.sticky_source = address, True
        elif inet_pton4(text):
            args.source_address, args.sticky_source = text, True
        else:
            args.device = text


_FLAGS = {
    "a": "audible",
    "A": "adaptive",
    "b": "broadcast",
    "B": "sticky_source",
    "C": "connect",
    "d": "debug",
    "D": "timestamps",
    "L": "suppress_loopback",
    "n": "numeric",
    "O": "report_outstanding",
    "q": "quiet",
    "r": "dontroute",
    "U": "user_latency",
    "v": "verbose",
}


def _option(state: _Parser, letter: str, value: str) -> bool:
    """One case of ``main()``'s getopt switch (ping.c). True when parsing stops there."""
    args = state.args
    if letter in _FLAGS:
        setattr(args, _FLAGS[letter], True)
    elif letter in "h?":
        args.help = True  # default: usage() writes the usage text and exits 2
        return True
    elif letter == "V":
        args.version = True  # printf(IPUTILS_VERSION("ping")); print_config(); exit(0)
        return True
    elif letter in "46":
        if args.family == (6 if letter == "4" else 4):
            raise state.fail("only one -4 or -6 option may be specified", 2)
        args.family = int(letter)
    elif letter == "R":
        if args.timestamp_type is not None:
            raise state.fail("only one of -T or -R may be used", 2)
        args.record_route = True
    elif letter == "T":
        if args.record_route:
            raise state.fail("only one of -T or -R may be used", 2)
        if value not in ("tsonly", "tsandaddr", "tsprespec"):
            raise state.fail(f"invalid timestamp type: {value}", 2)
        args.timestamp_type = value
    elif letter == "F":
        args.flowlabel = state.parse_flow(value)
    elif letter == "N":
        try:
            state.nodeinfo.option(value)
        except NodeinfoExit as exc:
            raise state.fail(
                exc.message, exc.status, stdout=exc.stdout, stderr=exc.stderr
            ) from None
        args.nodeinfo = value
    elif letter == "c":
        args.count = state.strtol_or_err(value, 1, LONG_MAX)
    elif letter == "e":
        args.ident = state.strtol_or_err(value, 0, 0xFFFF, unsigned=True)  # IDENTIFIER_MAX
    elif letter == "f":
        args.flood = args.numeric = True  # "avoid getaddrinfo() during flood"
    elif letter == "i":
        seconds = state.ping_strtod(value, "bad timing interval")
        if seconds > INT_MAX / 1000:
            raise state.fail(f"bad timing interval: {value}", 2)
        milliseconds = seconds * 1000  # (int): truncated; x86-64 gives INT_MIN below the range
        args.interval_ms = int(milliseconds) if milliseconds > -(2**31) - 1 else -(2**31)
        args.interval_given = True
    elif letter == "I":
        state.interface(value)
    elif letter == "l":
        args.preload = state.strtol_or_err(value, 1, 0x10000)  # MAX_DUP_CHK
        args.preload_given = True
        if not state.privileged and args.preload > 3:
            raise state.fail(f"cannot set preload to value greater than 3: {args.preload}", 2)
    elif letter == "m":
        args.mark = state.strtol_or_err(value, 0, UINT_MAX, unsigned=True)
    elif letter == "M":
        if value not in ("do", "dont", "want"):
            raise state.fail(f"invalid -M argument: {value}", 2)
        args.pmtudisc = value
    elif letter == "p":
        args.pattern_given, state.pattern_text = True, value  # fill() runs after getopt
    elif letter == "Q":
        args.tos = state.parse_tos(value)
    elif letter == "s":
        args.size = state.strtol_or_err(value, 0, INT_MAX)
    elif letter == "S":
        args.sndbuf = state.strtol_or_err(value, 1, INT_MAX)
    elif letter == "t":
        args.ttl = state.strtol_or_err(value, 0, 255)
    elif letter == "w":
        args.deadline = state.strtol_or_err(value, 0, INT_MAX)
    elif letter == "W":
        seconds = state.ping_strtod(value, "bad linger time")
        if seconds < 0 or seconds > INT_MAX / 1000:
            raise state.fail(f"bad linger time: {value}", 2)
        args.linger_ms = int(seconds * 1000)
    return False


def parse_ping_args(argv: list[str], *, privileged: bool = False) -> PingArgs:
    """Parse ``ping``'s arguments (without the program name). Raises :class:`PingUsage`.

    ``privileged`` is iputils' ``rts.uid == 0`` (it checks ``getuid()``, the real uid; for a
    pingsock process that is ``os.geteuid() == 0`` unless it runs set-uid): it lifts the
    ``-l`` limit of 3.
    """
    state = _Parser(privileged)
    args = state.args
    operands: list[str] = []
    try:
        for letter, value in getopt(argv, _OPTSTRING, operands):
            if _option(state, letter, value):
                return args
    except GetoptError as exc:
        raise state.fail(exc.message, 2, stderr=_USAGE) from None
    if not operands:
        # error(1, EDESTADDRREQ, "usage error"): 20221126 exits 1 (later iputils exit 2).
        raise state.fail("usage error: Destination address required", 1)
    args.target, args.hops = operands[-1], operands[:-1]
    if args.pattern_given:
        args.pattern = _fill(state, state.pattern_text)
    return args


def _fill(state: _Parser, text: str) -> bytes:
    """ping_common.c ``fill()``: hex digits only, then sscanf("%2x" x 16): 1-2 digits a byte."""
    for index, char in enumerate(text):
        if char not in "0123456789abcdefABCDEF":
            raise state.fail(f"patterns must be specified as hex digits: {text[index:]}", 2)
    return bytes(int(text[i : i + 2], 16) for i in range(0, min(len(text), 32), 2))


def check_hops(args: PingArgs, *, ipv6: bool) -> None:
    """The operand checks of ``ping4_run``/``ping6_run``: too many hops -> ``usage()``.

    Call it once the target has resolved (and the sockets exist), before the hops are resolved
    and before the header. IPv6 takes no hops; IPv4 takes at most 9 (source route), none with
    -R or with -T other than tsprespec, and at most 4 with -T tsprespec. Raises
    :class:`PingUsage` (empty message, the usage text on stderr, exit 2).
    """
    operands = len(args.hops) + 1
    if operands == 1:
        return
    if ipv6 or args.record_route:
        limit = 1
    elif args.timestamp_type is not None:
        limit = 5 if args.timestamp_type == "tsprespec" else 1
    else:
        limit = 10
    if operands > limit:
        raise PingUsage("", 2, stderr=_USAGE)
