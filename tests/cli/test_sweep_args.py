"""``pingsock sweep`` argument parsing: fping 5.1's optparse, C conversions and checks."""

from __future__ import annotations

import pytest

from pingsock.cli.sweep_args import (
    AF_INET,
    AF_INET6,
    SweepArgs,
    SweepExit,
    c_atoi,
    dotted,
    file_line_targets,
    generate_targets,
    parse_ipv4_numeric,
    parse_sweep_args,
    scan_float,
    scan_int,
    scan_unsigned,
)

SEE = "see 'fping -h' for usage information\n"


def fails(argv: list[str]) -> SweepExit:
    with pytest.raises(SweepExit) as info:
        args = parse_sweep_args(argv)
        if args.generate:
            generate_targets(args)
    return info.value


# -- C conversions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("  42", 42),
        ("+7", 7),
        ("-1", -1),
        ("12abc", 12),
        ("abc", 0),
        ("", 0),
        ("4294967296", 0),  # (int) of a long: the low 32 bits
        ("2147483648", -(2**31)),
        ("99999999999999999999", -1),  # strtol clamps to LONG_MAX, then (int)
    ],
)
def test_c_atoi(text: str, value: int) -> None:
    assert c_atoi(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        (" 10", 10),
        ("-1", 4294967295),
        ("5x", 5),
        ("x5", None),
        ("", None),
        ("4294967296", 0),
    ],
)
def test_scan_unsigned(text: str, value: int | None) -> None:
    assert scan_unsigned(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("16", 16),
        ("0x10", 16),
        ("0X1f", 31),
        ("010", 8),
        ("0", 0),
        ("-3", -3),
        ("abc", None),
        ("0x", 0),
        ("09", 0),  # octal stops at the 9
    ],
)
def test_scan_int(text: str, value: int | None) -> None:
    assert scan_int(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("50", 50.0),
        ("0.5", 0.5),
        ("1e2", 100.0),
        (".25", 0.25),
        ("7ms", 7.0),
        ("-1", -1.0),
        ("0x10", 16.0),
        ("inf", float("inf")),
        ("abc", None),
        ("", None),
    ],
)
def test_scan_float(text: str, value: float | None) -> None:
    assert scan_float(text) == value


def test_scan_float_is_single_precision() -> None:
    assert scan_float("0.1") == pytest.approx(0.1, abs=1e-8)
    assert scan_float("0.1") != 0.1


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.2.3.4", 0x01020304),
        ("127.1", 0x7F000001),
        ("10", 10),
        ("1.2.3", 0x01020003),
        ("0x7f.1", 0x7F000001),
        ("010.0.0.1", 0x08000001),
        ("255.255.255.255", 0xFFFFFFFF),
        ("256.1.1.1", None),
        ("1.2.3.4.5", None),
        ("1..2", None),
        ("foo", None),
        ("1.2.3.4 ", None),
        ("08.1.1.1", None),
        ("", None),
    ],
)
def test_parse_ipv4_numeric(text: str, value: int | None) -> None:
    assert parse_ipv4_numeric(text) == value


# -- options --------------------------------------------------------------------------------------


def test_defaults() -> None:
    args = parse_sweep_args(["127.0.0.1"])
    assert args == SweepArgs(targets=["127.0.0.1"])
    assert args.verbose and not args.quiet and args.count is None
    assert (args.timeout_ns, args.interval_ns, args.period_ns) == (500e6, 10e6, 1000e6)


def test_operands_are_permuted_after_options() -> None:
    args = parse_sweep_args(["a", "-q", "b", "-c", "3", "c"])
    assert args.targets == ["a", "b", "c"] and args.quiet and args.count == 3


def test_double_dash_ends_options() -> None:
    args = parse_sweep_args(["a", "--", "-q", "b"])
    assert args.targets == ["a", "-q", "b"] and not args.quiet


def test_lone_dash_is_an_operand() -> None:
    assert parse_sweep_args(["-"]).targets == ["-"]


def test_clusters_and_attached_values() -> None:
    args = parse_sweep_args(["-aesc3", "-t50", "-p", "20", "x"])
    assert args.count == 3 and args.stats and args.elapsed
    assert args.timeout_ns == 50_000_000 and args.period_ns == 20_000_000
    # count mode clears -a (as fping does)
    assert not args.alive and not args.verbose and not args.per_recv


def test_value_may_look_like_an_option() -> None:
    args = parse_sweep_args(["-f", "-q"])
    assert args.file == "-q" and not args.quiet


def test_long_options() -> None:
    args = parse_sweep_args(["--count=2", "--period", "30", "--stats", "--ipv6", "x"])
    assert args.count == 2 and args.period_ns == 30_000_000 and args.stats
    assert args.family == AF_INET6


def test_count_mode_autotunes_the_timeout() -> None:
    assert parse_sweep_args(["-c", "1", "x"]).timeout_ns == 1000 * 10**6
    assert parse_sweep_args(["-c", "1", "-p", "3000", "x"]).timeout_ns == 2000 * 10**6
    assert parse_sweep_args(["-c", "1", "-p", "20", "x"]).timeout_ns == 20 * 10**6
    assert parse_sweep_args(["-c", "1", "-p", "20", "-t", "70", "x"]).timeout_ns == 70 * 10**6
    assert parse_sweep_args(["-t", "70", "x"]).timeout_ns == 70 * 10**6


def test_vcount_sets_report_all_and_per_recv() -> None:
    args = parse_sweep_args(["-C", "2", "x"])
    assert args.count == 2 and args.report_all and args.per_recv
    quiet = parse_sweep_args(["-C", "2", "-q", "x"])
    assert quiet.report_all and not quiet.per_recv


def test_alive_unreachable_quiet_clear_verbose() -> None:
    assert not parse_sweep_args(["-a", "x"]).verbose
    assert not parse_sweep_args(["-u", "x"]).verbose
    assert not parse_sweep_args(["-x", "1", "x"]).verbose
    assert parse_sweep_args(["-q", "x"]).quiet


def test_no_target_means_stdin() -> None:
    assert parse_sweep_args([]).file == "-"
    assert parse_sweep_args(["-q"]).file == "-"


def test_family_and_values() -> None:
    args = parse_sweep_args(["-4", "-H", "7", "-O", "0x10", "-b", "100", "-r", "1", "x"])
    assert args.family == AF_INET and args.ttl == 7 and args.tos == 16
    assert args.size == 100 and args.retry == 1
    assert parse_sweep_args(["-B", "2.5", "x"]).backoff == 2.5


def test_squiet() -> None:
    args = parse_sweep_args(["-Q", "2.5", "-c", "3", "x"])
    assert args.quiet and not args.verbose and not args.per_recv
    assert args.report_interval_ns == 2_500_000_000


def test_names_and_addresses() -> None:
    args = parse_sweep_args(["-A", "-m", "-n", "x"])
    assert args.addresses and args.every_address and args.names and not args.rdns


def test_ignored_T() -> None:
    assert parse_sweep_args(["-T", "5", "x"]).targets == ["x"]


def test_json_switch() -> None:
    args = parse_sweep_args(["--json", "-c", "1", "x"])
    assert args.json and args.count == 1
    assert parse_sweep_args(["--", "--json"]).targets == ["--json"]


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        (["-Z"], "fping: invalid option -- 'Z'\n" + SEE),
        (["-x"], "fping: option requires an argument -- 'x'\n" + SEE),
        (["--foo"], "fping: invalid option -- 'foo'\n" + SEE),
        (["--foo=1"], "fping: invalid option -- 'foo=1'\n" + SEE),
        (["--alive=3"], "fping: option takes no arguments -- 'alive'\n" + SEE),
        (["--count"], "fping: option requires an argument -- 'count'\n" + SEE),
        (["-4", "-6"], "fping: can't specify both -4 and -6\n"),
        (["-a", "-u", "x"], "fping: specify only one of a, u\n"),
        (["-H", "300", "-a", "-u", "x"], "fping: ttl 300 out of range\n"),
        (["-H", "-1", "x"], "fping: ttl 4294967295 out of range\n"),
        (["-b", "70000", "x"], "fping: data size 70000 not valid, must be lower than 65488\n"),
        (["-B", "7", "x"], "fping: backoff factor 7.0 not valid, must be between 1.0 and 5.0\n"),
        (["-B", "0.5", "x"], "fping: backoff factor 0.5 not valid, must be between 1.0 and 5.0\n"),
        (["-g", "foo/24"], "fping, can't parse address foo: Name or service not known\n"),
        (["-g", "::1/64"], "fping: -g works only with IPv4 addresses\n"),
        (["-g", "1.2.3.0/0"], "fping: netmask must be between 1 and 32 (is: 0)\n"),
        (["-g", "1.2.3.0/33x"], "fping: netmask must be between 1 and 32 (is: 33x)\n"),
        (["-g", "1.2.3.0/"], "fping: netmask must be between 1 and 32 (is: )\n"),
        (["-g", "1.0.0.0", "2.0.0.0"], "fping: -g parameter generates too many addresses\n"),
        (["-g", "1.2.3.4", "::1"], "fping: -g works only with IPv4 addresses\n"),
        (["-g", "1.2.3.4", "x"], "fping: can't parse address x: Name or service not known\n"),
        (["-l", "x"], "fping: option -l is not supported by pingsock sweep\n"),
        (["-n", "-d", "x"], "fping: use either one of -d or -n\n"),
        (["-d", "-n", "x"], "fping: use either one of -d or -n\n"),
    ],
)
def test_messages(argv: list[str], stderr: str) -> None:
    exc = fails(argv)
    assert (exc.status, exc.stdout, exc.stderr) == (1, "", stderr)


@pytest.mark.parametrize(
    "argv",
    [
        ["-c", "0", "x"],
        ["-c", "x", "x"],
        ["-C", "0", "x"],
        ["-t", "abc", "x"],
        ["-t", "-5", "x"],
        ["-i", "-1", "x"],
        ["-p", "nan", "x"],
        ["-r", "abc", "x"],
        ["-b", "x", "x"],
        ["-B", "0", "x"],
        ["-H", "0", "x"],
        ["-x", "0", "x"],
        ["-O", "abc", "x"],
        ["-g"],
        ["-g", "1.2.3.4"],
        ["-g", "a", "b", "c"],
        ["-f", "x", "y"],
        ["-f", "x", "-g", "y"],
    ],
)
def test_usage_errors_print_the_usage_on_stderr(argv: list[str]) -> None:
    exc = fails(argv)
    assert exc.status == 1 and exc.stdout == ""
    assert exc.stderr.startswith("Usage: fping [options] [targets...]\n\nProbing options:\n")


def test_help_goes_to_stdout_with_status_0() -> None:
    exc = fails(["-h"])
    assert exc.status == 0 and exc.stderr == "" and exc.stdout.startswith("Usage: fping")
    # the defaults shown are the values given so far
    exc = fails(["-p", "50", "-t", "70", "-h", "x"])
    assert "(in loop and count modes, default: 50 ms)" in exc.stdout
    assert "initial timeout (default: 70 ms," in exc.stdout


def test_version() -> None:
    exc = fails(["-v"])
    assert exc.status == 0 and exc.stdout.startswith("fping: Version 5.1")


def test_first_error_wins_in_order() -> None:
    # -v is handled when met, before the checks that follow the option loop
    assert fails(["-a", "-u", "-v"]).status == 0
    assert fails(["-Z", "-v"]).stderr.startswith("fping: invalid option")


# -- targets --------------------------------------------------------------------------------------


def bounds(argv: list[str]) -> tuple[str, str]:
    first, last = generate_targets(parse_sweep_args(argv))
    return dotted(first), dotted(last)


def test_generate_cidr() -> None:
    assert bounds(["-g", "192.0.2.0/24"]) == ("192.0.2.1", "192.0.2.254")
    assert bounds(["-g", "192.0.2.77/24"]) == ("192.0.2.1", "192.0.2.254")
    assert bounds(["-g", "192.0.2.4/31"]) == ("192.0.2.4", "192.0.2.5")
    assert bounds(["-g", "192.0.2.4/32"]) == ("192.0.2.4", "192.0.2.4")
    assert bounds(["-g", "10.0.0.0/16"]) == ("10.0.0.1", "10.0.255.254")
    assert bounds(["-g", "127.1/30"]) == ("127.0.0.1", "127.0.0.2")


def test_generate_range() -> None:
    assert bounds(["-g", "127.0.0.1", "127.0.0.5"]) == ("127.0.0.1", "127.0.0.5")
    first, last = generate_targets(parse_sweep_args(["-g", "127.0.0.5", "127.0.0.1"]))
    assert last < first  # nothing: fping exits 1 silently
    first, last = generate_targets(parse_sweep_args(["-g", "10.0.0.0", "10.1.134.160"]))
    assert last - first == 100000


def test_dotted() -> None:
    assert dotted(0) == "0.0.0.0"
    assert dotted(0xC0000201) == "192.0.2.1"


def test_file_lines() -> None:
    lines = ["127.0.0.1\n", "  ::1  trailing words\n", "\n", "# comment\n", "#x\n", "a b\n"]
    assert list(file_line_targets(lines)) == ["127.0.0.1", "::1", "a"]


def test_file_lines_are_read_131_characters_at_a_time() -> None:
    line = "a" * 140 + "\n"
    assert list(file_line_targets([line])) == ["a" * 131, "a" * 9]
