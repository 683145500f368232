"""``parsers.assert_parsers_agree`` on canned iputils 20221126 transcripts (spec sections 3, 10).

The golden texts of the spec, and variants of them: equal texts pass, texts that differ only
in the clock pass, texts that differ in a counted value fail, and texts no reader can parse
pass when they are equal.
"""

from __future__ import annotations

import re

import pytest
from parsers import MASKED, assert_parsers_agree, parsed_values, parser_versions, unmask
from sidebyside import mask

NORMAL_V4 = """\
PING 203.0.113.1 (203.0.113.1) 56(84) bytes of data.
64 bytes from 203.0.113.1: icmp_seq=1 ttl=63 time=0.028 ms
64 bytes from 203.0.113.1: icmp_seq=2 ttl=63 time=0.023 ms
64 bytes from 203.0.113.1: icmp_seq=3 ttl=63 time=0.026 ms

--- 203.0.113.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 2045ms
rtt min/avg/max/mdev = 0.023/0.025/0.028/0.002 ms
"""

DUPLICATES = """\
PING 203.0.113.1 (203.0.113.1) 56(84) bytes of data.
64 bytes from 203.0.113.1: icmp_seq=1 ttl=63 time=0.028 ms
64 bytes from 203.0.113.1: icmp_seq=1 ttl=63 time=0.030 ms (DUP!)
64 bytes from 203.0.113.1: icmp_seq=2 ttl=63 time=0.023 ms
64 bytes from 203.0.113.1: icmp_seq=2 ttl=63 time=0.024 ms (DUP!)
64 bytes from 203.0.113.1: icmp_seq=3 ttl=63 time=0.026 ms

--- 203.0.113.1 ping statistics ---
3 packets transmitted, 3 received, +2 duplicates, 0% packet loss, time 2004ms
rtt min/avg/max/mdev = 0.023/0.026/0.030/0.002 ms
"""

LOSS_ONE_THIRD = """\
PING 203.0.113.1 (203.0.113.1) 56(84) bytes of data.
64 bytes from 203.0.113.1: icmp_seq=1 ttl=63 time=0.028 ms
64 bytes from 203.0.113.1: icmp_seq=3 ttl=63 time=0.026 ms

--- 203.0.113.1 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms
rtt min/avg/max/mdev = 0.026/0.027/0.028/0.001 ms
"""

ERRORS_PIPE = """\
PING 198.51.100.9 (198.51.100.9) 56(84) bytes of data.
From 198.51.100.1 icmp_seq=1 Destination Host Unreachable
From 198.51.100.1 icmp_seq=2 Destination Host Unreachable
From 198.51.100.1 icmp_seq=3 Destination Host Unreachable

--- 198.51.100.9 ping statistics ---
3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2033ms
pipe 3
"""

SIZE_8 = """\
PING 127.0.0.1 (127.0.0.1) 8(36) bytes of data.
16 bytes from 127.0.0.1: icmp_seq=1 ttl=64
16 bytes from 127.0.0.1: icmp_seq=2 ttl=64

--- 127.0.0.1 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 1001ms

"""

TIMESTAMPS = """\
PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.
[1700000000.123456] 64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.028 ms
[1700000001.124011] no answer yet for icmp_seq=2
[1700000002.125230] 64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 time=0.030 ms

--- 127.0.0.1 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms
rtt min/avg/max/mdev = 0.028/0.029/0.030/0.001 ms
"""

V6_DEBIAN = """\
PING ::1(::1) 56 data bytes
64 bytes from ::1: icmp_seq=1 ttl=64 time=0.028 ms
64 bytes from ::1: icmp_seq=2 ttl=64 time=0.040 ms

--- ::1 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 1001ms
rtt min/avg/max/mdev = 0.028/0.034/0.040/0.006 ms
"""

V6_ERRORS = """\
PING 2001:db8:9::1(2001:db8:9::1) 56 data bytes
From 2001:db8:1::fe icmp_seq=1 Destination unreachable: No route
From 2001:db8:1::fe icmp_seq=2 Destination unreachable: Address unreachable

--- 2001:db8:9::1 ping statistics ---
2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1001ms

"""

NO_REPLY = """\
PING 198.51.100.77 (198.51.100.77) 56(84) bytes of data.

--- 198.51.100.77 ping statistics ---
1 packets transmitted, 0 received, 100% packet loss, time 0ms

"""

TRANSCRIPTS = {
    "normal-v4": NORMAL_V4,
    "duplicates": DUPLICATES,
    "loss-one-third": LOSS_ONE_THIRD,
    "errors-pipe": ERRORS_PIPE,
    "s8-no-time": SIZE_8,
    "D-timestamps": TIMESTAMPS,
    "v6-debian": V6_DEBIAN,
    "v6-errors": V6_ERRORS,
    "no-reply": NO_REPLY,
}
CASES = pytest.mark.parametrize("text", TRANSCRIPTS.values(), ids=TRANSCRIPTS.keys())

_NUMBER = r"\d+(?:\.\d+)?"


def other_clock(text: str) -> str:
    """The same run with other times: every reply time, timestamp, total and rtt changed."""
    text = re.sub(rf"time={_NUMBER} ms", "time=12.3 ms", text)
    text = re.sub(r"time \d+ms", "time 9999ms", text)
    text = re.sub(r"\[\d+\.\d+\]", "[1800000000.000001]", text)
    return re.sub(r"= [\d./]+ ms", "= 1.000/2.000/3.000/0.500 ms", text)


def test_the_readers_are_installed() -> None:
    assert set(parser_versions()) == {"jc", "pingparsing"}


@CASES
def test_identical_texts_agree(text: str) -> None:
    assert_parsers_agree(text, text)
    assert parsed_values(text) == parsed_values(text)


@CASES
def test_the_clock_is_masked(text: str) -> None:
    assert other_clock(text) != text
    assert parsed_values(other_clock(text)) == parsed_values(text)
    assert_parsers_agree(text, other_clock(text))


@CASES
def test_sidebyside_masked_text_reads_as_the_raw_text(text: str) -> None:
    assert parsed_values(mask(text)) == parsed_values(text)
    assert_parsers_agree(mask(text), text)


@CASES
def test_a_different_received_count_is_caught(text: str) -> None:
    changed = re.sub(r"(\d+) received", lambda m: f"{int(m[1]) + 1} received", text)
    with pytest.raises(AssertionError, match=r"received"):
        assert_parsers_agree(text, changed)


def test_the_values_are_read() -> None:
    values = parsed_values(LOSS_ONE_THIRD)
    jc, pp = values["jc"], values["pingparsing"]
    assert (jc["packets_transmitted"], jc["packets_received"]) == (3, 2)
    assert jc["packet_loss_percent"] == 33.3333
    assert jc["time_ms"] == jc["round_trip_ms_avg"] == MASKED
    assert [r["icmp_seq"] for r in jc["responses"]] == [1, 3]
    assert {r["time_ms"] for r in jc["responses"]} == {MASKED}
    assert pp["parser"] == "Linux"
    assert (pp["stats"]["packet_transmit"], pp["stats"]["packet_receive"]) == (3, 2)
    assert pp["stats"]["rtt_min"] == pp["stats"]["rtt_mdev"] == MASKED
    assert [r["time"] for r in pp["replies"]] == [MASKED, MASKED]


def test_missing_values_stay_missing() -> None:
    # Without timing there is nothing to mask: None stays None, so a stray rtt line shows.
    values = parsed_values(SIZE_8)
    assert values["pingparsing"]["stats"]["rtt_avg"] is None
    assert "round_trip_ms_avg" not in values["jc"]
    timed = SIZE_8.replace("time 1001ms\n\n", "time 1001ms\nrtt min/avg/max/mdev = 1/1/1/0 ms\n")
    with pytest.raises(AssertionError, match="rtt_avg"):
        assert_parsers_agree(SIZE_8, timed)


def test_timestamps_are_masked_but_counted() -> None:
    values = parsed_values(TIMESTAMPS)
    assert [r["type"] for r in values["jc"]["responses"]] == ["reply", "timeout", "reply"]
    assert {r["timestamp"] for r in values["jc"]["responses"]} == {MASKED}
    assert {r["timestamp"] for r in values["pingparsing"]["replies"]} == {MASKED}
    without_no_answer = "".join(
        line for line in TIMESTAMPS.splitlines(keepends=True) if "no answer" not in line
    )
    with pytest.raises(AssertionError, match=r"responses"):
        assert_parsers_agree(TIMESTAMPS, without_no_answer)


def test_error_lines_are_compared_through_the_streaming_parser() -> None:
    # jc --ping ignores "From ..." lines; jc --ping-s types them.
    types = [item.get("type") for item in parsed_values(V6_ERRORS)["jc_streaming"]]
    assert types == [
        "destination_unreachable_no_route",
        "destination_unreachable_address_unreachable",
        "summary",
    ]
    other = V6_ERRORS.replace("Address unreachable", "No route")
    with pytest.raises(AssertionError, match=r"jc_streaming\[1\]\.type"):
        assert_parsers_agree(V6_ERRORS, other)


@pytest.mark.parametrize(
    ("text", "changed", "where"),
    [
        # Without the trailing blank line jc takes the run for BSD ping: 8(36) reads as 836.
        (SIZE_8, SIZE_8.removesuffix("\n"), r"jc\.data_bytes: iputils -> 8, pingsock -> 836"),
        # iputils HEAD's IPv6 header: jc's hostname test fails and every reply is lost.
        (
            V6_DEBIAN,
            V6_DEBIAN.replace("PING ::1(::1)", "PING ::1 (::1)"),
            "'::1', pingsock -> '56'",
        ),
        (LOSS_ONE_THIRD, LOSS_ONE_THIRD.replace("33.3333%", "33.33%"), "packet_loss_percent"),
        (NORMAL_V4, NORMAL_V4.replace("ttl=63 time=0.023", "ttl=62 time=0.023"), r"replies\[1\]"),
    ],
    ids=["no-trailing-blank-line", "head-v6-header", "loss-digits", "ttl"],
)
def test_layout_and_value_differences_are_caught(text: str, changed: str, where: str) -> None:
    with pytest.raises(AssertionError, match=where):
        assert_parsers_agree(text, changed)


@pytest.mark.parametrize(
    ("text", "changed"),
    [
        (ERRORS_PIPE, ERRORS_PIPE.replace("pipe 3\n", "\n")),
        (NORMAL_V4, NORMAL_V4.replace("0.023 ms\n", "0.023 ms (DIFFERENT ADDRESS!)\n")),
        (NORMAL_V4, NORMAL_V4.replace("\n\n---", "\n---")),
    ],
    ids=["pipe-line", "different-address", "blank-line-before-statistics"],
)
def test_what_the_readers_do_not_see(text: str, changed: str) -> None:
    # Blind spots of both readers: the side-by-side text comparison has to catch these.
    assert_parsers_agree(text, changed)


def test_a_duplicate_mark_is_caught() -> None:
    no_dup = DUPLICATES.replace(" (DUP!)", "", 1)
    with pytest.raises(AssertionError, match="duplicate"):
        assert_parsers_agree(DUPLICATES, no_dup)


def test_a_reader_failing_on_one_side_only_is_caught() -> None:
    # jc cannot find the statistics of a run cut short: it raises on one side only.
    cut = "".join(NORMAL_V4.splitlines(keepends=True)[:2])
    assert parsed_values(cut)["jc"] == {"raised": "builtins.IndexError"}
    with pytest.raises(AssertionError, match="fail, or not, the same way"):
        assert_parsers_agree(NORMAL_V4, cut)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        "ping: invalid argument: '0'\n",
        "PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n",
        NORMAL_V4.partition("\n\n")[0] + "\n",  # no statistics
        "garbage\x00\x1b[2J\n--- ping statistics ---\n",
        "PING x (\n",
    ],
    ids=["empty", "newline", "usage", "header-only", "no-statistics", "garbage", "broken"],
)
def test_unparsable_texts_agree_with_themselves(text: str) -> None:
    values = parsed_values(text)  # never raises
    assert set(values) == {"jc", "jc_streaming", "pingparsing"}
    assert_parsers_agree(text, text)
    assert parsed_values(text) == values


def test_equally_failing_readers_agree_when_the_texts_differ() -> None:
    # Two different texts both without statistics: jc raises IndexError on both.
    a = "PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n"
    b = a + "64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.030 ms\n"
    assert parsed_values(a)["jc"] == parsed_values(b)["jc"] == {"raised": "builtins.IndexError"}
    with pytest.raises(AssertionError) as caught:
        assert_parsers_agree(a, b)  # they differ in the reply jc --ping-s reads
    assert "parsed.jc:" not in str(caught.value)


def test_unmask_fills_only_sidebyside_placeholders() -> None:
    masked = mask(NORMAL_V4)
    assert "<T>" in masked
    assert "<" not in unmask(masked)
    assert unmask(NORMAL_V4) == NORMAL_V4
