"""fping 5.1's command line for ``pingsock sweep``: pure parsing and validation.

:func:`parse_sweep_args` reads argv as fping's ``optparse_long`` does (short options may be
clustered, an option's value is the rest of the word or the next word, ``--long`` and
``--long=value``, non-options are permuted to the end, ``--`` ends the options), converts the
values with C's ``atoi``/``sscanf``/``atof`` rules (single-precision floats for the ``-t``,
``-i``, ``-p`` and ``-B`` values), and validates in fping's order with its messages. Every
mistake is a :class:`SweepExit` carrying the text for stdout and stderr and the status (fping
exits 1 on a usage error, 0 after ``-h``/``-v``). The ``-g`` target generation
(:func:`generate_targets`) and the ``-f`` line rule (:func:`file_line_targets`) are here too.

fping 5.1 as built by Debian has no ``FPING_SAFE_LIMITS``: ``-i 0`` and ``-p 0`` are allowed
for everybody, so there is no minimum here either.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pingsock.cli.sweep_render import PROG, usage_text, version_text

if TYPE_CHECKING:
    from pingsock.sweep.options import SweepOptions

__all__ = [
    "AF_INET",
    "AF_INET6",
    "AF_UNSPEC",
    "MAX_GENERATE",
    "MAX_PING_DATA",
    "SweepArgs",
    "SweepExit",
    "c_atoi",
    "dotted",
    "file_line_targets",
    "generate_targets",
    "parse_ipv4_numeric",
    "parse_sweep_args",
    "scan_float",
    "scan_int",
    "scan_unsigned",
    "sweep_options",
]

AF_UNSPEC, AF_INET, AF_INET6 = 0, 2, 10  # Linux values; kept here so the module stays pure
MAX_PING_DATA = 65536 - 40 - 8
MAX_GENERATE = 100000
AUTOTUNE_TIMEOUT_MAX_NS = 2000 * 1_000_000
MIN_BACKOFF, MAX_BACKOFF = 1.0, 5.0

_NONE, _REQUIRED = 0, 1
# fping 5.1's longopts: short -> (long name, argument). Options pingsock does not implement
# are still recognised (so they are not "invalid"), then refused with a message.
_OPTIONS: dict[str, tuple[str | None, int]] = {
    "4": ("ipv4", _NONE),
    "6": ("ipv6", _NONE),
    "a": ("alive", _NONE),
    "A": ("addr", _NONE),
    "b": ("size", _REQUIRED),
    "B": ("backoff", _REQUIRED),
    "c": ("count", _REQUIRED),
    "C": ("vcount", _REQUIRED),
    "d": ("rdns", _NONE),
    "D": ("timestamp", _NONE),
    "e": ("elapsed", _NONE),
    "f": ("file", _REQUIRED),
    "g": ("generate", _NONE),
    "h": ("help", _NONE),
    "H": ("ttl", _REQUIRED),
    "i": ("interval", _REQUIRED),
    "I": ("iface", _REQUIRED),
    "l": ("loop", _NONE),
    "m": ("all", _NONE),
    "M": ("dontfrag", _NONE),
    "n": ("name", _NONE),
    "N": ("netdata", _NONE),
    "o": ("outage", _NONE),
    "O": ("tos", _REQUIRED),
    "p": ("period", _REQUIRED),
    "q": ("quiet", _NONE),
    "Q": ("squiet", _REQUIRED),
    "r": ("retry", _REQUIRED),
    "R": ("random", _NONE),
    "s": ("stats", _NONE),
    "S": ("src", _REQUIRED),
    "t": ("timeout", _REQUIRED),
    "T": (None, _REQUIRED),
    "u": ("unreach", _NONE),
    "v": ("version", _NONE),
    "x": ("reachable", _REQUIRED),
}
_LONG = {name: short for short, (name, _kind) in _OPTIONS.items() if name is not None}
_UNSUPPORTED = frozenset("IlMNRS")
_ERRMSG_SIZE = 64  # optparse's errmsg buffer

_SPACE = " \t\n\v\f\r"
_FLOAT_RE = (  # compiled on first use (re's cache): start-up time matters
    r"[+-]?(?:"
    r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?"
    r"|[nN][aA][nN](?:\([0-9A-Za-z_]*\))?"
    r")"
)
_INT_RE = r"[+-]?[0-9]+"


class SweepExit(Exception):
    """Stop before probing: print ``stdout`` and ``stderr``, exit with ``status``."""

    def __init__(self, status: int, stdout: str = "", stderr: str = "") -> None:
        super().__init__(status, stdout, stderr)
        self.status = status
        self.stdout = stdout
        self.stderr = stderr


@dataclass(slots=True)
class SweepArgs:
    """fping's switches after parsing (its globals of the same meaning)."""

    targets: list[str] = field(default_factory=list)
    alive: bool = False  # -a
    unreachable: bool = False  # -u
    quiet: bool = False  # -q: no per-target or per-probe lines, no warnings
    verbose: bool = True  # "X is alive" / "X is unreachable" (off with -a, -u, -q, -x, -c)
    per_recv: bool = False  # count mode's per-reply lines
    report_all: bool = False  # -C
    count: int | None = None  # -c / -C
    elapsed: bool = False  # -e
    stats: bool = False  # -s
    generate: bool = False  # -g
    timestamps: bool = False  # -D
    outage: bool = False  # -o
    min_reachable: int = 0  # -x
    report_interval_ns: int = 0  # -Q: split reports (count mode)
    interval_ns: int = 10 * 1_000_000  # -i
    period_ns: int = 1000 * 1_000_000  # -p
    timeout_ns: int = 500 * 1_000_000  # -t (auto-tuned in count mode)
    timeout_given: bool = False
    retry: int = 3  # -r
    size: int = 56  # -b
    backoff: float = 1.5  # -B
    family: int = AF_UNSPEC  # -4 / -6
    file: str | None = None  # -f (also "-" when no target is given)
    ttl: int | None = None  # -H
    tos: int | None = None  # -O
    addresses: bool = False  # -A: show targets by address
    every_address: bool = False  # -m: ping every address of a name
    rdns: bool = False  # -d: show targets by (reverse-DNS) name
    names: bool = False  # -n: reverse-DNS for targets given as addresses
    json: bool = False  # --json (pingsock)


# -- C conversions -----------------------------------------------------------------------------


def _f32(value: float) -> float:
    """``value`` rounded to a C ``float``."""
    try:
        result: float = struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")
    return result


def _wrap(value: int, bits: int, *, signed: bool) -> int:
    value %= 1 << bits
    if signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def c_atoi(text: str) -> int:
    """C ``atoi`` (``(int) strtol(text, NULL, 10)`` on LP64): 0 when there are no digits."""
    match = re.match(_INT_RE, text.lstrip(_SPACE))
    if match is None:
        return 0
    value = max(-(2**63), min(2**63 - 1, int(match.group())))
    return _wrap(value, 32, signed=True)


def scan_unsigned(text: str) -> int | None:
    """``sscanf(text, "%u", &u)``: ``None`` when nothing matches (a negative number wraps)."""
    match = re.match(_INT_RE, text.lstrip(_SPACE))
    if match is None:
        return None
    digits = match.group()
    negative = digits.startswith("-")
    magnitude = min(int(digits.lstrip("+-")), 2**64 - 1)
    return _wrap(-magnitude if negative else magnitude, 32, signed=False)


def scan_int(text: str) -> int | None:
    """``sscanf(text, "%i", &i)``: decimal, ``0x`` hex or ``0`` octal; ``None`` without digits."""
    rest = text.lstrip(_SPACE)
    sign = 1
    if rest[:1] in ("+", "-"):
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest[:2].lower() == "0x" and len(rest) > 2 and rest[2] in "0123456789abcdefABCDEF":
        match = re.match(r"[0-9a-fA-F]+", rest[2:])
        assert match is not None
        value = int(match.group(), 16)
    elif rest[:1] == "0":
        match = re.match(r"[0-7]+", rest)
        assert match is not None
        value = int(match.group(), 8)
    else:
        match = re.match(r"[0-9]+", rest)
        if match is None:
            return None
        value = int(match.group())
    return _wrap(sign * min(value, 2**64 - 1), 32, signed=True)


def scan_float(text: str) -> float | None:
    """``sscanf(text, "%f", &f)`` into a C ``float``; ``None`` when nothing matches."""
    match = re.match(_FLOAT_RE, text.lstrip(_SPACE))
    if match is None:
        return None
    word = match.group()
    body = word.lstrip("+-")
    if body[:2].lower() == "0x":
        mantissa, _, exponent = body[2:].lower().partition("p")
        whole, _, frac = mantissa.partition(".")
        value = float(int(whole or "0", 16)) + (int(frac, 16) / 16 ** len(frac) if frac else 0.0)
        value *= 2.0 ** int(exponent or "0")
        if word.startswith("-"):
            value = -value
    else:
        if "(" in word:
            word = word[: word.index("(")]
        value = float(word)
    return _f32(value)


def _atof(text: str) -> float:
    """C ``atof`` (a double), stored in fping's ``float backoff``."""
    match = re.match(_FLOAT_RE, text.lstrip(_SPACE))
    if match is None:
        return 0.0
    word = match.group()
    if "(" in word:
        word = word[: word.index("(")]
    try:
        return _f32(float(word))
    except ValueError:  # a hex float: rare enough to go through scan_float
        return scan_float(text) or 0.0


def _ms_to_ns(value_ms: float) -> int:
    """``opt_value_float * 1000000`` (float arithmetic) converted to ``int64_t``."""
    return int(_f32(value_ms * 1_000_000.0))


# -- parsing -----------------------------------------------------------------------------------


def _usage_error(args: SweepArgs) -> SweepExit:
    return SweepExit(1, stderr=_usage(args, exact=True))


def _usage(args: SweepArgs, *, exact: bool = False) -> str:
    return usage_text(
        args.period_ns / 1e6, args.timeout_ns / 1e6, args.interval_ns / 1e6, exact=exact
    )


def _option_error(message: str, data: str) -> SweepExit:
    text = f"{message} -- '"
    room = _ERRMSG_SIZE - 2 - len(text)
    text += data[: max(room, 0)] + "'"
    return SweepExit(1, stderr=f"{PROG}: {text}\nsee '{PROG} -h' for usage information\n")


def _fail(message: str) -> SweepExit:
    return SweepExit(1, stderr=f"{PROG}: {message}\n")


def _tokens(argv: Sequence[str]) -> Iterator[tuple[str, str | None, str]]:
    """fping's optparse_long: ``(option, value, spelled)``; ``("", word, word)`` for operands.

    ``spelled`` is what an error message quotes. Operands come out where they stand; fping
    permutes them after the options, which only changes their order relative to options.
    """
    index = 0
    rest_are_operands = False
    while index < len(argv):
        word = argv[index]
        index += 1
        if rest_are_operands:
            yield "", word, word
            continue
        if word == "--":
            rest_are_operands = True
            continue
        if word.startswith("--"):
            body = word[2:]
            name, equals, value = body.partition("=")
            short = _LONG.get(name)
            if short is None:
                raise _option_error("invalid option", body)
            kind = _OPTIONS[short][1]
            if kind == _NONE:
                if equals:
                    raise _option_error("option takes no arguments", name)
                yield short, None, name
                continue
            if not equals:
                if index >= len(argv):
                    raise _option_error("option requires an argument", name)
                value = argv[index]
                index += 1
            yield short, value, name
            continue
        if len(word) < 2 or word[0] != "-":
            yield "", word, word
            continue
        position = 1
        while position < len(word):
            char = word[position]
            position += 1
            spec = _OPTIONS.get(char)
            if spec is None or char == ":":
                raise _option_error("invalid option", char)
            if spec[1] == _NONE:
                yield char, None, char
                continue
            if position < len(word):
                yield char, word[position:], char
            elif index < len(argv):
                yield char, argv[index], char
                index += 1
            else:
                raise _option_error("option requires an argument", char)
            break


def _positive_count(args: SweepArgs, value: str) -> int:
    count = _wrap(c_atoi(value), 32, signed=False)
    if count == 0:
        raise _usage_error(args)
    return count


def _milliseconds(args: SweepArgs, value: str) -> int:
    number = scan_float(value)
    if number is None or math.isnan(number) or number < 0 or math.isinf(number):
        raise _usage_error(args)
    return _ms_to_ns(number)


def parse_sweep_args(argv: Sequence[str]) -> SweepArgs:
    """Parse ``pingsock sweep`` arguments (fping's), or raise :class:`SweepExit`.

    ``--json`` (before a ``--``) is pingsock's own switch and is taken out first.
    """
    args = SweepArgs()
    words = list(argv)
    if "--json" in (words[: words.index("--")] if "--" in words else words):
        args.json = True
        cut = words.index("--") if "--" in words else len(words)
        words = [w for w in words[:cut] if w != "--json"] + words[cut:]
    if len(words) == 1 and words[0] in ("-h", "--help"):
        raise SweepExit(0, stdout=_usage(args))
    unsupported: list[str] = []
    for option, value, _spelled in _tokens(words):
        if option == "":
            assert value is not None
            args.targets.append(value)
        elif value is None:
            _flag(args, option, unsupported)
        else:
            _valued(args, option, value, unsupported)
    if unsupported:
        listed = ", ".join(f"-{c}" for c in unsupported)
        raise _fail(f"option {listed} is not supported by pingsock sweep")
    _validate(args)
    return args


def _flag(args: SweepArgs, option: str, unsupported: list[str]) -> None:
    if option in "46":
        family = AF_INET if option == "4" else AF_INET6
        if args.family not in (AF_UNSPEC, family):
            raise _fail("can't specify both -4 and -6")
        args.family = family
    elif option == "a":
        args.alive = True
    elif option == "u":
        args.unreachable = True
    elif option == "q":
        args.verbose = False
        args.quiet = True
    elif option == "e":
        args.elapsed = True
    elif option == "s":
        args.stats = True
    elif option == "g":
        args.generate = True
    elif option == "D":
        args.timestamps = True
    elif option == "o":
        args.outage = True
    elif option == "A":
        args.addresses = True
    elif option == "m":
        args.every_address = True
    elif option in "nd":
        if args.rdns if option == "n" else args.names:
            raise _fail("use either one of -d or -n")
        if option == "n":
            args.names = True
        else:
            args.rdns = True
    elif option == "h":
        raise SweepExit(0, stdout=_usage(args))
    elif option == "v":
        from pingsock import __version__

        raise SweepExit(0, stdout=version_text(__version__))
    elif option in _UNSUPPORTED and option not in unsupported:
        unsupported.append(option)


def _valued(args: SweepArgs, option: str, value: str, unsupported: list[str]) -> None:
    if option == "t":
        args.timeout_ns = _milliseconds(args, value)
        args.timeout_given = True
    elif option == "i":
        args.interval_ns = _milliseconds(args, value)
    elif option == "p":
        args.period_ns = _milliseconds(args, value)
    elif option == "r":
        retry = scan_unsigned(value)
        if retry is None:
            raise _usage_error(args)
        args.retry = retry
    elif option in "cC":
        args.count = _positive_count(args, value)
        args.report_all = args.report_all or option == "C"
    elif option == "b":
        size = scan_unsigned(value)
        if size is None:
            raise _usage_error(args)
        args.size = size
    elif option == "B":
        backoff = _atof(value)
        if backoff == 0:
            raise _usage_error(args)
        args.backoff = backoff
    elif option == "H":
        args.ttl = _positive_count(args, value)
    elif option == "x":
        args.min_reachable = _positive_count(args, value)
    elif option == "f":
        args.file = value
    elif option == "O":
        tos = scan_int(value)
        if tos is None:
            raise _usage_error(args)
        args.tos = tos
    elif option == "Q":
        args.verbose = False
        args.quiet = True
        seconds = scan_float(value)
        if seconds is None or math.isnan(seconds) or seconds < 0 or math.isinf(seconds):
            raise _usage_error(args)
        args.report_interval_ns = int(seconds * 1e9)  # float * double in fping
    elif option == "T":
        pass  # ignored by fping too ("select timeout" is meaningless now)
    elif option in _UNSUPPORTED and option not in unsupported:
        unsupported.append(option)


def _validate(args: SweepArgs) -> None:
    """fping's checks after the option loop, in its order, then its mode switches."""
    if args.ttl is not None and args.ttl > 255:
        raise _fail(f"ttl {args.ttl} out of range")
    if args.unreachable and args.alive:
        raise _fail("specify only one of a, u")
    if args.size > MAX_PING_DATA:
        raise _fail(f"data size {args.size} not valid, must be lower than {MAX_PING_DATA}")
    if not MIN_BACKOFF <= args.backoff <= MAX_BACKOFF:
        raise _fail(
            f"backoff factor {args.backoff:.1f} not valid, must be between "
            f"{MIN_BACKOFF:.1f} and {MAX_BACKOFF:.1f}"
        )
    if args.alive or args.unreachable or args.min_reachable:
        args.verbose = False
    if args.count is not None:
        args.per_recv = args.verbose
        args.alive = args.unreachable = args.verbose = False
        if not args.timeout_given:
            args.timeout_ns = min(args.period_ns, AUTOTUNE_TIMEOUT_MAX_NS)
    has_targets = bool(args.targets)
    if (
        (has_targets and args.file is not None)
        or (args.file is not None and args.generate)
        or (args.generate and not has_targets)
    ):
        raise _usage_error(args)
    if args.generate and len(args.targets) > 2:
        raise _usage_error(args)
    if not has_targets and args.file is None and not args.generate:
        args.file = "-"


def sweep_options(args: SweepArgs, backend: str = "auto") -> SweepOptions:
    """The engine's options for these arguments (imports :mod:`pingsock.sweep` lazily)."""
    from pingsock.sweep.options import SweepOptions

    return SweepOptions(
        count=args.count,
        retries=args.retry,
        backoff=args.backoff,
        timeout=args.timeout_ns / 1e9,
        interval=args.interval_ns / 1e9,
        period=args.period_ns / 1e9,
        size=args.size,
        ttl=args.ttl,
        tos=args.tos,
        family=args.family,
        backend=backend,
    )


# -- targets -----------------------------------------------------------------------------------


def _c_strtoul_base0(text: str) -> int | None:
    if text[:2].lower() == "0x":
        digits = text[2:]
        return (
            int(digits, 16)
            if digits and all(c in "0123456789abcdefABCDEF" for c in digits)
            else None
        )
    if text[:1] == "0":
        return int(text, 8) if all(c in "01234567" for c in text) else None
    return int(text) if text.isdigit() and text.isascii() else None


def parse_ipv4_numeric(text: str) -> int | None:
    """glibc ``inet_aton`` on the whole string (what ``getaddrinfo(AI_NUMERICHOST)`` accepts
    for IPv4: ``a``, ``a.b``, ``a.b.c`` or ``a.b.c.d``, each part decimal, ``0x`` hex or
    ``0`` octal); the address as an integer, or ``None``."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or any(p == "" for p in parts):
        return None
    values = [_c_strtoul_base0(p) for p in parts]
    if any(v is None for v in values):
        return None
    numbers = [v for v in values if v is not None]
    last_bits = 32 - 8 * (len(numbers) - 1)
    if any(v > 255 for v in numbers[:-1]) or numbers[-1] >= 1 << last_bits:
        return None
    address = 0
    for position, value in enumerate(numbers[:-1]):
        address |= value << (24 - 8 * position)
    return address | numbers[-1]


def _is_ipv6_literal(text: str) -> bool:
    if ":" not in text:
        return False
    import ipaddress  # only for this rare error path

    try:
        ipaddress.IPv6Address(text.partition("%")[0])
    except ValueError:
        return False
    return True


def _ipv4_for_generate(text: str, separator: str) -> int:
    address = parse_ipv4_numeric(text)
    if address is not None:
        return address
    if _is_ipv6_literal(text):
        raise _fail("-g works only with IPv4 addresses")
    raise SweepExit(
        1, stderr=f"{PROG}{separator} can't parse address {text}: Name or service not known\n"
    )


def dotted(address: int) -> str:
    """An IPv4 address (an integer) in dotted-quad text, as ``inet_ntop`` writes it."""
    return f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}"


def generate_targets(args: SweepArgs) -> tuple[int, int]:
    """``-g``: the first and last address (integers, inclusive; ``last < first`` when there
    is none) of ``a.b.c.d/len`` or ``start end``, after fping's checks (status 1)."""
    if len(args.targets) == 1:
        spec = args.targets[0]
        if "/" not in spec:
            raise _usage_error(args)
        address_text, _, mask_text = spec.partition("/")
        address = _ipv4_for_generate(address_text, ",")
        mask = _wrap(c_atoi(mask_text), 64, signed=False)
        if not 1 <= mask <= 32:
            raise _fail(f"netmask must be between 1 and 32 (is: {mask_text})")
        bitmask = (0xFFFFFFFF << (32 - mask)) & 0xFFFFFFFF
        first = address & bitmask
        last = first + (1 << (32 - mask)) - 1
        if mask < 31:
            first, last = first + 1, last - 1
        return first, last
    if len(args.targets) == 2:
        start = _ipv4_for_generate(args.targets[0], ":")
        end = _ipv4_for_generate(args.targets[1], ":")
        if end > start + MAX_GENERATE:
            raise _fail("-g parameter generates too many addresses")
        return start, end
    raise _usage_error(args)


_LINE_CHUNK = 131  # fgets(line, 132, file)


def file_line_targets(lines: Iterable[str]) -> Iterator[str]:
    """``-f``: the first word of each line (fping reads 131 characters at a time); lines
    without a word or whose word starts with ``#`` are skipped."""
    for line in lines:
        for start in range(0, max(len(line), 1), _LINE_CHUNK):
            words = line[start : start + _LINE_CHUNK].split()
            if words and not words[0].startswith("#"):
                yield words[0]
