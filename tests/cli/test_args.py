"""iputils ping's option parsing (shared/spec/iputils-ping.md section 2), value by value.

Every message and status below was checked against Debian 12's ``ping`` (iputils 20221126)
with LC_ALL=C.UTF-8; when that binary is installed, ``test_same_as_iputils`` runs them all
against it again (as root for ``privileged=True``, as nobody through setpriv otherwise).
"""

from __future__ import annotations

import ctypes
import math
import os
import shlex
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pingsock.cli import cparse
from pingsock.cli.args import PingArgs, PingUsage, check_hops, parse_ping_args, usage_text
from pingsock.cli.nodeinfo import NI_HELP
from pingsock.errors import UsageError

RANGE = "Numerical result out of range"
CNT = "1 <= value <= 9223372036854775807"
GARBAGE = ["option argument contains garbage: {}", "this will become fatal error in the future"]


def garbage(rest: str) -> list[str]:
    return [line.format(rest) for line in GARBAGE]


def outcome(argv: list[str], privileged: bool = False) -> tuple[int, str, str]:
    """What ``ping`` would print and return, as (status, stdout, stderr), when parsing ends it."""
    try:
        args = parse_ping_args(argv, privileged=privileged)
    except PingUsage as exc:
        err = "".join(f"ping: {w.text}\n" for w in exc.warnings)
        err += f"ping: {exc.message}\n" if exc.message else ""
        return exc.status, exc.stdout, err + exc.stderr
    err = "".join(f"ping: {w.text}\n" for w in args.warnings)
    if args.help:
        return 2, "", err + usage_text()
    assert args.version, "parse succeeded: nothing to compare"
    return 0, _VERSION, err


_VERSION = (
    "ping from iputils 20221126\nlibcap: yes, IDN: yes, NLS: no, error.h: yes, "
    "getrandom(): yes, __fpending(): yes\n"
)


def error_of(*argv: str, privileged: bool = False) -> tuple[str, int]:
    with pytest.raises(PingUsage) as info:
        parse_ping_args(list(argv), privileged=privileged)
    return info.value.message, info.value.status


# (argv, message, status): every getopt-time check of ping.c main(), then the post-getopt ones.
ERRORS: list[tuple[list[str], str, int]] = [
    # strtol_or_err / strtoul_or_err (iputils_common.c): exit 1
    (["-c", "0"], f"invalid argument: '0': out of range: {CNT}", 1),
    (["-c", "-1"], f"invalid argument: '-1': out of range: {CNT}", 1),
    (["-c", "abc"], "invalid argument: 'abc'", 1),
    (["-c", ""], "invalid argument: ''", 1),
    (["-c", "5 "], "invalid argument: '5 '", 1),
    (["-c", "99999999999999999999"], f"invalid argument: '99999999999999999999': {RANGE}", 1),
    (["-e", "65536"], "invalid argument: '65536': out of range: 0 <= value <= 65535", 1),
    (["-e", "-1"], "invalid argument: '-1': out of range: 0 <= value <= 65535", 1),
    (
        ["-e", "-18446744073709551616"],
        f"invalid argument: '-18446744073709551616': {RANGE}",
        1,
    ),
    (["-l", "0"], "invalid argument: '0': out of range: 1 <= value <= 65536", 1),
    (["-l", "65537"], "invalid argument: '65537': out of range: 1 <= value <= 65536", 1),
    (["-m", "-1"], "invalid argument: '-1': out of range: 0 <= value <= 4294967295", 1),
    (
        ["-m", "4294967296"],
        "invalid argument: '4294967296': out of range: 0 <= value <= 4294967295",
        1,
    ),
    (["-m", "abc"], "invalid argument: 'abc'", 1),
    (["-s", "-1"], "invalid argument: '-1': out of range: 0 <= value <= 2147483647", 1),
    (["-s", "abc"], "invalid argument: 'abc'", 1),
    (["-S", "0"], "invalid argument: '0': out of range: 1 <= value <= 2147483647", 1),
    (["-t", "256"], "invalid argument: '256': out of range: 0 <= value <= 255", 1),
    (["-w", "0.1"], "invalid argument: '0.1'", 1),
    (["-w", "-1"], "invalid argument: '-1': out of range: 0 <= value <= 2147483647", 1),
    # ping_strtod and the -i / -W range checks: exit 2
    (["-i", "inf"], f"bad timing interval: inf: {RANGE}", 2),
    (["-i", "-inf"], f"bad timing interval: -inf: {RANGE}", 2),
    (["-i", "nan"], f"bad timing interval: nan: {RANGE}", 2),
    (["-i", "nan(12)"], f"bad timing interval: nan(12): {RANGE}", 2),
    (["-i", "0x1p-1074"], f"bad timing interval: 0x1p-1074: {RANGE}", 2),  # subnormal
    (["-i", "3000000"], "bad timing interval: 3000000", 2),
    (["-i", "2147483.648"], "bad timing interval: 2147483.648", 2),
    (["-i", ""], "bad timing interval: : No such file or directory", 2),  # stale errno
    (["-W", "-1"], "bad linger time: -1", 2),
    (["-W", "-0.0001"], "bad linger time: -0.0001", 2),
    (["-W", "1e10"], "bad linger time: 1e10", 2),
    (["-W", "2147483.648"], "bad linger time: 2147483.648", 2),
    (["-W", "inf"], f"bad linger time: inf: {RANGE}", 2),
    (["-W", ""], "bad linger time: : No such file or directory", 2),
    # the other getopt cases
    (["-4", "-6"], "only one -4 or -6 option may be specified", 2),
    (["-6", "-4"], "only one -4 or -6 option may be specified", 2),
    (["-R", "-T", "tsonly"], "only one of -T or -R may be used", 2),
    (["-T", "tsonly", "-R"], "only one of -T or -R may be used", 2),
    (["-R", "-T", "foo"], "only one of -T or -R may be used", 2),
    (["-T", "foo"], "invalid timestamp type: foo", 2),
    (["-T", "foo", "-R"], "invalid timestamp type: foo", 2),
    (["-F", "xyz"], "bad value for flowinfo: xyz", 2),
    (["-F", "5 "], "bad value for flowinfo: 5 ", 2),
    (["-F", "0x100000"], "flow value is greater than 20 bits: 0x100000", 2),
    (["-F", "1048576"], "flow value is greater than 20 bits: 1048576", 2),
    (["-F", "-1"], "flow value is greater than 20 bits: -1", 2),
    (
        ["-F", "99999999999999999999999"],
        "flow value is greater than 20 bits: 99999999999999999999999",
        2,
    ),
    (["-Q", "abc"], "bad TOS value: abc", 2),
    (["-Q", "5 "], "bad TOS value: 5 ", 2),
    (["-Q", "-0x5"], "bad TOS value: -0x5", 2),
    (["-Q", "300"], "the decimal value of TOS bits must be in range 0-255: 300", 2),
    (["-Q", "0x1ff"], "the decimal value of TOS bits must be in range 0-255: 511", 2),
    (["-Q", "99999999999"], "the decimal value of TOS bits must be in range 0-255: 1215752191", 2),
    (["-M", "probe"], "invalid -M argument: probe", 2),
    (["-M", "foo"], "invalid -M argument: foo", 2),
    (["-M", "DO"], "invalid -M argument: DO", 2),
    (["-I", "::zz"], "invalid source address: ::zz", 2),
    (["-I", "::zz%eth0"], "invalid source address: ::zz%eth0", 2),
    (["-I", ":"], "invalid source address: :", 2),
    (["-I", "1::2::3"], "invalid source address: 1::2::3", 2),
    (["-I", "eth0:1"], "invalid source address: eth0:1", 2),
    (["-l", "4"], "cannot set preload to value greater than 3: 4", 2),
    (["-l", "65536"], "cannot set preload to value greater than 3: 65536", 2),
    (["-N", "subject-name=a..b"], "inappropriate subject name: a..b", 1),
    (["-N", "subject-name=A..B"], "inappropriate subject name: a..b", 1),
    (["-N", "subject-name=.a"], "inappropriate subject name: .a", 1),
    (["-N", "subject-name=a\\"], "inappropriate subject name: a\\", 1),
    (["-N", "subject-name=a\\999"], "inappropriate subject name: a\\999", 1),
    (["-N", "subject-fqdn=a..b%lo"], "inappropriate subject name: a..b", 1),
    (["-N", "subject-name=foo%abcdefghijklmnop"], "too long scope name", 1),
    (
        ["-N", "subject-name=" + "a" * 64],
        "IDN encoding error: domain label longer than 63 characters",
        2,
    ),
    (
        ["-N", "subject-name=" + "a" * 300],
        "IDN encoding error: domain name longer than 255 characters",
        2,
    ),
    (
        ["-N", "subject-name=" + ".".join(["a" * 63] * 3 + ["a" * 62])],
        "IDN encoding error: domain name longer than 255 characters",
        2,
    ),
    # after getopt: the destination, then fill()
    ([], "usage error: Destination address required", 1),
    (["-p", "xyz"], "usage error: Destination address required", 1),
    (["-q"], "usage error: Destination address required", 1),
    (["-p", "xyz", "127.0.0.1"], "patterns must be specified as hex digits: xyz", 2),
    (["-p", "ab-cd", "127.0.0.1"], "patterns must be specified as hex digits: -cd", 2),
    (["-p", "0x12", "127.0.0.1"], "patterns must be specified as hex digits: x12", 2),
    (["-p", "ff", "-p", "zz", "127.0.0.1"], "patterns must be specified as hex digits: zz", 2),
]

# Checks that run at the first bad option: argv order decides, as with the real binary.
ORDER: list[tuple[list[str], str, int]] = [
    (["-c", "0", "-l", "4"], f"invalid argument: '0': out of range: {CNT}", 1),
    (["-l", "4", "-c", "0"], "cannot set preload to value greater than 3: 4", 2),
    (["-M", "foo", "-c", "0"], "invalid -M argument: foo", 2),
    (["-c", "0", "-p", "zz", "h"], f"invalid argument: '0': out of range: {CNT}", 1),
    (["-p", "zz", "-c", "0", "h"], f"invalid argument: '0': out of range: {CNT}", 1),  # fill later
    (["-c", "0", "-Z"], f"invalid argument: '0': out of range: {CNT}", 1),
    (["-Z", "-c", "0"], "invalid option -- 'Z'", 2),
    (["-c", "0", "-N", "foo"], f"invalid argument: '0': out of range: {CNT}", 1),
    (["-T", "foo", "-4", "-6"], "invalid timestamp type: foo", 2),
    (["-I", "::zz", "-Q", "abc"], "invalid source address: ::zz", 2),
    (["-ql4", "-c0"], "cannot set preload to value greater than 3: 4", 2),
    (["127.0.0.1", "-c", "0"], f"invalid argument: '0': out of range: {CNT}", 1),
]

GETOPT: list[tuple[list[str], str]] = [
    (["-Z"], "invalid option -- 'Z'"),
    (["--foo"], "invalid option -- '-'"),  # getopt(), not getopt_long()
    (["-:"], "invalid option -- ':'"),
    (["-qZ"], "invalid option -- 'Z'"),
    (["-c"], "option requires an argument -- 'c'"),
    (["h", "-W"], "option requires an argument -- 'W'"),
]


@pytest.mark.parametrize(("argv", "message", "status"), ERRORS + ORDER)
def test_errors(argv: list[str], message: str, status: int) -> None:
    assert error_of(*argv) == (message, status)


@pytest.mark.parametrize(("argv", "message"), GETOPT)
def test_getopt_errors_are_followed_by_the_usage(argv: list[str], message: str) -> None:
    assert outcome(argv) == (2, "", f"ping: {message}\n{usage_text()}")


def test_errors_are_usage_errors_for_old_callers() -> None:
    with pytest.raises(UsageError):
        parse_ping_args(["-c", "0"])


def test_preload_above_3_is_allowed_when_privileged() -> None:
    assert parse_ping_args(["-l", "65536", "h"], privileged=True).preload == 65536
    assert parse_ping_args(["-l", "3", "h"]).preload == 3
    assert parse_ping_args(["-l", "4", "-l", "3", "h"], privileged=True).preload == 3


def test_warnings_printed_before_a_failure_travel_with_it() -> None:
    assert outcome(["-i", "1x", "-c", "0"]) == (
        1,
        "",
        "ping: option argument contains garbage: x\n"
        "ping: this will become fatal error in the future\n"
        f"ping: invalid argument: '0': out of range: {CNT}\n",
    )


@pytest.mark.parametrize(
    ("argv", "warnings", "message"),
    [
        (["-i", "1e999"], garbage(""), f"bad timing interval: 1e999: {RANGE}"),  # overflow
        (["-i", "1e-310"], garbage(""), f"bad timing interval: 1e-310: {RANGE}"),  # inexact tiny
        (["-i", "infinityx"], garbage("x"), f"bad timing interval: infinityx: {RANGE}"),
        # errno is not reset before the empty-argument error: it keeps the last one set.
        (["-i", "1e-400", "-W", ""], garbage(""), f"bad linger time: : {RANGE}"),
        (["-Q", "99999999999999999999", "-i", ""], [], f"bad timing interval: : {RANGE}"),
        (["-c", "1", "-i", ""], [], "bad timing interval: "),
        (["-i", "1", "-W", ""], [], "bad linger time: "),
        (["-c", "1", "-Q", "5", "-I", "::1", "-W", ""], [], "bad linger time: "),
    ],
)
def test_strtod_warnings_and_errno(argv: list[str], warnings: list[str], message: str) -> None:
    with pytest.raises(PingUsage) as info:
        parse_ping_args(argv)
    assert ([w.text for w in info.value.warnings], info.value.message) == (warnings, message)
    assert info.value.status == 2


@pytest.mark.parametrize(
    ("text", "milliseconds", "rest"),
    [
        ("0.0015", 1, None),
        ("1.5abc", 1500, "abc"),
        ("abc", 0, "abc"),
        ("1 ", 1000, " "),
        (" 1", 1000, None),
        (".", 0, "."),
        ("1e", 1000, "e"),
        ("0x", 0, "x"),
        ("0x1p3", 8000, None),
        ("0x.8", 500, None),
        ("1e-400", 0, ""),
        ("-1", -1000, None),
        ("-1e10", -(2**31), None),
        ("2147483.647", 2147483647, None),
    ],
)
def test_interval_values(text: str, milliseconds: int, rest: str | None) -> None:
    args = parse_ping_args(["-i", text, "h"])
    assert (args.interval_ms, args.interval_given) == (milliseconds, True)
    assert [w.text for w in args.warnings] == ([] if rest is None else garbage(rest))


def test_linger_values() -> None:
    assert parse_ping_args(["-W", "0.5", "h"]).linger_ms == 500
    assert parse_ping_args(["-W", "-0", "h"]).linger_ms == 0
    assert parse_ping_args(["h"]).linger_ms == 10_000


@pytest.mark.parametrize(
    ("argv", "stdout", "status"),
    [
        (["-N", "help"], NI_HELP, 0),
        (["-N", "help", "-c", "0"], NI_HELP, 0),
        (["-N", "foo"], "", 2),
        (["-N", "helpx"], "", 2),
        (["-N", ""], "", 2),
        (["-N", "NAME"], "", 2),
        (["-N", "name="], "", 2),
        (["-N", "subject-ipv6"], "", 2),
        (["-N", "name", "-N", "ipv6"], "Qtype conflict\n", 2),
        (["-N", "ipv6-all", "-N", "ipv4"], "Qtype conflict\n", 2),
        (["-N", "subject-ipv6=::1", "-N", "subject-ipv4=1.2.3.4"], "Subject type conflict\n", 2),
        (["-N", "subject-name=foo", "-N", "subject-ipv6=::1"], "Subject type conflict\n", 2),
    ],
)
def test_nodeinfo_help_and_conflicts(argv: list[str], stdout: str, status: int) -> None:
    assert outcome(argv) == (status, stdout, "" if status == 0 else NI_HELP)


@pytest.mark.parametrize(
    "values",
    [
        ["name", "fqdn"],
        ["ipv6-all", "ipv6-global", "ipv6"],
        ["ipv4", "ipv4-all"],
        ["subject-ipv4=1.2.3.4", "subject-ipv4=5.6.7.8"],
        ["subject-name=foo", "subject-fqdn=bar"],
        ["subject-name=a.", "subject-name=.", "subject-name=", "subject-name=a\\.b"],
        ["subject-name=a\\065", "subject-name=%", "subject-name=foo%abcdefghijklmno"],
        ["subject-name=" + ".".join(["a" * 63] * 3 + ["a" * 61]) + "."],
    ],
)
def test_nodeinfo_accepted(values: list[str]) -> None:
    argv = [word for value in values for word in ("-N", value)]
    assert parse_ping_args([*argv, "h"]).nodeinfo == values[-1]


def test_every_option_value() -> None:
    args = parse_ping_args(
        shlex.split(
            "-4 -b -a -A -B -C -d -D -e 7 -f -F 0x12345 -I eth0 -l 3 -L -m 9 -M want -n -O "
            "-p abc -q -Q 0x10 -r -s 100 -S 4096 -t 64 -U -v -w 5 -W 2.5 -c 4 -i 0.25 -T tsandaddr "
            "-N ipv6 a b target"
        )
    )
    assert args == PingArgs(
        target="target",
        hops=["a", "b"],
        family=4,
        count=4,
        interval_ms=250,
        interval_given=True,
        linger_ms=2500,
        deadline=5,
        size=100,
        ttl=64,
        quiet=True,
        numeric=True,
        verbose=True,
        audible=True,
        adaptive=True,
        broadcast=True,
        sticky_source=True,
        connect=True,
        debug=True,
        timestamps=True,
        ident=7,
        flood=True,
        flowlabel=0x12345,
        interface="eth0",
        device="eth0",
        preload=3,
        preload_given=True,
        suppress_loopback=True,
        mark=9,
        pmtudisc="want",
        nodeinfo="ipv6",
        report_outstanding=True,
        pattern=b"\xab\x0c",
        pattern_given=True,
        tos=16,
        dontroute=True,
        record_route=False,
        sndbuf=4096,
        timestamp_type="tsandaddr",
        user_latency=True,
    )


def test_defaults() -> None:
    assert parse_ping_args(["h"]) == PingArgs(target="h")
    assert parse_ping_args(["-R", "-6", "h"]).record_route


def test_flood_implies_numeric_and_leaves_the_interval_to_setup() -> None:
    for argv in (["-f", "h"], ["-i", "0.5", "-f", "h"], ["-f", "-i", "0.5", "h"]):
        args = parse_ping_args(argv)
        assert (args.flood, args.numeric) == (True, True)
        assert args.interval_ms == (500 if args.interval_given else 1000)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("65535", 65535),
        ("-0", 0),
        ("+5", 5),
        (" 5", 5),
        ("-18446744073709551615", 1),  # strtoul() wraps negatives
    ],
)
def test_ident_values(text: str, value: int) -> None:
    assert parse_ping_args(["-e", text, "h"]).ident == value


@pytest.mark.parametrize(
    ("text", "tos"),
    [
        ("0", 0),
        ("255", 255),
        ("0xff", 255),
        ("0X10", 16),
        ("0x0x10", 16),  # strtol(base 16) skips its own 0x
        ("-1", -1),
        ("0x-5", -5),
        ("", 0),
        ("0x", 0),
        (" 5", 5),
        ("4294967296", 0),  # (int) of a long keeps the low 32 bits
        ("2147483648", -(2**31)),
        ("99999999999999999999", -1),  # LONG_MAX, ERANGE ignored
        ("-99999999999999999999", 0),
    ],
)
def test_tos_values(text: str, tos: int) -> None:
    assert parse_ping_args(["-Q", text, "h"]).tos == tos


@pytest.mark.parametrize(
    ("text", "flow"),
    [
        ("0", 0),
        ("1048575", 0xFFFFF),
        ("0xfffff", 0xFFFFF),
        ("", 0),
        ("0x", 0),
        (" 5", 5),
        ("4294967296", 0),
    ],
)
def test_flowlabel_values(text: str, flow: int) -> None:
    assert parse_ping_args(["-F", text, "h"]).flowlabel == flow


@pytest.mark.parametrize(
    ("texts", "interface", "source", "device", "sticky"),
    [
        (["eth0"], "eth0", None, "eth0", False),
        (["1.2.3.4"], "1.2.3.4", "1.2.3.4", None, True),
        (["1.2.3.04"], "1.2.3.04", None, "1.2.3.04", False),  # inet_pton is strict
        (["1.2.3.4.5"], "1.2.3.4.5", None, "1.2.3.4.5", False),
        (["::1"], "::1", "::1", None, True),
        (["fe80::1%lo"], "fe80::1%lo", "fe80::1", "lo", True),
        (["::1%"], "::1%", "::1", "", True),
        (["::ffff:1.2.3.4"], "::ffff:1.2.3.4", "::ffff:1.2.3.4", None, True),
        (["%lo"], "%lo", None, "%lo", False),
        (["eth0", "::1"], "::1", "::1", "eth0", True),  # rts.device survives
        (["::1", "eth0"], "eth0", "::1", "eth0", True),
    ],
)
def test_interface_classification(
    texts: list[str], interface: str, source: str | None, device: str | None, sticky: bool
) -> None:
    args = parse_ping_args([*(w for t in texts for w in ("-I", t)), "h"])
    assert (args.interface, args.source_address, args.device) == (interface, source, device)
    assert args.sticky_source is sticky


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("ff", b"\xff"),
        ("abc", b"\xab\x0c"),  # an odd last digit is a byte of its own
        ("0", b"\x00"),
        ("", b""),  # sscanf() sees nothing: "PATTERN: 0x" and no fill
        ("0123456789ABCDEFfedcba9876543210", bytes.fromhex("0123456789abcdeffedcba9876543210")),
        ("0123456789abcdef0123456789abcdef99", bytes.fromhex("0123456789abcdef0123456789abcdef")),
        ("1" * 33, b"\x11" * 16),
    ],
)
def test_pattern_fill(text: str, pattern: bytes) -> None:
    args = parse_ping_args(["-p", text, "h"])
    assert (args.pattern, args.pattern_given) == (pattern, True)


def test_last_pattern_wins() -> None:
    assert parse_ping_args(["-p", "zz", "-p", "ff", "h"]).pattern == b"\xff"


@pytest.mark.parametrize(
    ("argv", "values"),
    [
        (["-T", "tsonly", "h"], {"timestamp_type": "tsonly"}),
        (["-T", "tsonly", "-T", "tsprespec", "h"], {"timestamp_type": "tsprespec"}),
        (["-T", "tsprespec", "h"], {"timestamp_type": "tsprespec", "hops": []}),
        (["-M", "do", "-M", "dont", "h"], {"pmtudisc": "dont"}),
        (["-4", "-4", "h"], {"family": 4}),
        (["-6", "h"], {"family": 6}),
        (["-c", "+5", "h"], {"count": 5}),
        (["-m", "-18446744073709551615", "h"], {"mark": 1}),
        (["-m", "4294967295", "h"], {"mark": 4294967295}),
        (["-t", "0", "h"], {"ttl": 0}),
        (["-s", "0", "h"], {"size": 0}),
        (["-w", "0", "h"], {"deadline": 0}),
        (["-S", "2147483647", "h"], {"sndbuf": 2147483647}),
        (["-R", "-R", "h"], {"record_route": True}),
    ],
)
def test_option_values(argv: list[str], values: dict[str, object]) -> None:
    args = parse_ping_args(argv)
    assert {name: getattr(args, name) for name in values} == values


def test_operands_interleave_and_permute() -> None:
    args = parse_ping_args(["a", "-c", "3", "b", "-i0.2", "-q", "c"])
    assert (args.target, args.hops, args.count, args.interval_ms) == ("c", ["a", "b"], 3, 200)
    assert args.quiet


def test_clusters_double_dash_and_dash() -> None:
    args = parse_ping_args(["-qnc2", "--", "-x", "-c", "0"])
    assert (args.quiet, args.numeric, args.count) == (True, True, 2)
    assert (args.hops, args.target) == (["-x", "-c"], "0")
    assert parse_ping_args(["-"]).target == "-"
    assert error_of("-c", "--", "h") == ("invalid argument: '--'", 1)  # -c takes the "--"


def test_help_and_version_stop_parsing_where_they_stand() -> None:
    for argv in (["-h"], ["-?"], ["-h", "-Z"], ["-hV"], ["-h", "-c", "0"]):
        assert outcome(argv) == (2, "", usage_text())
    for argv in (["-V"], ["-V", "-Z"], ["-Vh"], ["-vV"], ["-V", "-l", "4"]):
        assert outcome(argv) == (0, _VERSION, "")
    assert outcome(["-i", "1x", "-V"]) == (
        0,
        _VERSION,
        "".join(f"ping: {w}\n" for w in garbage("x")),
    )
    assert outcome(["-l", "4", "-V"])[0] == 2
    assert outcome(["-c", "0", "-h"])[0] == 1


@pytest.mark.parametrize(
    ("argv", "ipv6", "allowed"),
    [
        (["h"], True, True),
        (["h"], False, True),
        (["a", "h"], True, False),
        (["a"] * 9 + ["h"], False, True),
        (["a"] * 10 + ["h"], False, False),
        (["-R", "a", "h"], False, False),
        (["-R", "h"], False, True),
        (["-T", "tsonly", "a", "h"], False, False),
        (["-T", "tsandaddr", "a", "h"], False, False),
        (["-T", "tsprespec", "a", "b", "c", "d", "h"], False, True),
        (["-T", "tsprespec", "a", "b", "c", "d", "e", "h"], False, False),
    ],
)
def test_check_hops(argv: list[str], ipv6: bool, allowed: bool) -> None:
    args = parse_ping_args(argv)
    if allowed:
        check_hops(args, ipv6=ipv6)
        return
    with pytest.raises(PingUsage) as info:
        check_hops(args, ipv6=ipv6)
    assert (info.value.message, info.value.status, info.value.stderr) == ("", 2, usage_text())


# ---- the C library emulation, against the C library itself ---------------------------------

_LIBC = ctypes.CDLL(None, use_errno=True)
_ERANGE = 34


def _c_strto(name: str, text: str, *base: int) -> tuple[float | int, int, bool]:
    function = getattr(_LIBC, name)
    function.restype = {"strtod": ctypes.c_double, "strtol": ctypes.c_long}.get(
        name, ctypes.c_ulong
    )
    raw = ctypes.create_string_buffer(text.encode())
    end = ctypes.c_char_p()
    ctypes.set_errno(0)
    value = function(raw, ctypes.byref(end), *base)
    erange = ctypes.get_errno() == _ERANGE
    offset = ctypes.cast(end, ctypes.c_void_p).value or 0
    return value, offset - (ctypes.addressof(raw)), erange


_NUMBERISH = st.text(alphabet="0123456789.eEpPxX+- \tabcfinINtyAF()_", max_size=14)


@settings(max_examples=3000, deadline=None)
@given(_NUMBERISH)
@example("1e-310")
@example("0x1p-1074")
@example("4.9406564584124654e-324")
@example("2.2250738585072011e-308")
@example("1e999")
@example("0x1.fffffffffffff8p1023")
@example("nan(abc_1)")
def test_strtod_is_glibcs(text: str) -> None:
    value, end, erange = cparse.strtod(text)
    expected, c_end, c_erange = _c_strto("strtod", text)
    assert (end, erange) == (c_end, c_erange)
    assert value == expected or (math.isnan(value) and math.isnan(float(expected)))


@settings(max_examples=2000, deadline=None)
@given(
    st.one_of(_NUMBERISH, st.from_regex(r"\A[ +-]?(0x)?[0-9a-f]{0,24}\Z")),
    st.sampled_from([10, 16]),
)
@example("-18446744073709551616", 10)
@example("0x", 16)
def test_strtol_and_strtoul_are_glibcs(text: str, base: int) -> None:
    assert cparse.strtol(text, base) == _c_strto("strtol", text, base)
    assert cparse.strtoul(text, base) == _c_strto("strtoul", text, base)


_ADDRESSISH = st.one_of(
    st.text(alphabet="0123456789abcdefABCDEF:.%g", max_size=24),
    st.lists(st.from_regex(r"\A[0-9a-f]{0,5}\Z"), min_size=1, max_size=10).map(":".join),
    st.lists(st.sampled_from(["0", "1", "01", "255", "256", "12"]), min_size=3, max_size=5).map(
        lambda parts: "::ffff:" + ".".join(parts)
    ),
)


@settings(max_examples=3000, deadline=None)
@given(_ADDRESSISH)
@example("1:2:3:4:5:6:7::")
@example("::1:2:3:4:5:6:7:8")
@example("1:2:3:4:5:6:1.2.3.4")
def test_inet_pton_is_glibcs(text: str) -> None:
    for family, ours in ((socket.AF_INET6, cparse.inet_pton6), (socket.AF_INET, cparse.inet_pton4)):
        try:
            socket.inet_pton(family, text)
        except OSError:
            assert not ours(text)
        else:
            assert ours(text)


# ---- the same cases, against the real binary -------------------------------------------------

_PING = Path("/usr/bin/ping")
_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def _reference_version() -> str:
    try:
        done = subprocess.run([_PING, "-V"], capture_output=True, text=True, timeout=5, check=False)
        return done.stdout
    except OSError:
        return ""


_REFERENCE = _PING.exists() and _reference_version() == _VERSION


def _real(argv: list[str], privileged: bool) -> tuple[int, str, str]:
    as_user = [] if privileged else _NOBODY
    done = subprocess.run(
        [*as_user, "/bin/bash", "-c", 'exec -a ping "$0" "$@"', str(_PING), *argv],
        capture_output=True,
        timeout=10,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
        cwd="/",
        check=False,
    )
    return done.returncode, done.stdout.decode(), done.stderr.decode()


_CROSS_CHECKED = (
    [argv for argv, _, _ in ERRORS + ORDER]
    + [argv for argv, _ in GETOPT]
    + [
        ["-i", "1x", "-c", "0"],
        ["-i", "1e999"],
        ["-i", "1e-310"],
        ["-i", "1e-400", "-W", ""],
        ["-Q", "99999999999999999999", "-i", ""],
        ["-c", "1", "-i", ""],
        ["-N", "help"],
        ["-N", "foo"],
        ["-N", "name", "-N", "ipv6"],
        ["-N", "subject-name=foo", "-N", "subject-ipv6=::1"],
        ["-h", "-c", "0"],
        ["-i", "1x", "-V"],
        ["-l", "4", "-V"],
    ]
)


@pytest.mark.skipif(not _REFERENCE, reason="needs Debian's iputils 20221126 ping")
@pytest.mark.parametrize("privileged", [True, False])
@pytest.mark.parametrize("argv", _CROSS_CHECKED, ids=" ".join)
def test_same_as_iputils(argv: list[str], privileged: bool) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root (privileged=True) and setpriv (as nobody)")
    assert outcome(argv, privileged) == _real(argv, privileged)
