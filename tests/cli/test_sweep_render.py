"""fping 5.1's lines, as ``pingsock sweep`` renders them (pure)."""

from __future__ import annotations

import json

import pytest

from pingsock.cli import json_sweep
from pingsock.cli.sweep_render import (
    GlobalStats,
    HostTally,
    alive_line,
    c_int,
    count_summary_line,
    duplicate_line,
    global_stats,
    icmp_error_line,
    loss_percent,
    name_error_line,
    progress_bar,
    reachable_line,
    reply_line,
    send_error_line,
    split_header,
    split_line,
    sprint_tm,
    timeout_line,
    unreachable_line,
    usage_text,
    vcount_line,
)

MS = 1_000_000


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0.000"),
        (14_000, "0.014"),
        (14_499, "0.014"),
        (14_500, "0.015"),
        (14_501, "0.015"),
        (999_499, "0.999"),
        (999_500, "1.000"),  # below 1 ms: "%.3f", which rounds up to 1.000
        (999_999, "1.000"),
        (1_000_000, "1.00"),
        (1_234_567, "1.23"),
        (9_994_999, "9.99"),
        (9_999_999, "10.00"),
        (10_000_000, "10.0"),
        (12_345_678, "12.3"),
        (99_960_000, "100.0"),
        (100_000_000, "100"),
        (123_456_789, "123"),
        (999_999_000_000, "999999"),
        (1_000_000 * MS, "1.000e+06"),
        (-5 * MS, "-5"),
        (-1_500_000, "-1.5"),
        (-123 * MS, "-1.2e+02"),
    ],
)
def test_sprint_tm(ns: int, text: str) -> None:
    assert sprint_tm(ns) == text


def test_sprint_tm_matches_c_printf() -> None:
    import ctypes

    libc = ctypes.CDLL(None)
    buf = ctypes.create_string_buffer(64)
    for ns in (1, 499, 500, 501, 1_499, 14_500, 995_000, 9_995_000, 99_950_000, 1_234_500_000):
        t = ns / 1e6
        fmt = b"%.3f" if t < 1 else b"%.2f" if t < 10 else b"%.1f" if t < 100 else b"%.0f"
        libc.snprintf(buf, 64, fmt, ctypes.c_double(t))
        assert sprint_tm(ns) == buf.value.decode(), ns


def test_c_int() -> None:
    assert c_int(5) == 5
    assert c_int(2**31) == -(2**31)
    assert c_int(3_000_000_000) == 3_000_000_000 - 2**32


@pytest.mark.parametrize(
    ("sent", "received", "loss"),
    [(0, 0, 0), (1, 1, 0), (3, 2, 33), (3, 1, 66), (3, 0, 100), (7, 6, 14), (100, 99, 1)],
)
def test_loss_percent(sent: int, received: int, loss: int) -> None:
    assert loss_percent(sent, received) == loss


def test_default_mode_lines() -> None:
    assert alive_line("127.0.0.1", verbose=True) == "127.0.0.1 is alive\n"
    assert alive_line("127.0.0.1", verbose=False) == "127.0.0.1\n"
    assert alive_line("::1", verbose=True, rtt_ns=31_000) == "::1 is alive (0.031 ms)\n"
    assert alive_line("x", verbose=False, rtt_ns=12 * MS) == "x (12.0 ms)\n"
    assert unreachable_line("192.0.2.1", verbose=True) == "192.0.2.1 is unreachable\n"
    assert unreachable_line("192.0.2.1", verbose=False) == "192.0.2.1\n"


def tally_of(*rtts: int | None) -> HostTally:
    tally = HostTally()
    for index, rtt in enumerate(rtts):
        if rtt is None:
            tally.lost(index)
        else:
            tally.reply(index, rtt)
    return tally


def test_reply_lines_pad_to_the_longest_name() -> None:
    tally = tally_of(20_000)
    assert (
        reply_line("127.0.0.1", 12, 0, 64, 20_000, tally=tally)
        == "127.0.0.1    : [0], 64 bytes, 0.020 ms (0.020 avg, 0% loss)\n"
    )
    tally.reply(1, 12_000)
    assert (
        reply_line("127.0.0.1", 9, 1, 64, 12_000, tally=tally)
        == "127.0.0.1 : [1], 64 bytes, 0.012 ms (0.016 avg, 0% loss)\n"
    )


def test_reply_line_after_a_loss() -> None:
    tally = tally_of(None, 2 * MS)
    assert (
        reply_line("h", 1, 1, 84, 2 * MS, tally=tally)
        == "h : [1], 84 bytes, 2.00 ms (2.00 avg, 50% loss)\n"
    )


def test_reply_line_with_timestamp() -> None:
    tally = tally_of(MS)
    line = reply_line("h", 1, 0, 64, MS, tally=tally, timestamp=1700000000.123456)
    assert line == "[1700000000.12346] h : [0], 64 bytes, 1.00 ms (1.00 avg, 0% loss)\n"


def test_timeout_lines() -> None:
    assert (
        timeout_line("192.0.2.3", 10, 0, tally_of(None))
        == "192.0.2.3  : [0], timed out (NaN avg, 100% loss)\n"
    )
    assert (
        timeout_line("h", 1, 2, tally_of(MS, 3 * MS, None))
        == "h : [2], timed out (2.00 avg, 33% loss)\n"
    )


def test_duplicate_line() -> None:
    assert duplicate_line("h", 3, 64, 50_000) == "h : duplicate for [3], 64 bytes, 0.050 ms\n"


def test_count_summary() -> None:
    assert (
        count_summary_line("127.0.0.1", 12, tally_of(20_000, 12_000))
        == "127.0.0.1    : xmt/rcv/%loss = 2/2/0%, min/avg/max = 0.012/0.016/0.020\n"
    )
    assert (
        count_summary_line("198.51.100.7", 12, tally_of(None, None))
        == "198.51.100.7 : xmt/rcv/%loss = 2/0/100%\n"
    )
    assert count_summary_line("h", 1, HostTally()) == "h : xmt/rcv/%loss = 0/0/0%\n"


def test_count_summary_outage() -> None:
    line = count_summary_line("h", 1, tally_of(MS, None, None), outage_period_ns=20 * MS)
    assert line == "h : xmt/rcv/%loss = 3/1/66%, outage(ms) = 40, min/avg/max = 1.00/1.00/1.00\n"


def test_count_summary_average_is_a_c_int() -> None:
    # fping keeps the average in an int: above 2.147 s it wraps (and prints as negative)
    tally = tally_of(3000 * MS)
    assert count_summary_line("h", 1, tally).endswith("min/avg/max = 3000/-1.3e+03/3000\n")


def test_split_reports_count_since_the_last_one() -> None:
    tally = tally_of(MS, None, 3 * MS)
    assert split_header(9, 5, 3) == "[09:05:03]\n"
    assert (
        split_line("h", 3, tally, outage_period_ns=100 * MS)
        == "h   : xmt/rcv/%loss = 3/2/33%, outage(ms) = 100, min/avg/max = 1.00/2.00/3.00\n"
    )
    tally.reset_split()
    assert split_line("h", 1, tally) == "h : xmt/rcv/%loss = 0/0/0%\n"
    tally.reply(3, 5 * MS)
    assert split_line("h", 1, tally) == "h : xmt/rcv/%loss = 1/1/0%, min/avg/max = 5.00/5.00/5.00\n"
    assert count_summary_line("h", 1, tally).startswith("h : xmt/rcv/%loss = 4/3/25%")


def test_vcount() -> None:
    assert vcount_line("127.0.0.1", 12, [120_000, 193_000]) == "127.0.0.1    : 0.120 0.193\n"
    assert vcount_line("192.0.2.1", 9, [None, None]) == "192.0.2.1 : - -\n"
    assert vcount_line("h", 1, [None, 5 * MS, None]) == "h : - 5.00 -\n"


def test_global_stats_block() -> None:
    stats = GlobalStats(targets=2, alive=1, unreachable=1, sent=2, received=1)
    stats.reply(24_000)
    stats.elapsed_ns = 10_400_000
    assert global_stats(stats) == (
        "\n"
        "       2 targets\n"
        "       1 alive\n"
        "       1 unreachable\n"
        "       0 unknown addresses\n"
        "\n"
        "       0 timeouts (waiting for response)\n"
        "       2 ICMP Echos sent\n"
        "       1 ICMP Echo Replies received\n"
        "       0 other ICMP received\n"
        "\n"
        " 0.024 ms (min round trip time)\n"
        " 0.024 ms (avg round trip time)\n"
        " 0.024 ms (max round trip time)\n"
        "        0.010 sec (elapsed real time)\n"
        "\n"
    )


def test_global_stats_without_replies() -> None:
    text = global_stats(GlobalStats(targets=1, unreachable=1, timeouts=4, sent=4))
    assert " 0.000 ms (avg round trip time)\n" in text
    assert "       4 timeouts (waiting for response)\n" in text


def test_global_stats_average() -> None:
    stats = GlobalStats()
    for rtt in (1 * MS, 2 * MS, 4 * MS):
        stats.reply(rtt)
    text = global_stats(stats)
    assert " 1.00 ms (min round trip time)\n 2.33 ms (avg round trip time)\n" in text
    assert " 4.00 ms (max round trip time)\n" in text


@pytest.mark.parametrize(
    ("kind", "code", "text"),
    [
        (3, 0, "ICMP Network Unreachable"),
        (3, 1, "ICMP Host Unreachable"),
        (3, 3, "ICMP Port Unreachable"),
        (3, 4, "ICMP Unreachable (Fragmentation Needed)"),
        (3, 13, "ICMP Unreachable (Communication Administratively Prohibited)"),
        (3, 15, "ICMP Unreachable (Precedence cutoff in effect)"),
        (3, 16, "ICMP Unreachable (Invalid Code)"),
        (11, 0, "ICMP Time Exceeded"),
        (12, 0, "ICMP Parameter Problem"),
        (4, 0, "ICMP Source Quench"),
        (5, 1, "ICMP Redirect"),
    ],
)
def test_icmp_error_lines(kind: int, code: int, text: str) -> None:
    assert (
        icmp_error_line(kind, code, "198.51.100.254", "192.0.2.1")
        == f"{text} from 198.51.100.254 for ICMP Echo sent to 192.0.2.1\n"
    )


def test_icmp_types_fping_ignores() -> None:
    assert icmp_error_line(0, 0, "a", "b") == ""
    assert icmp_error_line(13, 0, "a", "b") == ""


def test_other_lines() -> None:
    assert (
        send_error_line("192.0.2.1", "Network is unreachable")
        == "192.0.2.1: error while sending ping: Network is unreachable\n"
    )
    assert (
        name_error_line("x.invalid", "Name or service not known")
        == "x.invalid: Name or service not known\n"
    )
    assert reachable_line(2, 1) == "Not enough hosts reachable (required: 2, reachable: 1)\n"
    assert reachable_line(1, 1) == "Enough hosts reachable (required: 1, reachable: 1)\n"


def test_progress_bar() -> None:
    assert progress_bar(0, 10, 0) == "\r[                    ] 0/10 alive 0"
    assert progress_bar(5, 10, 3) == "\r[##########          ] 5/10 alive 3"
    assert progress_bar(10, 10, 10) == "\r[####################] 10/10 alive 10"
    assert progress_bar(1234, 65534, 1000, width=10) == "\r[          ] 1234/65534 alive 1000"


def test_usage_for_errors_is_fpings_and_for_help_only_what_works() -> None:
    exact = usage_text()
    assert exact.startswith("Usage: fping [options] [targets...]\n\nProbing options:\n")
    assert "(in loop and count modes, default: 1000 ms)" in exact
    assert "   -l, --loop         loop mode: send pings forever\n" in exact
    assert exact.endswith("   -x, --reachable=N  shows if >=N hosts are reachable or not\n")
    assert len(exact.splitlines()) == 43
    help_text = usage_text(20, 30, 1, exact=False)
    assert "-l, --loop" not in help_text and "-S, --src" not in help_text
    assert "--json" in help_text and "(default: 30 ms," in help_text
    assert "(default: 1 ms)" in help_text


# -- --json ---------------------------------------------------------------------------------------


def test_json_lines() -> None:
    reply = json.loads(
        json_sweep.reply_line(
            "h", "127.0.0.1", 2, size=64, ttl=64, rtt_ns=21_000, duplicate=False, timestamp=1.5
        )
    )
    assert reply == {
        "type": "reply",
        "host": "h",
        "address": "127.0.0.1",
        "seq": 2,
        "bytes": 64,
        "ttl": 64,
        "rtt_ms": 0.021,
        "duplicate": False,
        "timestamp": 1.5,
    }
    lost = json.loads(json_sweep.lost_line("h", "a", 1, timestamp=2.0))
    assert list(lost) == ["type", "host", "address", "seq", "timestamp"]
    local = json.loads(
        json_sweep.error_line(
            "h", "a", 0, source="", icmp_type=-1, icmp_code=101, text="x", timestamp=0.0
        )
    )
    assert local["errno"] == "ENETUNREACH" and local["icmp_type"] is None
    remote = json.loads(
        json_sweep.error_line(
            "h", "a", 0, source="r", icmp_type=3, icmp_code=1, text="y", timestamp=0.0
        )
    )
    assert (remote["icmp_type"], remote["icmp_code"], remote["errno"]) == (3, 1, None)
    host = json.loads(
        json_sweep.host_line(
            "h", "a", sent=3, received=2, duplicates=0, errors=0, rtts=[MS, None, 2 * MS]
        )
    )
    assert host["loss_percent"] == 33 and host["rtt"] == {"min": 1.0, "avg": 1.5, "max": 2.0}
    assert host["rtts"] == [1.0, None, 2.0] and host["alive"]
    none = json.loads(
        json_sweep.host_line("h", None, sent=0, received=0, duplicates=0, errors=0, rtts=[])
    )
    assert none["rtt"] is None and none["loss_percent"] == 0 and not none["alive"]
    summary = json.loads(
        json_sweep.summary_line(
            targets=1,
            alive=1,
            unreachable=0,
            unknown=0,
            sent=1,
            received=1,
            timeouts=0,
            other_icmp=0,
            elapsed_ns=1_500_000,
            exit_status=0,
        )
    )
    assert summary["elapsed_ms"] == 1.5 and summary["exit_status"] == 0
    failed = json_sweep.resolve_failed_line("x", "Name or service not known")
    assert failed.endswith("\n") and json.loads(failed)["type"] == "resolve_failed"
