"""iputils ping's option parsing and validation messages (spec section 2)."""

from __future__ import annotations

import pytest

from pingsock.cli.args import parse_ping_args
from pingsock.errors import UsageError


def error_of(*argv: str) -> tuple[str, int]:
    with pytest.raises(UsageError) as info:
        parse_ping_args(list(argv))
    return info.value.message, info.value.status


@pytest.mark.parametrize(
    ("argv", "message", "status"),
    [
        (
            ["-c", "0", "h"],
            "invalid argument: '0': out of range: 1 <= value <= 9223372036854775807",
            1,
        ),
        (["-c", "abc", "h"], "invalid argument: 'abc'", 1),
        (["-c", "", "h"], "invalid argument: ''", 1),
        (["-c", "5x", "h"], "invalid argument: '5x'", 1),
        (["-s", "-1", "h"], "invalid argument: '-1': out of range: 0 <= value <= 2147483647", 1),
        (["-t", "256", "h"], "invalid argument: '256': out of range: 0 <= value <= 255", 1),
        (["-w", "0.1", "h"], "invalid argument: '0.1'", 1),
        (["-w", "abc", "h"], "invalid argument: 'abc'", 1),
        (["-i", "inf", "h"], "bad timing interval: inf: Numerical result out of range", 2),
        (["-i", "nan", "h"], "bad timing interval: nan: Numerical result out of range", 2),
        (["-i", "3000000", "h"], "bad timing interval: 3000000", 2),
        (["-W", "-1", "h"], "bad linger time: -1", 2),
        (["-W", "1e10", "h"], "bad linger time: 1e10", 2),
        (["-W", "inf", "h"], "bad linger time: inf: Numerical result out of range", 2),
        (["-4", "-6", "h"], "only one -4 or -6 option may be specified", 2),
        (["-Z", "h"], "invalid option -- 'Z'", 2),
        (["h", "-c"], "option requires an argument -- 'c'", 2),
        ([], "usage error: Destination address required", 1),
    ],
)
def test_validation(argv: list[str], message: str, status: int) -> None:
    assert error_of(*argv) == (message, status)


def test_options_and_target_interleave() -> None:
    args = parse_ping_args(["127.0.0.1", "-c", "3", "-i0.2", "-q"])
    assert (args.target, args.count, args.interval_ms, args.quiet) == ("127.0.0.1", 3, 200, True)


def test_interval_is_truncated_to_milliseconds() -> None:
    assert parse_ping_args(["-i", "0.0015", "h"]).interval_ms == 1


def test_interval_garbage_only_warns() -> None:
    args = parse_ping_args(["-i", "1.5abc", "h"])
    assert args.interval_ms == 1500
    assert [w.text for w in args.warnings] == [
        "option argument contains garbage: abc",
        "this will become fatal error in the future",
    ]


def test_interval_without_digits_is_zero_and_warns() -> None:
    args = parse_ping_args(["-i", "abc", "h"])
    assert args.interval_ms == 0 and args.warnings


def test_clustered_flags_and_double_dash() -> None:
    args = parse_ping_args(["-qnc2", "--", "-host"])
    assert (args.quiet, args.numeric, args.count, args.target) == (True, True, 2, "-host")


def test_unimplemented_letters_are_refused_not_ignored() -> None:
    message, status = error_of("-R", "h")
    assert status == 2 and "-R" in message


def test_help_and_version() -> None:
    assert parse_ping_args(["-h"]).help
    assert parse_ping_args(["-V"]).version
