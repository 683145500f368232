"""``pingsock ping`` end to end: real processes, real namespaces, users as they are."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from lab.netns import Netns
from lab.topology import ROUTER_V4, SERVER_V4, V4_UNREACHABLE, RoutedLab
from lab.users import NOBODY, User, pingsock_argv, run_as

pytestmark = pytest.mark.netns

REPLY = re.compile(
    r"^64 bytes from 127\.0\.0\.1: icmp_seq=(\d+)(?: ident=\d+)? ttl=64 time=\d+\.\d+ ms$"
)
SUMMARY = re.compile(r"^3 packets transmitted, 3 received, 0% packet loss, time \d+ms$")
RTT = re.compile(r"^rtt min/avg/max/mdev = \d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3}/\d+\.\d{3} ms$")


def check_three_replies(stdout: str) -> None:
    lines = stdout.split("\n")
    if lines[0].startswith("ai->"):
        del lines[0]  # -v: Debian's build names the address family on stdout first
    assert lines[0] == "PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data."
    assert [REPLY.match(line).group(1) for line in lines[1:4]] == ["1", "2", "3"]  # type: ignore[union-attr]
    assert lines[4] == ""
    assert lines[5] == "--- 127.0.0.1 ping statistics ---"
    assert SUMMARY.match(lines[6]) and RTT.match(lines[7])
    assert lines[8:] == [""]


def test_unprivileged_user_in_range_uses_the_kernel_socket(netns: Netns) -> None:
    netns.set_ping_group_range(65534, 65534)
    result = run_as(
        netns,
        NOBODY,
        [*pingsock_argv(), "ping", "-v", "-c", "3", "-i", "0.2", "127.0.0.1"],
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "socktype: SOCK_DGRAM" in result.stderr
    check_three_replies(result.stdout)


def test_root_on_the_host_uses_the_raw_backend() -> None:
    host_range = Path("/proc/sys/net/ipv4/ping_group_range").read_text().split()
    expected = "SOCK_DGRAM" if int(host_range[0]) <= 0 <= int(host_range[1]) else "SOCK_RAW"
    if os.geteuid() != 0:
        pytest.skip("needs root")
    result = subprocess.run(
        [sys.executable, "-m", "pingsock", "ping", "-v", "-c", "3", "-i", "0.2", "127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    assert f"socktype: {expected}" in result.stderr
    check_three_replies(result.stdout)


def test_unprivileged_user_outside_the_range_gets_exit_2_and_the_reason(netns: Netns) -> None:
    result = run_as(netns, NOBODY, [*pingsock_argv(), "ping", "-c", "1", "127.0.0.1"], timeout=30)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    # iputils' three lines first (scripts match them), then pingsock's explanation.
    assert result.stderr.startswith(
        "ping: socktype: SOCK_RAW\nping: socket: Operation not permitted\n"
        "ping: => missing cap_net_raw+p capability or setuid?\n"
        "ping: cannot open an IPv4 ping socket"
    )
    assert 'sysctl -w net.ipv4.ping_group_range="65534 65534"' in result.stderr


def test_raw_backend_as_a_user_with_cap_net_raw(netns: Netns) -> None:
    user = User(65534, 65534, ambient_caps=("net_raw",))
    result = run_as(
        netns,
        user,
        [*pingsock_argv(), "ping", "-v", "-c", "3", "-i", "0.2", "127.0.0.1"],
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "socktype: SOCK_RAW" in result.stderr
    check_three_replies(result.stdout)


@pytest.mark.parametrize("backend", ["kernel", "raw"])
def test_router_errors_are_printed_like_iputils(backend: str, routed_lab: RoutedLab) -> None:
    routed_lab.client.set_ping_group_range(0, 0)
    env = {"PINGSOCK_BACKEND": backend}
    ttl = run_as(
        routed_lab.client,
        User(0, 0, ambient_caps=("net_raw",)),
        [*pingsock_argv(), "ping", "-c", "2", "-i", "0.2", "-t", "1", SERVER_V4],
        timeout=30,
        env=env,
    )
    assert ttl.returncode == 1, ttl.stderr
    lines = ttl.stdout.split("\n")
    assert lines[1] == f"From {ROUTER_V4} icmp_seq=1 Time to live exceeded"
    assert lines[-3].startswith("2 packets transmitted, 0 received, +2 errors, 100% packet loss")
    unreachable = run_as(
        routed_lab.client,
        User(0, 0, ambient_caps=("net_raw",)),
        [*pingsock_argv(), "ping", "-c", "1", V4_UNREACHABLE],
        timeout=30,
        env=env,
    )
    assert unreachable.returncode == 1
    assert f"From {ROUTER_V4} icmp_seq=1 Destination Host Unreachable" in unreachable.stdout


def test_no_reply_waits_for_the_linger_and_exits_1(netns: Netns) -> None:
    netns.ip("route", "add", "blackhole", "192.0.2.0/24")
    result = run_as(
        netns,
        User(0, 0, ambient_caps=("net_raw",)),
        [*pingsock_argv(), "ping", "-c", "1", "-W", "0.3", "192.0.2.9"],
        timeout=30,
    )
    assert result.returncode == 2  # the probe connect() fails on a blackhole route
    assert result.stderr == "ping: connect: Invalid argument\n"


def _root(ns: Netns, *argv: str, env: dict[str, str] | None = None) -> Any:
    return run_as(
        ns,
        User(0, 0, ambient_caps=("net_raw",)),
        [*pingsock_argv(), "ping", *argv],
        timeout=30,
        env=env,
    )


def test_quiet_prints_only_the_header_and_the_statistics(netns: Netns) -> None:
    result = _root(netns, "-q", "-c", "2", "-i", "0.1", "127.0.0.1")
    lines = result.stdout.split("\n")
    assert result.returncode == 0
    assert lines[0].startswith("PING 127.0.0.1 (127.0.0.1)")
    assert lines[1:3] == ["", "--- 127.0.0.1 ping statistics ---"]
    assert lines[3].startswith("2 packets transmitted, 2 received, 0% packet loss")


def test_small_payload_has_no_times_and_an_empty_last_line(netns: Netns) -> None:
    result = _root(netns, "-s", "8", "-c", "2", "-i", "0.1", "127.0.0.1")
    lines = result.stdout.split("\n")
    assert lines[0] == "PING 127.0.0.1 (127.0.0.1) 8(36) bytes of data."
    assert lines[1] == "16 bytes from 127.0.0.1: icmp_seq=1 ttl=64"
    assert lines[-2:] == ["", ""]  # no rtt line: the last line is empty (iputils finish())


def test_ipv6_header_and_replies(netns: Netns) -> None:
    result = _root(netns, "-6", "-c", "1", "::1")
    lines = result.stdout.split("\n")
    assert result.returncode == 0, result.stderr
    assert lines[0] == "PING ::1(::1) 56 data bytes"
    assert re.match(r"^64 bytes from ::1: icmp_seq=1 ttl=64 time=\d+\.\d+ ms$", lines[1])


def test_deadline_without_enough_replies_exits_1(responder_lab: Any) -> None:
    responder_lab.responder.configure(drop_all=True)
    result = _root(
        responder_lab.client, "-w", "1", "-c", "2", "-i", "0.2", responder_lab.responder_v4
    )
    assert result.returncode == 1
    summary = result.stdout.split("\n")[-3]
    transmitted = int(summary.split()[0])
    assert 4 <= transmitted <= 6  # -w keeps sending past -c until the deadline
    assert "0 received, 100% packet loss" in summary


def test_linger_bounds_the_wait_for_a_silent_target(responder_lab: Any) -> None:
    responder_lab.responder.configure(drop_all=True)
    started = time.monotonic()
    result = _root(responder_lab.client, "-c", "1", "-W", "0.5", responder_lab.responder_v4)
    assert result.returncode == 1
    assert time.monotonic() - started < 5
    assert "1 packets transmitted, 0 received, 100% packet loss, time 0ms" in result.stdout


def test_sigint_prints_the_statistics_and_exits_by_the_replies(netns: Netns) -> None:
    proc = subprocess.Popen(
        netns.exec_argv(sys.executable, "-m", "pingsock", "ping", "-i", "0.1", "127.0.0.1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "--- 127.0.0.1 ping statistics ---" in out
    assert re.search(r"\d+ packets transmitted, \d+ received, 0% packet loss", out)


@pytest.mark.parametrize("who", ["nobody", "cap_net_raw"])
def test_json_lines_describe_the_run(who: str, routed_lab: RoutedLab) -> None:
    """--json: one object per line, replies and ICMP errors typed, the summary's numbers equal
    to the statistics, on both backends."""
    user = NOBODY if who == "nobody" else User(65534, 65534, ambient_caps=("net_raw",))
    if who == "nobody":
        routed_lab.client.set_ping_group_range(65534, 65534)
    ok = run_as(
        routed_lab.client,
        user,
        [*pingsock_argv(), "ping", "--json", "-c", "2", "-i", "0.2", SERVER_V4],
        timeout=30,
    )
    assert ok.returncode == 0, ok.stderr
    lines = [json.loads(line) for line in ok.stdout.splitlines()]
    assert [line["type"] for line in lines] == ["start", "reply", "reply", "summary"]
    assert lines[0]["backend"] == ("kernel" if who == "nobody" else "raw")
    assert [line["seq"] for line in lines[1:3]] == [1, 2]
    assert all(line["ttl"] == 63 and line["bytes"] == 64 for line in lines[1:3])
    summary = lines[-1]
    assert (summary["transmitted"], summary["received"], summary["loss"]) == (2, 2, 0)
    assert summary["exit_status"] == 0
    assert summary["rtt"]["min"] <= summary["rtt"]["avg"] <= summary["rtt"]["max"]

    ttl = run_as(
        routed_lab.client,
        user,
        [*pingsock_argv(), "ping", "--json", "-c", "1", "-t", "1", "-W", "1", SERVER_V4],
        timeout=30,
    )
    assert ttl.returncode == 1, ttl.stderr
    errors = [json.loads(line) for line in ttl.stdout.splitlines()]
    assert [line["type"] for line in errors] == ["start", "error", "summary"]
    assert errors[1]["source"] == ROUTER_V4
    assert (errors[1]["icmp_type"], errors[1]["text"]) == (11, "Time to live exceeded")
    assert errors[2]["errors"] == 1


def test_sigquit_prints_the_status_line_and_goes_on(netns: Netns) -> None:
    """SIGQUIT: `\\rN/M packets, L% loss...` on stderr, and the run continues to -c."""
    netns.set_ping_group_range(0, 0)
    proc = subprocess.Popen(
        netns.exec_argv(
            sys.executable, "-m", "pingsock", "ping", "-c", "4", "-i", "0.3", "127.0.0.1"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.8)
        proc.send_signal(signal.SIGQUIT)
        raw_out, raw_err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # bytes, not text mode: universal newlines would turn the status line's \r into \n.
    out, err = raw_out.decode(), raw_err.decode()
    assert proc.returncode == 0, err
    assert re.fullmatch(r"\r\d/\d packets, \d+% loss, min/avg/ewma/max = [\d./]+ ms\n", err), repr(
        err
    )
    assert "4 packets transmitted, 4 received" in out
