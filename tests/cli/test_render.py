"""Golden text of iputils 20221126 (shared/spec/iputils-ping.md sections 3 and 4)."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingsock.cli.render import (
    FLOOD_SENT,
    OptionsPrinter,
    Output,
    RenderOptions,
    exit_status,
    header_v4,
    header_v6,
    icmp_error_line,
    icmp_error_text,
    local_error,
    no_answer_yet_line,
    pattern_line,
    pr_addr,
    reply_line,
    send_error,
    statistics,
    status_line,
    timestamp_prefix,
    wrong_data_dump,
)
from pingsock.events import IcmpError, LocalError, NoAnswerYet, Reply
from pingsock.stats import PingStats, StatsAccumulator

V4 = "203.0.113.1"
DEFAULT = RenderOptions()
NUMERIC = RenderOptions(numeric=True)
AT_NS = 1_700_000_000_000_123_456  # -D prints [1700000000.000123]


def reply(
    seq: int = 1,
    rtt_us: int | None = 28,
    *,
    source: str = V4,
    size: int = 64,
    ttl: int | None = 63,
    duplicate: bool = False,
    truncated: bool = False,
) -> Reply:
    return Reply(seq, source, size, ttl, rtt_us, duplicate, truncated, AT_NS)


def feed(times: list[int], lost: int = 0) -> StatsAccumulator:
    """Lockstep pings (pipe 1) answered in `times`, then `lost` unanswered probes."""
    acc = StatsAccumulator()
    for seq, t in enumerate(times, 1):
        acc.sent()
        acc.reply(seq, t, duplicate=False)
    for _ in range(lost):
        acc.sent()
    return acc


# -- complete golden --------------------------------------------------------------------------

GOLDEN_01 = """\
PING 203.0.113.1 (203.0.113.1) 56(84) bytes of data.
64 bytes from 203.0.113.1: icmp_seq=1 ttl=63 time=0.028 ms
64 bytes from 203.0.113.1: icmp_seq=2 ttl=63 time=0.023 ms
64 bytes from 203.0.113.1: icmp_seq=3 ttl=63 time=0.026 ms

--- 203.0.113.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 2045ms
rtt min/avg/max/mdev = 0.023/0.025/0.028/0.002 ms
"""


def test_golden_01_normal_v4_dgram() -> None:
    acc = StatsAccumulator()
    out = [header_v4(V4, V4, NUMERIC)]
    for seq, t in enumerate([28, 23, 26], 1):
        acc.sent()
        acc.reply(seq, t, duplicate=False)
        out.append(reply_line(reply(seq, t), pr_addr(V4, None, numeric=True), NUMERIC))
    out.append(statistics(acc.snapshot(), V4, 2_045_000_000, NUMERIC))
    assert "".join(out) == GOLDEN_01
    assert exit_status(3, deadline=False, count=3) == 0


# -- names, headers, pattern ------------------------------------------------------------------


def test_pr_addr() -> None:
    assert pr_addr(V4, "server.rp.test", numeric=True) == V4
    assert pr_addr(V4, "server.rp.test", numeric=False) == "server.rp.test (203.0.113.1)"
    # Debian 20221126: a failed PTR lookup shows the number twice
    assert pr_addr(V4, None, numeric=False) == "203.0.113.1 (203.0.113.1)"


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [
        ((V4, V4), {}, "PING 203.0.113.1 (203.0.113.1) 56(84) bytes of data.\n"),
        (("server.rp.test", V4), {}, "PING server.rp.test (203.0.113.1) 56(84) bytes of data.\n"),
        (("", "127.0.0.1"), {}, "PING  (127.0.0.1) 56(84) bytes of data.\n"),
        ((V4, V4), {"optlen": 40}, "PING 203.0.113.1 (203.0.113.1) 56(124) bytes of data.\n"),
        (
            (V4, V4),
            {"source": "198.51.100.1", "device": "c0"},
            "PING 203.0.113.1 (203.0.113.1) from 198.51.100.1 c0: 56(84) bytes of data.\n",
        ),
        (
            (V4, V4),
            {"source": "198.51.100.1"},
            "PING 203.0.113.1 (203.0.113.1) from 198.51.100.1 : 56(84) bytes of data.\n",
        ),
    ],
)
def test_header_v4(args: tuple[str, str], kwargs: dict[str, object], text: str) -> None:
    assert header_v4(*args, DEFAULT, **kwargs) == text  # type: ignore[arg-type]


def test_header_v4_datalen() -> None:
    assert header_v4(V4, V4, RenderOptions(datalen=0)).endswith(" 0(28) bytes of data.\n")


def test_header_v6() -> None:
    v6 = "2001:db8:2::1"
    assert header_v6(v6, v6, DEFAULT) == "PING 2001:db8:2::1(2001:db8:2::1) 56 data bytes\n"
    named = pr_addr(v6, "server6.rp.test", numeric=False)
    assert (
        header_v6("server6.rp.test", named, DEFAULT)
        == "PING server6.rp.test(server6.rp.test (2001:db8:2::1)) 56 data bytes\n"
    )
    assert (
        header_v6(v6, v6, DEFAULT, source="2001:db8:1::1", device="c0")
        == "PING 2001:db8:2::1(2001:db8:2::1) from 2001:db8:1::1 c0: 56 data bytes\n"
    )
    assert (
        header_v6("::1", "::1", DEFAULT, flowlabel=0x3039)
        == "PING ::1(::1) , flow 0x03039, 56 data bytes\n"
    )


def test_pattern_line() -> None:
    assert pattern_line(b"\xff\x00", DEFAULT) == "PATTERN: 0xff00\n"
    assert pattern_line(b"\xab\x0c", DEFAULT) == "PATTERN: 0xab0c\n"
    assert pattern_line(b"\xff", RenderOptions(quiet=True)) == ""


# -- reply lines ------------------------------------------------------------------------------


def test_reply_line_with_name() -> None:
    shown = pr_addr(V4, "server.rp.test", numeric=False)
    assert (
        reply_line(reply(rtt_us=52927), shown, DEFAULT)
        == "64 bytes from server.rp.test (203.0.113.1): icmp_seq=1 ttl=63 time=52.9 ms\n"
    )


def test_reply_line_untimed_small_payload() -> None:
    # 57_size_s0
    opts = RenderOptions(datalen=0)
    assert reply_line(reply(size=8, rtt_us=None), V4, opts) == (
        "8 bytes from 203.0.113.1: icmp_seq=1 ttl=63\n"
    )


def test_reply_line_without_ttl_cmsg() -> None:
    assert (
        reply_line(reply(ttl=None), V4, DEFAULT)
        == "64 bytes from 203.0.113.1: icmp_seq=1 time=0.028 ms\n"
    )


def test_reply_line_truncated_has_no_time_and_no_decorations() -> None:
    opts = RenderOptions(audible=True)
    assert reply_line(reply(size=40, truncated=True, duplicate=True), V4, opts) == (
        "40 bytes from 203.0.113.1: icmp_seq=1 ttl=63 (truncated)\n"
    )


def test_reply_line_dup() -> None:
    line = reply_line(reply(duplicate=True), V4, DEFAULT)
    assert line == "64 bytes from 203.0.113.1: icmp_seq=1 ttl=63 time=0.028 ms (DUP!)\n"
    # broadcast/multicast: DUP! only with -v
    assert "(DUP!)" not in reply_line(reply(duplicate=True), V4, RenderOptions(multicast=True))
    verbose_mc = RenderOptions(multicast=True, verbose=True)
    assert "(DUP!)" in reply_line(reply(duplicate=True), V4, verbose_mc)


def test_reply_line_every_decoration_in_order() -> None:
    opts = RenderOptions(timestamps=True, audible=True, verbose=True, ident=4660)
    line = reply_line(
        reply(duplicate=True),
        V4,
        opts,
        different_address=True,
        wrong_data="<dump>",
        ip_options="<opts>",
    )
    assert line == (
        "[1700000000.000123] 64 bytes from 203.0.113.1: icmp_seq=1 ident=4660 ttl=63 "
        "time=0.028 ms (DUP!) (DIFFERENT ADDRESS!)<dump>\a<opts>\n"
    )


def test_reply_line_ident_needs_verbose_and_a_known_ident() -> None:
    assert "ident=" not in reply_line(reply(), V4, RenderOptions(ident=7))
    assert "ident=" not in reply_line(reply(), V4, RenderOptions(verbose=True))


def test_reply_line_bad_checksum_is_never_dup() -> None:
    line = reply_line(reply(duplicate=True), V4, DEFAULT, corrupted=True)
    assert line == "64 bytes from 203.0.113.1: icmp_seq=1 ttl=63 time=0.028 ms (BAD CHECKSUM!)\n"


def test_reply_line_quiet_and_flood() -> None:
    assert reply_line(reply(), V4, RenderOptions(quiet=True)) == ""
    assert reply_line(reply(), V4, RenderOptions(flood=True)) == "\b \b"
    assert reply_line(reply(), V4, RenderOptions(flood=True, audible=True)) == "\b \b\a"
    assert reply_line(reply(), V4, RenderOptions(flood=True), corrupted=True) == "\bC"
    assert FLOOD_SENT == "."


def test_reply_line_seq_wraps_16_bits() -> None:
    assert "icmp_seq=0 " in reply_line(reply(seq=65536), V4, DEFAULT)


def test_wrong_data_golden() -> None:
    # 64_wrong_data
    expected = bytes(range(56))
    data = bytearray(expected)
    data[20] = 0xEB
    line = reply_line(
        reply(rtt_us=265, source="100.64.1.14", ttl=64),
        "100.64.1.14",
        DEFAULT,
        wrong_data=wrong_data_dump(bytes(data), expected),
    )
    assert line == (
        "64 bytes from 100.64.1.14: icmp_seq=1 ttl=64 time=0.265 ms\n"
        "wrong data byte #20 should be 0x14 but was 0xeb\n"
        "#16\t10 11 12 13 eb 15 16 17 18 19 1a 1b 1c 1d 1e 1f "
        "20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f \n"
        "#48\t30 31 32 33 34 35 36 37 \n"
    )


def test_wrong_data_ignores_the_stamp_area() -> None:
    expected = bytes(range(56))
    assert wrong_data_dump(b"\xff" * 16 + expected[16:], expected) == ""
    assert wrong_data_dump(expected, expected) == ""


# -- IPv4 option blocks -----------------------------------------------------------------------

ROUTE = ["198.51.100.1", "203.0.113.254", V4, V4, "198.51.100.254", "198.51.100.1"]


def rr_option(addresses: list[str], slots: int = 9) -> bytes:
    raw = b"".join(bytes(int(p) for p in a.split(".")) for a in addresses)
    raw += bytes(4 * (slots - len(addresses)))
    return bytes([7, 3 + 4 * slots, 4 + 4 * len(addresses)]) + raw + b"\x00"


def test_record_route_golden() -> None:
    # 40_record_route_R_dgram
    printer = OptionsPrinter()
    first = reply_line(reply(1, 26), V4, DEFAULT, ip_options=printer.render(rr_option(ROUTE)))
    second = reply_line(reply(2, 46), V4, DEFAULT, ip_options=printer.render(rr_option(ROUTE)))
    assert first + second == (
        "64 bytes from 203.0.113.1: icmp_seq=1 ttl=63 time=0.026 ms\n"
        "RR: \t198.51.100.1\n"
        "\t203.0.113.254\n"
        "\t203.0.113.1\n"
        "\t203.0.113.1\n"
        "\t198.51.100.254\n"
        "\t198.51.100.1\n"
        "\n"
        "64 bytes from 203.0.113.1: icmp_seq=2 ttl=63 time=0.046 ms\t(same route)\n"
    )


def test_record_route_names_and_empty_slots() -> None:
    printer = OptionsPrinter()
    option = bytes([7, 11, 12]) + bytes([203, 0, 113, 1]) + bytes(4) + b"\x00"
    text = printer.render(option, lambda a: pr_addr(a, "server.rp.test", numeric=False))
    assert text == "\nRR: \tserver.rp.test (203.0.113.1)\n\t0.0.0.0\n"


def test_record_route_change_prints_again() -> None:
    printer = OptionsPrinter()
    printer.render(rr_option(ROUTE))
    assert printer.render(rr_option(ROUTE[:5])).startswith("\nRR: ")


def test_timestamp_tsonly_golden() -> None:
    # 41_ts_tsonly_dgram: first stamp absolute, then deltas
    stamps = [53041568] * 6 + [0] * 3
    option = bytes([68, 40, 5 + 4 * 6, 0]) + b"".join(s.to_bytes(4, "big") for s in stamps)
    line = reply_line(reply(), V4, DEFAULT, ip_options=OptionsPrinter().render(option))
    assert line == (
        "64 bytes from 203.0.113.1: icmp_seq=1 ttl=63 time=0.028 ms\n"
        "TS: \t53041568 absolute\n\t0\n\t0\n\t0\n\t0\n\t0\n\n"
    )


def test_timestamp_tsandaddr_not_standard_and_unrecorded_hops() -> None:
    entries = [
        bytes([198, 51, 100, 1]) + (53041568).to_bytes(4, "big"),
        bytes([203, 0, 113, 1]) + (53041570).to_bytes(4, "big"),
        bytes([203, 0, 113, 2]) + (0x80000010).to_bytes(4, "big"),
        bytes([203, 0, 113, 3]) + (0x80000013).to_bytes(4, "big"),
    ]
    option = bytes([68, 36, 5 + 8 * 4, 0x21]) + b"".join(entries)
    assert OptionsPrinter().render(option) == (
        "\nTS: \t198.51.100.1\t53041568 absolute\n"
        "\t203.0.113.1\t2\n"
        "\t203.0.113.2\t16 absolute not-standard\n"
        "\t203.0.113.3\t3 not-standard\n"
        "Unrecorded hops: 2\n"
    )


def test_other_options() -> None:
    printer = OptionsPrinter()
    assert printer.render(b"\x01\x00") == "\nNOP"
    assert printer.render(bytes([0x94, 4, 0, 0])) == "\nunknown option 94"
    lsrr = bytes([131, 7, 4, 198, 51, 100, 1, 0])
    # iputils reads the addresses from the pointer byte on (one byte early)
    assert printer.render(lsrr) == "\nLSRR: \t4.198.51.100\n"
    assert printer.render(bytes([7, 1, 4])) == ""  # impossible length stops the walk
    assert printer.render(b"") == ""


# -- ICMP errors ------------------------------------------------------------------------------

V4_UNREACH = [
    "Destination Net Unreachable",
    "Destination Host Unreachable",
    "Destination Protocol Unreachable",
    "Destination Port Unreachable",
    "Frag needed and DF set (mtu = 1400)",
    "Source Route Failed",
    "Destination Net Unknown",
    "Destination Host Unknown",
    "Source Host Isolated",
    "Destination Net Prohibited",
    "Destination Host Prohibited",
    "Destination Net Unreachable for Type of Service",
    "Destination Host Unreachable for Type of Service",
    "Packet filtered",
    "Precedence Violation",
    "Precedence Cutoff",
    "Dest Unreachable, Bad Code: 16",
]


@pytest.mark.parametrize(("code", "text"), list(enumerate(V4_UNREACH)))
def test_v4_unreachable_texts(code: int, text: str) -> None:
    assert icmp_error_text(4, 3, code, 1400) == text


@pytest.mark.parametrize(
    ("icmp_type", "code", "info", "text"),
    [
        (11, 0, 0, "Time to live exceeded"),
        (11, 1, 0, "Frag reassembly time exceeded"),
        (11, 7, 0, "Time exceeded, Bad Code: 7"),
        (12, 0, 20, "Parameter problem: pointer = 20"),
        (4, 0, 0, "Source Quench"),
        (5, 0, 0xC6336401, "Redirect Network(New nexthop: 198.51.100.1)"),
        (5, 1, 0xC6336401, "Redirect Host(New nexthop: 198.51.100.1)"),
        (5, 2, 0xC6336401, "Redirect Type of Service and Network(New nexthop: 198.51.100.1)"),
        (5, 3, 0xC6336401, "Redirect Type of Service and Host(New nexthop: 198.51.100.1)"),
        (5, 9, 0xC6336401, "Redirect, Bad Code: 9(New nexthop: 198.51.100.1)"),
        (0, 0, 0, "Echo Reply"),
        (8, 0, 0, "Echo Request"),
        (13, 0, 0, "Timestamp"),
        (14, 0, 0, "Timestamp Reply"),
        (15, 0, 0, "Information Request"),
        (16, 0, 0, "Information Reply"),
        (17, 0, 0, "Address Mask Request"),
        (18, 0, 0, "Address Mask Reply"),
        (42, 0, 0, "Bad ICMP type: 42"),
    ],
)
def test_v4_other_texts(icmp_type: int, code: int, info: int, text: str) -> None:
    assert icmp_error_text(4, icmp_type, code, info) == text


def test_redirect_nexthop_display() -> None:
    shown = pr_addr("198.51.100.1", "gw.rp.test", numeric=False)
    assert (
        icmp_error_text(4, 5, 1, 0xC6336401, nexthop=shown)
        == "Redirect Host(New nexthop: gw.rp.test (198.51.100.1))"
    )


@pytest.mark.parametrize(
    ("icmp_type", "code", "info", "text"),
    [
        (1, 0, 0, "Destination unreachable: No route"),
        (1, 1, 0, "Destination unreachable: Administratively prohibited"),
        (1, 2, 0, "Destination unreachable: Beyond scope of source address"),
        (1, 3, 0, "Destination unreachable: Address unreachable"),
        (1, 4, 0, "Destination unreachable: Port unreachable"),
        # RFC 4443 codes 5 and 6 got names only in 20231222
        (1, 5, 0, "Destination unreachable: Unknown code 5"),
        (1, 6, 0, "Destination unreachable: Unknown code 6"),
        (2, 0, 1280, "Packet too big: mtu=1280"),
        (2, 3, 1280, "Packet too big: mtu=1280, code=3"),
        (3, 0, 0, "Time exceeded: Hop limit"),
        (3, 1, 0, "Time exceeded: Defragmentation failure"),
        (3, 5, 0, "Time exceeded: code 5"),
        (4, 0, 40, "Parameter problem: Wrong header field at 40"),
        (4, 1, 40, "Parameter problem: Unknown header at 40"),
        (4, 2, 40, "Parameter problem: Unknown option at 40"),
        (4, 9, 40, "Parameter problem: code 9 at 40"),
        (128, 0, 0, "Echo request"),
        (129, 0, 0, "Echo reply"),
        (130, 0, 0, "MLD Query"),
        (131, 0, 0, "MLD Report"),
        (132, 0, 0, "MLD Reduction"),
        (200, 0, 0, "unknown icmp type: 200"),
    ],
)
def test_v6_texts(icmp_type: int, code: int, info: int, text: str) -> None:
    assert icmp_error_text(6, icmp_type, code, info) == text


def icmp_error(offender: str, family: int, icmp_type: int, code: int, info: int = 0) -> IcmpError:
    return IcmpError(1, offender, family, icmp_type, code, info, errno.EHOSTUNREACH, AT_NS)


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            icmp_error("198.51.100.1", 4, 3, 1),
            "From 198.51.100.1 icmp_seq=1 Destination Host Unreachable\n",
        ),
        (
            icmp_error("198.51.100.254", 4, 3, 13),
            "From 198.51.100.254 icmp_seq=1 Packet filtered\n",
        ),
        (
            icmp_error("198.51.100.254", 4, 11, 0),
            "From 198.51.100.254 icmp_seq=1 Time to live exceeded\n",
        ),
        (
            icmp_error("198.51.100.254", 4, 5, 1, 0xCB0071FE),
            "From 198.51.100.254 icmp_seq=1 Redirect Host(New nexthop: 203.0.113.254)\n",
        ),
        (
            icmp_error("2001:db8:1::fe", 6, 1, 0),
            "From 2001:db8:1::fe icmp_seq=1 Destination unreachable: No route\n",
        ),
        (
            icmp_error("2001:db8:1::fe", 6, 1, 3),
            "From 2001:db8:1::fe icmp_seq=1 Destination unreachable: Address unreachable\n",
        ),
        (
            icmp_error("2001:db8:1::fe", 6, 3, 0),
            "From 2001:db8:1::fe icmp_seq=1 Time exceeded: Hop limit\n",
        ),
    ],
)
def test_icmp_error_line_golden(error: IcmpError, line: str) -> None:
    assert icmp_error_line(error, error.offender, NUMERIC) == line


def test_icmp_error_line_variants() -> None:
    error = icmp_error("198.51.100.254", 4, 11, 0)
    shown = pr_addr(error.offender, "router.rp.test", numeric=False)
    assert icmp_error_line(error, shown, DEFAULT) == (
        "From router.rp.test (198.51.100.254) icmp_seq=1 Time to live exceeded\n"
    )
    assert icmp_error_line(error, error.offender, RenderOptions(timestamps=True)) == (
        "[1700000000.000123] From 198.51.100.254 icmp_seq=1 Time to live exceeded\n"
    )
    assert icmp_error_line(error, error.offender, RenderOptions(quiet=True)) == ""
    assert icmp_error_line(error, error.offender, RenderOptions(flood=True)) == "\bE"
    # the bell is for replies only
    assert "\a" not in icmp_error_line(error, error.offender, RenderOptions(audible=True))


def test_icmp_error_line_raw_packet_path_has_a_colon() -> None:
    error = icmp_error("198.51.100.254", 4, 5, 1, 0xCB0071FE)
    assert icmp_error_line(error, error.offender, DEFAULT, via_packet=True) == (
        "From 198.51.100.254: icmp_seq=1 Redirect Host(New nexthop: 203.0.113.254)\n"
    )
    assert icmp_error_line(error, error.offender, RenderOptions(flood=True), via_packet=True) == ""


def test_local_errors_go_to_stderr() -> None:
    too_long = LocalError(errno=errno.EMSGSIZE, seq=1, mtu=1500, received_at_ns=AT_NS)
    assert local_error(too_long, "Message too long", DEFAULT) == Output(
        stderr="ping: local error: message too long, mtu=1500\n"
    )
    assert local_error(too_long, "Message too long", DEFAULT, family=6) == Output(
        stderr="ping: local error: message too long, mtu: 1500\n"
    )
    other = LocalError(errno=errno.ENETUNREACH, seq=None, mtu=None, received_at_ns=AT_NS)
    assert local_error(other, "Network is unreachable", RenderOptions(program="/usr/bin/ping")) == (
        Output(stderr="/usr/bin/ping: local error: Network is unreachable\n")
    )
    assert local_error(too_long, "x", RenderOptions(flood=True)) == Output(stdout="E")
    assert local_error(too_long, "x", RenderOptions(quiet=True)) == Output()


def test_send_error() -> None:
    assert send_error("No buffer space available", DEFAULT) == Output(
        stderr="ping: sendmsg: No buffer space available\n"
    )
    assert send_error("x", RenderOptions(flood=True)) == Output(stdout="E")
    assert send_error("x", RenderOptions(quiet=True)) == Output()


def test_no_answer_yet() -> None:
    event = NoAnswerYet(seq=2, at_ns=AT_NS)
    assert no_answer_yet_line(event, DEFAULT) == "no answer yet for icmp_seq=2\n"
    assert no_answer_yet_line(event, RenderOptions(timestamps=True)) == (
        "[1700000000.000123] no answer yet for icmp_seq=2\n"
    )
    # 20221126's pinger() does not check -q here
    assert no_answer_yet_line(event, RenderOptions(quiet=True)) == "no answer yet for icmp_seq=2\n"


def test_timestamp_prefix() -> None:
    assert timestamp_prefix(AT_NS) == "[1700000000.000123] "
    assert timestamp_prefix(5_999_999_999) == "[5.999999] "


# -- status and statistics --------------------------------------------------------------------


def test_status_line() -> None:
    stats = feed([21, 20, 21]).snapshot()
    assert status_line(stats, DEFAULT) == Output(
        stderr="\r3/3 packets, 0% loss, min/avg/ewma/max = 0.020/0.020/0.021/0.021 ms\n"
    )
    assert status_line(PingStats(transmitted=3), DEFAULT) == Output(
        stderr="\r0/3 packets, 100% loss\n"
    )
    # integer loss, truncated
    assert "33% loss" in status_line(feed([20, 20], lost=1).snapshot(), DEFAULT).stderr


def test_statistics_duplicates() -> None:
    # 14_dup_lab
    stats = PingStats(
        transmitted=3, received=3, duplicates=2, tsum=150.0, tsum2=4500.0, tmin_us=20, tmax_us=40
    )
    text = statistics(stats, "100.64.1.12", 2_004_000_000, DEFAULT)
    assert text.splitlines()[2] == (
        "3 packets transmitted, 3 received, +2 duplicates, 0% packet loss, time 2004ms"
    )


def test_statistics_no_reply_ends_with_an_empty_line() -> None:
    # 13_*: blackhole
    stats = PingStats(transmitted=3)
    assert statistics(stats, V4, 1_037_000_000, DEFAULT) == (
        "\n--- 203.0.113.1 ping statistics ---\n"
        "3 packets transmitted, 0 received, 100% packet loss, time 1037ms\n\n"
    )


def test_statistics_untimed_replies_end_with_an_empty_line() -> None:
    # 57_size_s0: replies but no timing
    stats = feed([0]).snapshot()
    text = statistics(stats, V4, 0, RenderOptions(datalen=0))
    assert text.endswith("1 packets transmitted, 1 received, 0% packet loss, time 0ms\n\n")


def test_statistics_errors_and_pipe_alone() -> None:
    # 16_*
    acc = StatsAccumulator()
    for _ in range(3):
        acc.sent()
    for seq in (1, 2, 3):
        acc.icmp_error(seq)
    assert statistics(acc.snapshot(), "198.51.100.99", 2_033_000_000, DEFAULT) == (
        "\n--- 198.51.100.99 ping statistics ---\n"
        "3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2033ms\n"
        "pipe 3\n"
    )


def test_statistics_corrupted_and_loss_fractions() -> None:
    stats = PingStats(
        transmitted=3,
        received=1,
        corrupted=1,
        errors=1,
        tsum=30.0,
        tsum2=900.0,
        tmin_us=30,
        tmax_us=30,
    )
    line = statistics(stats, V4, 2_000_000_000, DEFAULT).splitlines()[2]
    assert line == (
        "3 packets transmitted, 1 received, +1 corrupted, +1 errors, 66.6667% packet loss, "
        "time 2000ms"
    )


def test_statistics_preload_pipe_after_rtt() -> None:
    acc = StatsAccumulator()
    for _ in range(3):
        acc.sent()
    for seq in (1, 2, 3):
        acc.reply(seq, 40, duplicate=False)
    text = statistics(acc.snapshot(), V4, 0, DEFAULT)
    assert text.splitlines()[-1] == "rtt min/avg/max/mdev = 0.040/0.040/0.040/0.000 ms, pipe 3"


def test_statistics_flood_ipg_ewma() -> None:
    acc = feed([5, 5, 5, 5, 5])
    text = statistics(acc.snapshot(), V4, 248_000_000, RenderOptions(flood=True, interval_ms=0))
    assert text.splitlines()[-1] == (
        "rtt min/avg/max/mdev = 0.005/0.005/0.005/0.000 ms, ipg/ewma 62.000/0.005 ms"
    )
    # not with a normal interval, and not for a single probe
    assert "ipg" not in statistics(acc.snapshot(), V4, 248_000_000, DEFAULT)
    one = feed([5]).snapshot()
    assert "ipg" not in statistics(one, V4, 0, RenderOptions(flood=True))
    assert "ipg/ewma" in statistics(acc.snapshot(), V4, 248_000_000, RenderOptions(adaptive=True))


def test_statistics_empty_hostname() -> None:
    # 89_four_localhost on Debian
    assert "\n---  ping statistics ---\n" in statistics(PingStats(transmitted=1), "", 0, DEFAULT)


def test_statistics_nothing_sent() -> None:
    assert statistics(PingStats(), V4, 0, DEFAULT) == (
        "\n--- 203.0.113.1 ping statistics ---\n0 packets transmitted, 0 received\n\n"
    )


@given(
    st.lists(st.integers(0, 5_000_000), max_size=12),
    st.integers(0, 12),
    st.integers(0, 3),
    st.booleans(),
)
def test_statistics_shape(times: list[int], lost: int, errors: int, flood: bool) -> None:
    acc = feed(times, lost=lost if times else lost + 1)
    for _ in range(errors):
        acc.local_error()
    text = statistics(acc.snapshot(), V4, 10**9, RenderOptions(flood=flood, interval_ms=0))
    lines = text.split("\n")
    # "", header, counts, last line (maybe empty), "" after the final newline: jc finds
    # " time " on the second or third line from the end.
    assert len(lines) == 5 and lines[0] == "" and lines[-1] == ""
    assert " time " in lines[2]
    assert (lines[3] == "") == (not times)


# -- exit status ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "deadline", "count", "code"),
    [
        (3, False, 3, 0),
        (1, False, 2, 0),  # 12_loss_partial: 50% loss still exits 0
        (0, False, 3, 1),  # 13_*: nothing came back
        (0, True, None, 1),
        (2, True, 5, 1),  # 34_deadline_w_lt_count
        (5, True, 5, 0),  # 35_deadline_w_count_met
        (2, True, None, 0),
        (2, False, None, 0),  # SIGINT after replies
    ],
)
def test_exit_status(received: int, deadline: bool, count: int | None, code: int) -> None:
    assert exit_status(received, deadline=deadline, count=count) == code
