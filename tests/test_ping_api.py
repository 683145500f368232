"""``pingsock.ping()`` against a user-space responder that misbehaves on demand.

Both backends, IPv4 and IPv6; the responder host's kernel echo is off, so every reply (late,
doubled, damaged, from elsewhere, or an ICMP error) is one the test asked for.
"""

from __future__ import annotations

import errno
import socket
import struct

import pytest

import pingsock
from lab.netns import Netns
from lab.responder import ResponderLab

pytestmark = pytest.mark.netns

CASES = [
    ("kernel", socket.AF_INET),
    ("raw", socket.AF_INET),
    ("kernel", socket.AF_INET6),
    ("raw", socket.AF_INET6),
]
IDS = ["kernel-v4", "raw-v4", "kernel-v6", "raw-v6"]


def run(lab: ResponderLab, backend: str, family: int, **kw: object) -> pingsock.PingResult:
    lab.client.set_ping_group_range(0, 0)
    target = lab.responder_v6 if family == socket.AF_INET6 else lab.responder_v4
    kw.setdefault("interval", 0.05)
    kw.setdefault("timeout", 0.5)
    with lab.client.entered():
        return pingsock.ping(target, backend=backend, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("backend", "family"), CASES, ids=IDS)
def test_plain_run(responder_lab: ResponderLab, backend: str, family: int) -> None:
    result = run(responder_lab, backend, family, count=3)
    assert result.backend == backend
    assert (result.transmitted, result.received, result.duplicates, result.error_count) == (
        3,
        3,
        0,
        0,
    )
    assert result.loss == 0.0
    assert [r.seq for r in result.replies] == [1, 2, 3]
    assert all(r.ttl == 64 and r.size == 64 and not r.truncated for r in result.replies)
    rtts = [r.rtt_us for r in result.replies]
    assert result.rtt is not None and all(t is not None for t in rtts)
    assert result.rtt.min_us == min(rtts) and result.rtt.max_us == max(rtts)  # type: ignore[type-var]


@pytest.mark.parametrize(("backend", "family"), CASES, ids=IDS)
def test_rtt_comes_from_the_kernel_receive_stamp(
    responder_lab: ResponderLab, backend: str, family: int
) -> None:
    responder_lab.responder.configure(delay_ms=120)
    result = run(responder_lab, backend, family, count=2, interval=0.2)
    assert result.received == 2 and result.rtt is not None
    assert 120_000 <= result.rtt.min_us < 170_000


@pytest.mark.parametrize(("backend", "family"), CASES, ids=IDS)
def test_duplicates_are_counted_not_received(
    responder_lab: ResponderLab, backend: str, family: int
) -> None:
    responder_lab.responder.configure(duplicates=1, delay_ms=5)
    result = run(responder_lab, backend, family, count=3, interval=0.1)
    assert result.received == 3
    assert result.duplicates >= 2  # the last one's copy may come after the run ended
    assert [r.seq for r in result.replies if r.duplicate][:2] == [1, 2]


@pytest.mark.parametrize(("backend", "family"), CASES, ids=IDS)
def test_a_dropped_probe_is_loss(responder_lab: ResponderLab, backend: str, family: int) -> None:
    responder_lab.responder.configure(drop_seqs=frozenset({2}))
    result = run(responder_lab, backend, family, count=3)
    assert (result.transmitted, result.received) == (3, 2)
    assert f"{result.loss:g}" == "33.3333"


@pytest.mark.parametrize(("backend", "family"), CASES, ids=IDS)
def test_bad_checksums_never_count(responder_lab: ResponderLab, backend: str, family: int) -> None:
    responder_lab.responder.configure(corrupt="checksum")
    result = run(responder_lab, backend, family, count=2, timeout=0.3)
    assert (result.transmitted, result.received, result.loss) == (2, 0, 100.0)


@pytest.mark.parametrize(("backend", "family"), CASES, ids=IDS)
def test_truncated_and_foreign_replies(
    responder_lab: ResponderLab, backend: str, family: int
) -> None:
    responder_lab.responder.configure(truncate=20)
    short = run(responder_lab, backend, family, count=1)
    assert short.received == 1 and short.replies[0].truncated
    assert short.replies[0].size == 44 and short.replies[0].rtt_us is None
    responder_lab.responder.configure(from_alt=True)
    foreign = run(responder_lab, backend, family, count=1)
    alt = responder_lab.alt_v6 if family == socket.AF_INET6 else responder_lab.alt_v4
    assert foreign.received == 1 and foreign.replies[0].source == alt


@pytest.mark.parametrize(("backend", "family"), CASES, ids=IDS)
def test_icmp_errors_from_the_target(
    responder_lab: ResponderLab, backend: str, family: int
) -> None:
    responder_lab.responder.configure(error=(3, 13), error_v6=(1, 1))
    result = run(responder_lab, backend, family, count=2, timeout=0.3)
    assert (result.received, result.error_count) == (0, 2)
    first = result.errors[0]
    assert isinstance(first, pingsock.IcmpError)
    assert first.seq == 1
    target = responder_lab.responder_v6 if family == socket.AF_INET6 else responder_lab.responder_v4
    assert first.offender == target
    if family == socket.AF_INET6:
        assert (first.icmp_type, first.icmp_code, first.errno) == (1, 1, errno.EACCES)
    else:
        assert (first.icmp_type, first.icmp_code, first.errno) == (3, 13, errno.EHOSTUNREACH)


def test_no_reply_lingers_for_the_timeout(responder_lab: ResponderLab) -> None:
    responder_lab.responder.configure(drop_all=True)
    result = run(responder_lab, "raw", socket.AF_INET, count=1, timeout=0.4)
    assert (result.transmitted, result.received, result.loss) == (1, 0, 100.0)
    assert result.rtt is None and result.time_ms == 0  # iputils: -c 1 gives time 0ms


def test_small_payloads_are_not_timed(responder_lab: ResponderLab) -> None:
    result = run(responder_lab, "raw", socket.AF_INET, count=2, size=8)
    assert result.received == 2
    assert result.rtt is None and all(r.rtt_us is None for r in result.replies)
    assert [r.size for r in result.replies] == [16, 16]


@pytest.mark.parametrize("backend", ["kernel", "raw"])
@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["v4", "v6"])
def test_kernel_transmit_stamps_start_the_rtt(netns: Netns, family: int, backend: str) -> None:
    # pingsock.ping() times from the kernel's software transmit stamp (SO_TIMESTAMPING, read
    # back from the error queue; the emulation passes on its raw socket's), which comes after
    # the clock reading before sendto() (the Sent event); the stamps never show up as errors.
    # The CLI's way (kernel_send_stamps off) times from that clock reading exactly, as
    # iputils does (on the raw backend: the emulation's reading before its system call).
    netns.set_ping_group_range(0, 0)
    target = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    for kernel_stamps in (True, False):
        events: list[object] = []
        options = pingsock.PingOptions(
            count=5, interval=0.01, backend=backend, kernel_send_stamps=kernel_stamps
        )
        with netns.entered(), pingsock.Pinger(target, options) as pinger:
            result = pinger.run(on_event=events.append)
        sent = {e.seq: e.at_ns for e in events if type(e).__name__ == "Sent"}  # type: ignore[attr-defined]
        assert (result.received, result.error_count, result.errors) == (5, 0, ())
        for reply in result.replies:
            user_rtt_us = (reply.received_at_ns - sent[reply.seq]) // 1000
            assert reply.rtt_us is not None
            if kernel_stamps:
                assert 0 <= reply.rtt_us <= user_rtt_us
            else:
                assert reply.rtt_us == user_rtt_us


def test_transmit_stamp_entries_are_recognised() -> None:
    from pingsock import linux
    from pingsock.cmsg import ExtendedError, parse_tx_timestamp

    icmp = bytes([8, 0, 0, 0, 0, 7, 0, 42]) + bytes(56)
    packet = bytes(14) + bytes([0x45]) + bytes(19) + icmp  # link header, IPv4 header, ICMP
    stamp = struct.pack("=qq", 1_700_000_000, 123) + bytes(32)  # scm_timestamping: 3 timespecs
    origin = ExtendedError(42, linux.SO_EE_ORIGIN_TIMESTAMPING, 0, 0, 0, 0, None)
    anc = [
        (linux.SOL_SOCKET, linux.SCM_TIMESTAMPING, stamp),
        (linux.SOL_IP, linux.IP_RECVERR, origin.pack(linux.AF_INET)),
    ]
    assert parse_tx_timestamp(packet, anc, len(icmp)) == (42, 1_700_000_000_000_000_123)
    icmp_error = ExtendedError(113, linux.SO_EE_ORIGIN_ICMP, 3, 1, 0, 0, "192.0.2.1")
    as_error = [anc[0], (linux.SOL_IP, linux.IP_RECVERR, icmp_error.pack(linux.AF_INET))]
    assert parse_tx_timestamp(packet, as_error, len(icmp)) is None  # an ICMP error entry
    assert parse_tx_timestamp(packet[:20], anc, len(icmp)) is None  # too short
    assert parse_tx_timestamp(packet, anc[1:], len(icmp)) is None  # no stamp
