"""``pingsock ping --json`` lines: valid JSON, fixed keys, the text's numbers."""

from __future__ import annotations

import ast
import errno
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingsock.cli import json_lines
from pingsock.cli.json_lines import (
    KEYS,
    error_line,
    event_line,
    local_error_line,
    no_answer_line,
    reply_line,
    start_line,
    status_line,
    summary_line,
)
from pingsock.cli.render import (
    OptionsPrinter,
    RenderOptions,
    exit_status,
    icmp_error_line,
    local_error,
    statistics,
)
from pingsock.events import IcmpError, LocalError, NoAnswerYet, Reply, Sent
from pingsock.stats import PingStats, StatsAccumulator, format_reply_time, format_us_as_ms

V4 = "203.0.113.1"
AT_NS = 1_700_000_000_123_456_789


def load(line: str) -> dict[str, Any]:
    """One line: newline-terminated, no other newline, a JSON object with its type's keys."""
    assert line.endswith("\n")
    assert "\n" not in line[:-1]
    assert line.isascii()
    obj = json.loads(line, parse_constant=pytest.fail)  # NaN/Infinity are not JSON
    assert isinstance(obj, dict)
    assert tuple(obj) == KEYS[obj["type"]]
    return obj


def reply(
    seq: int = 1,
    rtt_us: int | None = 28,
    *,
    size: int = 64,
    ttl: int | None = 63,
    duplicate: bool = False,
    truncated: bool = False,
) -> Reply:
    return Reply(seq, V4, size, ttl, rtt_us, duplicate, truncated, AT_NS)


def three_replies() -> PingStats:
    acc = StatsAccumulator()
    for seq, t in enumerate([28, 23, 26], 1):
        acc.sent()
        acc.reply(seq, t, duplicate=False)
    return acc.snapshot()


# -- the documented examples ------------------------------------------------------------------


def test_start() -> None:
    line = start_line(V4, V4, family=4, data_bytes=56, backend="kernel")
    assert line == (
        '{"type": "start", "host": "203.0.113.1", "address": "203.0.113.1", "family": 4,'
        ' "data_bytes": 56, "backend": "kernel", "socket_type": "dgram", "ident": null}\n'
    )
    raw = load(start_line("::1", "::1", family=6, data_bytes=8, backend="raw", ident=4242))
    assert (raw["family"], raw["socket_type"], raw["ident"]) == (6, "raw", 4242)


def test_reply() -> None:
    assert reply_line(reply(), V4) == (
        '{"type": "reply", "host": "203.0.113.1", "source": "203.0.113.1", "seq": 1,'
        ' "bytes": 64, "ttl": 63, "time": 0.028, "rtt_ms": 0.028, "rtt_us": 28,'
        ' "duplicate": false, "truncated": false, "different_address": false,'
        ' "wrong_data": false, "ident": null, "tos": null, "record_route": null,'
        ' "timestamps": null, "timestamp": 1700000000.123456}\n'
    )


def test_reply_marks() -> None:
    obj = load(
        reply_line(
            Reply(65537, "198.51.100.7", 64, None, 12345, True, False, AT_NS, ident=9, tos=4),
            "other.rp.test (198.51.100.7)",
            different_address=True,
            wrong_data=True,
        )
    )
    assert obj["host"] == "other.rp.test (198.51.100.7)"
    assert obj["source"] == "198.51.100.7"
    assert obj["seq"] == 1  # the printed 16-bit icmp_seq
    assert obj["ttl"] is None
    assert (obj["time"], obj["rtt_ms"], obj["rtt_us"]) == (12.3, 12.345, 12345)
    assert obj["duplicate"] and obj["different_address"] and obj["wrong_data"]
    assert (obj["ident"], obj["tos"]) == (9, 4)
    assert obj["record_route"] is obj["timestamps"] is None


def addr(text: str) -> bytes:
    return bytes(int(part) for part in text.split("."))


def record_route(route: list[str], slots: int = 9) -> bytes:
    """A record-route option of ``slots`` slots, ``route`` recorded (iputils -R: 9 slots)."""
    data = b"".join(addr(a) for a in route).ljust(4 * slots, b"\0")
    return bytes([7, 3 + 4 * slots, 4 + 4 * len(route)]) + data


def timestamp_option(entries: list[tuple[str | None, int]], flags: int, slots: int) -> bytes:
    size = 4 if flags == 0 else 8
    data = b"".join(
        (addr(a) if a is not None else b"") + ms.to_bytes(4, "big") for a, ms in entries
    )
    header = bytes([68, 4 + size * slots, 5 + size * len(entries), flags])
    return header + data.ljust(size * slots, b"\0")


def with_options(options: bytes) -> Reply:
    return Reply(1, V4, 64, 63, 26, False, False, AT_NS, ip_options=options)


ROUTE = ["198.51.100.1", "203.0.113.254", "203.0.113.1", "203.0.113.1", "198.51.100.254"]


@pytest.mark.parametrize("recorded", [0, 1, 5, 9])
def test_record_route(recorded: int) -> None:
    route = (ROUTE * 2)[:recorded]
    obj = load(reply_line(with_options(b"\1" + record_route(route)), V4))  # after a NOP
    assert obj["record_route"] == route
    assert obj["timestamps"] is None
    # The text's RR block lists the same addresses (it prints nothing when none was recorded).
    text = OptionsPrinter().render(record_route(route))
    assert re.findall(r"\t([\d.]+)\n", text) == route


def test_timestamps() -> None:
    only = timestamp_option([(None, 53041568), (None, 53041569)], flags=0, slots=9)
    assert load(reply_line(with_options(only), V4))["timestamps"] == [
        {"address": None, "ms": 53041568},
        {"address": None, "ms": 53041569},
    ]
    pairs = [("198.51.100.254", 53041568), ("203.0.113.1", 0x80000005)]
    both = timestamp_option(pairs, flags=1, slots=4)
    obj = load(reply_line(with_options(record_route(ROUTE[:2]) + both), V4))
    assert obj["record_route"] == ROUTE[:2]
    assert obj["timestamps"] == [{"address": a, "ms": ms} for a, ms in pairs]


@given(st.binary(max_size=40))
def test_any_options_area_decodes_or_is_skipped(options: bytes) -> None:
    obj = load(reply_line(with_options(options), V4))
    assert obj["record_route"] is None or all(
        re.fullmatch(r"\d+\.\d+\.\d+\.\d+", a) for a in obj["record_route"]
    )


def test_untimed_and_truncated_replies() -> None:
    untimed = load(reply_line(reply(rtt_us=None, size=16), V4))
    assert (untimed["time"], untimed["rtt_ms"], untimed["rtt_us"]) == (None, None, None)
    # The text prints a truncated reply without its time; the statistics count it.
    cut = load(reply_line(reply(rtt_us=1234, size=16, truncated=True), V4))
    assert (cut["time"], cut["rtt_ms"], cut["rtt_us"], cut["truncated"]) == (
        None,
        1.234,
        1234,
        True,
    )


def test_error_text_is_the_text_modes() -> None:
    error = IcmpError(1, "198.51.100.254", 4, 11, 0, 0, errno.EHOSTUNREACH, AT_NS)
    assert error_line(error, "198.51.100.254") == (
        '{"type": "error", "host": "198.51.100.254", "source": "198.51.100.254", "seq": 1,'
        ' "icmp_type": 11, "icmp_code": 0, "info": 0, "text": "Time to live exceeded",'
        ' "errno": "EHOSTUNREACH", "timestamp": 1700000000.123456}\n'
    )
    for family, kind, code, info in [(4, 3, 4, 1400), (6, 1, 3, 0), (6, 2, 0, 1280), (4, 5, 1, 1)]:
        error = IcmpError(70000, "2001:db8:1::fe", family, kind, code, info, 0, AT_NS)
        obj = load(error_line(error, "2001:db8:1::fe"))
        text_line = icmp_error_line(error, "2001:db8:1::fe", RenderOptions())
        assert text_line == f"From 2001:db8:1::fe icmp_seq={obj['seq']} {obj['text']}\n"
        assert (obj["icmp_type"], obj["icmp_code"], obj["info"]) == (kind, code, info)
        assert obj["errno"] is None


def test_local_error_text_is_the_text_modes() -> None:
    event = LocalError(errno.EMSGSIZE, 3, 1500, AT_NS)
    assert local_error_line(event, "Message too long") == (
        '{"type": "local_error", "seq": 3, "errno": "EMSGSIZE", "mtu": 1500,'
        ' "text": "local error: message too long, mtu=1500", "timestamp": 1700000000.123456}\n'
    )
    v6 = load(local_error_line(event, "Message too long", family=6))
    assert v6["text"] == "local error: message too long, mtu: 1500"
    other = LocalError(errno.ENOBUFS, None, None, AT_NS)
    obj = load(local_error_line(other, "No buffer space available"))
    stderr = local_error(other, "No buffer space available", RenderOptions()).stderr
    assert stderr == f"ping: {obj['text']}\n"
    assert (obj["seq"], obj["errno"], obj["mtu"]) == (None, "ENOBUFS", None)
    assert load(local_error_line(LocalError(4000, 1, None, AT_NS), "?"))["errno"] == "4000"


def test_no_answer() -> None:
    assert no_answer_line(NoAnswerYet(65538, AT_NS)) == (
        '{"type": "no_answer", "seq": 2, "timestamp": 1700000000.123456}\n'
    )


def test_status() -> None:
    assert status_line(three_replies()) == (
        '{"type": "status", "transmitted": 3, "received": 3, "duplicates": 0, "corrupted": 0,'
        ' "errors": 0, "loss": 0.0, "rtt": {"min": 0.023, "avg": 0.025, "ewma": 0.027,'
        ' "max": 0.028}}\n'
    )
    nothing = load(status_line(PingStats(transmitted=3)))
    assert (nothing["loss"], nothing["rtt"]) == (100.0, None)
    assert load(status_line(three_replies(), RenderOptions(datalen=8)))["rtt"] is None


def test_summary() -> None:
    assert summary_line(three_replies(), V4, 2_045_000_000, 0) == (
        '{"type": "summary", "host": "203.0.113.1", "transmitted": 3, "received": 3,'
        ' "duplicates": 0, "corrupted": 0, "errors": 0, "loss": 0.0, "time": 2045,'
        ' "rtt": {"min": 0.023, "avg": 0.025, "max": 0.028, "mdev": 0.002},'
        ' "rtt_us": {"min": 23, "avg": 25, "max": 28, "mdev": 2}, "pipe": null, "ipg": null,'
        ' "ewma": null, "exit_status": 0}\n'
    )


def test_summary_of_nothing_sent() -> None:
    obj = load(summary_line(PingStats(), "x", 0, 1))
    assert (obj["transmitted"], obj["loss"], obj["time"], obj["rtt"]) == (0, None, None, None)
    assert obj["exit_status"] == 1


def test_summary_loss_is_the_printed_percent() -> None:
    acc = StatsAccumulator()
    for seq in (1, 2, 3):
        acc.sent()
        if seq != 2:
            acc.reply(seq, 30, duplicate=False)
    obj = load(summary_line(acc.snapshot(), V4, 2_003_000_000, 0))
    assert obj["loss"] == 33.3333  # not the C float 33.33333206...
    assert "33.3333% packet loss" in statistics(acc.snapshot(), V4, 2_003_000_000, RenderOptions())


def test_event_line_dispatches() -> None:
    assert event_line(Sent(1, AT_NS)) == ""
    assert load(event_line(reply()))["host"] == V4
    assert load(event_line(reply(), host="n (203.0.113.1)"))["host"] == "n (203.0.113.1)"
    error = IcmpError(1, "198.51.100.254", 4, 3, 1, 0, errno.EHOSTUNREACH, AT_NS)
    assert load(event_line(error))["text"] == "Destination Host Unreachable"
    local = LocalError(errno.ECONNREFUSED, 1, None, AT_NS)
    assert load(event_line(local))["text"] == "local error: ECONNREFUSED"
    assert load(event_line(local, strerror="Connection refused"))["text"] == (
        "local error: Connection refused"
    )
    assert load(event_line(NoAnswerYet(2, AT_NS)))["type"] == "no_answer"


def test_the_module_is_pure() -> None:
    path = Path(json_lines.__file__)
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    forbidden = {"socket", "select", "selectors", "asyncio", "os", "time", "subprocess", "ctypes"}
    assert not imported & forbidden


def test_unicode_names_stay_ascii() -> None:
    obj = load(start_line("bücher.example", "192.0.2.1", family=4, data_bytes=56, backend="raw"))
    assert obj["host"] == "bücher.example"


# -- properties -------------------------------------------------------------------------------

RTT = st.integers(min_value=0, max_value=10**8)


@given(
    seq=st.integers(min_value=0, max_value=2**32),
    size=st.integers(min_value=0, max_value=65535),
    ttl=st.none() | st.integers(min_value=0, max_value=255),
    rtt_us=st.none() | RTT,
    duplicate=st.booleans(),
    truncated=st.booleans(),
    at_ns=st.integers(min_value=0, max_value=2**32 * 10**9),  # a double holds the µs until 2106
    host=st.text(max_size=40),
)
def test_any_reply_is_one_line_of_its_numbers(
    *,
    seq: int,
    size: int,
    ttl: int | None,
    rtt_us: int | None,
    duplicate: bool,
    truncated: bool,
    at_ns: int,
    host: str,
) -> None:
    event = Reply(seq, "192.0.2.1", size, ttl, rtt_us, duplicate, truncated, at_ns)
    obj = load(reply_line(event, host))
    assert obj["host"] == host
    assert (obj["seq"], obj["bytes"], obj["ttl"]) == (seq & 0xFFFF, size, ttl)
    assert (obj["duplicate"], obj["truncated"]) == (duplicate, truncated)
    assert obj["rtt_us"] == rtt_us
    assert round(obj["timestamp"] * 1_000_000) == at_ns // 1000
    if rtt_us is None:
        assert obj["rtt_ms"] is obj["time"] is None
    else:
        assert isinstance(obj["rtt_ms"], float)
        assert obj["rtt_ms"] == rtt_us / 1000
        assert round(obj["rtt_ms"] * 1000) == rtt_us
        if truncated:
            assert obj["time"] is None
        else:
            assert obj["time"] == float(format_reply_time(rtt_us))


# One run: each step sends a probe and says what came back for it.
STEP = st.one_of(
    st.tuples(st.just("reply"), RTT),
    st.tuples(st.just("dup"), RTT),  # the reply and a duplicate of it
    st.tuples(st.just("lost"), st.just(0)),
    st.tuples(st.just("late"), RTT),  # answered after the next probe left (pipe 2)
    st.tuples(st.just("error"), st.just(0)),
    st.tuples(st.just("local"), st.just(0)),
    st.tuples(st.just("corrupt"), RTT),
)


def run(steps: list[tuple[str, int]]) -> PingStats:
    acc = StatsAccumulator()
    late: list[tuple[int, int]] = []
    for seq, (kind, rtt) in enumerate(steps, 1):
        acc.sent()
        for old_seq, old_rtt in late:
            acc.reply(old_seq, old_rtt, duplicate=False)
        late.clear()
        if kind in ("reply", "dup"):
            acc.reply(seq, rtt, duplicate=False)
        if kind == "dup":
            acc.reply(seq, rtt + 1, duplicate=True)
        elif kind == "late":
            late.append((seq, rtt))
        elif kind == "error":
            acc.icmp_error(seq)
        elif kind == "local":
            acc.local_error()
        elif kind == "corrupt":
            acc.reply(seq, rtt, duplicate=False, corrupted=True)
    for old_seq, old_rtt in late:
        acc.reply(old_seq, old_rtt, duplicate=False)
    return acc.snapshot()


_COUNTS = re.compile(
    r"^(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?"
    r"(?:, \+(\d+) corrupted)?(?:, \+(\d+) errors)?(?:, (\S+)% packet loss, time (\d+)ms)?$"
)
_RTT_TEXT = re.compile(r"rtt min/avg/max/mdev = (\S+)/(\S+)/(\S+)/(\S+) ms")
_PIPE = re.compile(r"pipe (\d+)")
_IPG = re.compile(r"ipg/ewma (\S+)/(\S+) ms")


def as_text(ms: float) -> str:
    """A JSON millisecond value in the text's ``%ld.%03ld`` form."""
    return format_us_as_ms(round(ms * 1000))


@given(
    steps=st.lists(STEP, max_size=12),
    elapsed_ns=st.integers(min_value=0, max_value=10**13),
    datalen=st.sampled_from([0, 8, 15, 16, 56]),
    interval_ms=st.sampled_from([0, 200, 1000]),
    flood=st.booleans(),
    deadline=st.booleans(),
    count=st.none() | st.integers(min_value=1, max_value=12),
)
def test_summary_numbers_are_the_statistics_numbers(
    *,
    steps: list[tuple[str, int]],
    elapsed_ns: int,
    datalen: int,
    interval_ms: int,
    flood: bool,
    deadline: bool,
    count: int | None,
) -> None:
    stats = run(steps)
    opts = RenderOptions(datalen=datalen, interval_ms=interval_ms, flood=flood)
    status = exit_status(stats.received, deadline=deadline, count=count)
    obj = load(summary_line(stats, "host.example", elapsed_ns, status, opts))
    text = statistics(stats, "host.example", elapsed_ns, opts)
    blank, title, counts, last, end = text.split("\n")
    assert (blank, end) == ("", "")
    assert title == f"--- {obj['host']} ping statistics ---"

    match = _COUNTS.match(counts)
    assert match is not None
    tx, rx, dup, bad, err, loss, time = match.groups()
    assert (obj["transmitted"], obj["received"]) == (int(tx), int(rx))
    assert (obj["duplicates"], obj["corrupted"], obj["errors"]) == (
        int(dup or 0),
        int(bad or 0),
        int(err or 0),
    )
    if loss is None:
        assert obj["loss"] is obj["time"] is None
    else:
        assert obj["loss"] == float(loss)
        assert obj["time"] == int(time)

    rtt = _RTT_TEXT.search(last)
    if rtt is None:
        assert obj["rtt"] is obj["rtt_us"] is None
    else:
        keys = ("min", "avg", "max", "mdev")
        assert [format_us_as_ms(obj["rtt_us"][k]) for k in keys] == list(rtt.groups())
        assert [as_text(obj["rtt"][k]) for k in keys] == list(rtt.groups())
        assert all(obj["rtt"][k] == obj["rtt_us"][k] / 1000 for k in keys)
    pipe = _PIPE.search(last)
    assert obj["pipe"] == (int(pipe[1]) if pipe else None)
    ipg = _IPG.search(last)
    if ipg is None:
        assert obj["ipg"] is obj["ewma"] is None
    else:
        assert (as_text(obj["ipg"]), as_text(obj["ewma"])) == ipg.groups()
    assert obj["exit_status"] == status


@given(steps=st.lists(STEP, max_size=12), datalen=st.sampled_from([8, 56]))
def test_status_numbers_are_the_status_lines(steps: list[tuple[str, int]], datalen: int) -> None:
    from pingsock.cli.render import status_line as text_status

    stats = run(steps)
    opts = RenderOptions(datalen=datalen)
    obj = load(status_line(stats, opts))
    text = text_status(stats, opts).stderr
    assert text.startswith(f"\r{obj['received']}/{obj['transmitted']} packets, ")
    if obj["rtt"] is None:
        assert "min/avg/ewma/max" not in text
    else:
        values = "/".join(as_text(obj["rtt"][k]) for k in ("min", "avg", "ewma", "max"))
        assert f"min/avg/ewma/max = {values} ms" in text
