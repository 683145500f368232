"""iputils ping's command line: the same letters, the same parsing, the same messages.

Parsing is GNU getopt with iputils' optstring (options and the target may be interleaved; the
last operand is the target), numbers go through ``strtol_or_err``/``ping_strtod`` semantics,
and every bad value gets iputils' message and exit status (shared/spec/iputils-ping.md
section 2): 1 for out-of-range or non-numeric integers, 2 for the rest. Pure: the result is a
value; the caller prints.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from pingsock.errors import UsageError

__all__ = ["PingArgs", "Warning_", "parse_ping_args", "usage_text"]

INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1

# iputils 20221126 optstring. Letters here but not in _SUPPORTED are refused honestly until
# their issue lands (never silently ignored).
_OPTSTRING = "h?4bRT:6F:N:aABc:CdDe:fi:I:l:Lm:M:nOp:qQ:rs:S:t:UvVw:W:"
_SUPPORTED = set("h?46cinqstvVwW")

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
    return _USAGE


@dataclass(frozen=True, slots=True)
class Warning_:
    """A diagnostic that does not stop the run (printed on stderr with the program prefix)."""

    text: str


@dataclass(slots=True)
class PingArgs:
    """The parsed command line, in iputils' units."""

    target: str = ""
    hops: list[str] = field(default_factory=list)
    family: int = 0  # 0: any, 4 or 6
    count: int | None = None
    interval_ms: int = 1000
    interval_given: bool = False
    linger_ms: int = 10_000
    deadline: int = 0
    size: int = 56
    ttl: int | None = None
    quiet: bool = False
    numeric: bool = False
    verbose: bool = False
    version: bool = False
    help: bool = False
    warnings: list[Warning_] = field(default_factory=list)


# C strtod's decimal prefix (no hex floats: iputils' values are written in decimal).
_STRTOD_PREFIX = re.compile(
    r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan(?:\([0-9a-z_]*\))?)",
    re.IGNORECASE,
)
_STRTOL_PREFIX = re.compile(r"\s*[+-]?\d+")


def _strtol_or_err(text: str, low: int, high: int) -> int:
    """iputils_common.c ``strtol_or_err``: exit 1 on garbage, overflow or out of range."""
    match = _STRTOL_PREFIX.match(text)
    if not match or match.end() != len(text):
        raise UsageError(f"invalid argument: '{text}'", 1)
    value = int(match.group())
    if not -(2**63) <= value <= 2**63 - 1:
        raise UsageError(f"invalid argument: '{text}': Numerical result out of range", 1)
    if not low <= value <= high:
        raise UsageError(f"invalid argument: '{text}': out of range: {low} <= value <= {high}", 1)
    return value


def _strtod(text: str, what: str, warnings: list[Warning_]) -> float:
    """``ping_strtod``: trailing garbage only warns; NaN, infinity and subnormals are fatal."""
    if not text:
        raise UsageError(f"{what}: ", 2)
    match = _STRTOD_PREFIX.match(text)
    consumed = match.end() if match else 0
    value = float(match.group().strip()) if match else 0.0
    if consumed != len(text):
        warnings.append(Warning_(f"option argument contains garbage: {text[consumed:]}"))
        warnings.append(Warning_("this will become fatal error in the future"))
    if (
        math.isnan(value)
        or math.isinf(value)
        or (value != 0 and abs(value) < 2.2250738585072014e-308)
    ):
        raise UsageError(f"{what}: {text}: Numerical result out of range", 2)
    return value


def _getopt(argv: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """GNU getopt with permutation: options anywhere, ``--`` ends them."""
    takes_arg = {
        c for i, c in enumerate(_OPTSTRING) if c != ":" and _OPTSTRING[i + 1 : i + 2] == ":"
    }
    letters = set(_OPTSTRING) - {":"}
    options: list[tuple[str, str]] = []
    operands: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--":
            operands.extend(argv[index:])
            break
        if not word.startswith("-") or word == "-":
            operands.append(word)
            continue
        if word.startswith("--"):
            raise UsageError(f"unrecognized option '{word}'", 2)
        position = 1
        while position < len(word):
            letter = word[position]
            position += 1
            if letter not in letters:
                raise UsageError(f"invalid option -- '{letter}'", 2)
            if letter in takes_arg:
                if position < len(word):
                    value = word[position:]
                elif index < len(argv):
                    value = argv[index]
                    index += 1
                else:
                    raise UsageError(f"option requires an argument -- '{letter}'", 2)
                options.append((letter, value))
                break
            options.append((letter, ""))
    return options, operands


def parse_ping_args(argv: list[str]) -> PingArgs:
    """Parse ``ping``'s arguments (without the program name). Raises ``UsageError``.

    A ``UsageError`` whose message starts with ``invalid option``, ``unrecognized option`` or
    ``option requires`` is followed by the usage text, as getopt's errors are in iputils.
    """
    args = PingArgs()
    options, operands = _getopt(argv)
    for letter, value in options:
        if letter not in _SUPPORTED:
            raise UsageError(f"option -{letter} is not supported by pingsock yet", 2)
        if letter in "h?":
            args.help = True
        elif letter == "4":
            if args.family == 6:
                raise UsageError("only one -4 or -6 option may be specified", 2)
            args.family = 4
        elif letter == "6":
            if args.family == 4:
                raise UsageError("only one -4 or -6 option may be specified", 2)
            args.family = 6
        elif letter == "c":
            args.count = _strtol_or_err(value, 1, LONG_MAX)
        elif letter == "i":
            seconds = _strtod(value, "bad timing interval", args.warnings)
            if seconds > INT_MAX // 1000:
                raise UsageError(f"bad timing interval: {value}", 2)
            args.interval_ms = int(seconds * 1000)
            args.interval_given = True
        elif letter == "W":
            seconds = _strtod(value, "bad linger time", args.warnings)
            if seconds < 0 or seconds > INT_MAX // 1000:
                raise UsageError(f"bad linger time: {value}", 2)
            args.linger_ms = int(seconds * 1000)
        elif letter == "w":
            args.deadline = _strtol_or_err(value, 0, INT_MAX)
        elif letter == "s":
            args.size = _strtol_or_err(value, 0, INT_MAX)
        elif letter == "t":
            args.ttl = _strtol_or_err(value, 0, 255)
        elif letter == "q":
            args.quiet = True
        elif letter == "n":
            args.numeric = True
        elif letter == "v":
            args.verbose = True
        elif letter == "V":
            args.version = True
    if args.help or args.version:
        return args
    if not operands:
        # 20221126 exits 1 here (upstream later changed it to 2).
        raise UsageError("usage error: Destination address required", 1)
    args.target = operands[-1]
    args.hops = operands[:-1]
    if args.hops:
        raise UsageError("hop lists (source routing) are not supported by pingsock yet", 2)
    return args
