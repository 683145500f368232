"""``pingsock.aping`` and ``pingsock.AsyncPinger`` on both backends, in namespaces.

The namespace tests (marked ``netns`` by the lab plugin through their fixtures) each run
their event loop (``asyncio.run``, every await bounded by ``wait_for``) in a thread that is
inside a namespace the test created: the kernel backend with ``ping_group_range`` "0 0", the
raw backend as root with the default "1 0". The last tests check the pure parts.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

import pingsock
from lab.netns import Netns
from lab.topology import RoutedLab
from pingsock import aio

T = TypeVar("T")
BACKENDS = ["kernel", "raw"]
CASES = [
    ("kernel", socket.AF_INET),
    ("raw", socket.AF_INET),
    ("kernel", socket.AF_INET6),
    ("raw", socket.AF_INET6),
]
IDS = ["kernel-v4", "raw-v4", "kernel-v6", "raw-v6"]
LOOPBACK = {socket.AF_INET: "127.0.0.1", socket.AF_INET6: "::1"}
LIMIT_S = 30.0  # no test waits longer than this for its coroutines


def run_in(ns: Netns, backend: str, factory: Callable[[], Awaitable[T]]) -> T:
    """Run ``factory()`` to completion in a fresh loop, in ``ns``, bounded by LIMIT_S."""
    if backend == "kernel":
        ns.set_ping_group_range(0, 0)

    async def bounded() -> T:
        return await asyncio.wait_for(factory(), LIMIT_S)

    with ns.entered():
        return asyncio.run(bounded())


def counts(result: pingsock.PingResult) -> tuple[Any, ...]:
    return (
        result.backend,
        result.transmitted,
        result.received,
        result.duplicates,
        result.error_count,
        result.loss,
        [r.seq for r in result.replies],
        [(r.size, r.ttl, r.truncated, r.duplicate) for r in result.replies],
        len(result.errors),
    )


# -- aping is ping --------------------------------------------------------------------------


@pytest.mark.parametrize(("backend", "family"), CASES, ids=IDS)
def test_aping_loopback_counts_as_sync_ping(netns: Netns, backend: str, family: int) -> None:
    host = LOOPBACK[family]
    kw: dict[str, Any] = {"count": 3, "interval": 0.05, "timeout": 1.0, "backend": backend}
    result = run_in(netns, backend, lambda: pingsock.aping(host, **kw))
    with netns.entered():
        reference = pingsock.ping(host, **kw)
    assert counts(result) == counts(reference)
    assert counts(result) == (backend, 3, 3, 0, 0, 0.0, [1, 2, 3], [(64, 64, False, False)] * 3, 0)
    assert result.target == reference.target
    assert result.rtt is not None
    rtts = [r.rtt_us for r in result.replies]
    assert all(t is not None and 0 <= t < 1_000_000 for t in rtts)
    assert result.rtt.min_us == min(rtts) and result.rtt.max_us == max(rtts)  # type: ignore[type-var]
    assert 40 <= result.time_ms < 1000  # two intervals between the first and the last probe


@pytest.mark.parametrize("backend", BACKENDS)
def test_aping_deadline_and_small_payload_as_sync(netns: Netns, backend: str) -> None:
    # -w with no -c: probes every interval until the deadline; -s 8: replies are not timed.
    kw: dict[str, Any] = {"count": None, "interval": 0.1, "deadline": 0.35, "backend": backend}
    result = run_in(netns, backend, lambda: pingsock.aping("127.0.0.1", **kw))
    with netns.entered():
        reference = pingsock.ping("127.0.0.1", **kw)
    assert result.transmitted == result.received == reference.received == reference.transmitted
    assert 3 <= result.transmitted <= 5
    small = run_in(
        netns, backend, lambda: pingsock.aping("127.0.0.1", count=2, interval=0.02, size=8)
    )
    assert (small.received, small.rtt) == (2, None)
    assert [r.size for r in small.replies] == [16, 16]


@pytest.mark.parametrize("backend", BACKENDS)
def test_rtt_is_the_kernel_receive_stamp(netns: Netns, backend: str) -> None:
    events: list[object] = []
    result = run_in(
        netns,
        backend,
        lambda: pingsock.aping("127.0.0.1", count=2, interval=0.02, on_event=events.append),
    )
    sent = [e for e in events if type(e).__name__ == "Sent"]
    assert len(sent) == 2
    for reply in result.replies:
        # received_at_ns is SO_TIMESTAMPNS (CLOCK_REALTIME at the socket). On both backends
        # the RTT starts at the kernel's transmit stamp (SO_TIMESTAMPING; the emulation passes
        # on its raw socket's), after the Sent event's clock reading.
        stamp = next(e for e in sent if e.seq == reply.seq)  # type: ignore[attr-defined]
        user_rtt_us = (reply.received_at_ns - stamp.at_ns) // 1000
        assert reply.rtt_us is not None and 0 <= reply.rtt_us <= user_rtt_us
        assert abs(reply.received_at_ns - time.time_ns()) < 30 * 10**9


# -- one socket, many coroutines ------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_200_concurrent_probes_share_one_socket(netns: Netns, backend: str) -> None:
    async def main() -> tuple[list[float | None], str | None, str | None, int]:
        async with pingsock.AsyncPinger(backend=backend) as pinger:
            assert await pinger.probe("127.0.0.1", timeout=3.0) is not None  # opens the socket
            before = len(os.listdir("/proc/self/fd"))
            rtts = await asyncio.gather(
                *(pinger.probe(f"127.0.0.{i}", timeout=3.0) for i in range(1, 201))
            )
            opened = len(os.listdir("/proc/self/fd")) - before
            return rtts, pinger.backend(socket.AF_INET), pinger.backend(socket.AF_INET6), opened

    rtts, v4, v6, opened = run_in(netns, backend, main)
    assert len(rtts) == 200
    assert all(rtt is not None and 0 <= rtt < 3.0 for rtt in rtts), rtts
    assert (v4, v6) == (backend, None)
    assert opened == 0  # all 200 went through the socket the first probe opened


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_runs_keep_their_own_numbering(netns: Netns, backend: str) -> None:
    async def main() -> list[pingsock.PingResult]:
        async with pingsock.AsyncPinger(backend=backend) as pinger:
            return await asyncio.gather(
                *(
                    pinger.ping(f"127.0.0.{i}", count=3, interval=0.02, timeout=2.0)
                    for i in range(1, 101)
                ),
                pinger.ping("::1", count=3, interval=0.02, timeout=2.0),
            )

    results = run_in(netns, backend, main)
    assert len(results) == 101
    for i, result in enumerate(results[:100], start=1):
        assert (result.transmitted, result.received, result.duplicates) == (3, 3, 0)
        assert [r.seq for r in result.replies] == [1, 2, 3]
        assert {r.source for r in result.replies} == {f"127.0.0.{i}"}
    assert (results[100].received, results[100].replies[0].source) == (3, "::1")


@pytest.mark.parametrize("backend", BACKENDS)
def test_close_ends_runs_still_going(netns: Netns, backend: str) -> None:
    async def main() -> tuple[pingsock.PingResult, float]:
        pinger = pingsock.AsyncPinger(backend=backend)
        run = asyncio.ensure_future(pinger.ping("127.0.0.1", count=None, interval=0.05))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        pinger.close()
        result = await run
        with pytest.raises(RuntimeError):
            await pinger.probe("127.0.0.1")
        return result, time.monotonic() - started

    result, took = run_in(netns, backend, main)
    assert took < 0.5 and result.received >= 2


# -- silence, errors, strays ----------------------------------------------------------------


def routed_run(lab: RoutedLab, backend: str, factory: Callable[[], Awaitable[T]]) -> T:
    return run_in(lab.client, backend, factory)


@pytest.mark.parametrize(("backend", "family"), CASES, ids=IDS)
def test_a_silent_target_times_out(routed_lab: RoutedLab, backend: str, family: int) -> None:
    target = routed_lab.v6_blackhole if family == socket.AF_INET6 else routed_lab.v4_blackhole

    async def main() -> tuple[float | None, pingsock.PingResult, float]:
        async with pingsock.AsyncPinger(backend=backend) as pinger:
            started = time.monotonic()
            rtt, result = await asyncio.gather(
                pinger.probe(target, timeout=0.3),
                pinger.ping(target, count=2, interval=0.1, timeout=0.3),
            )
            return rtt, result, time.monotonic() - started

    rtt, result, took = routed_run(routed_lab, backend, main)
    assert rtt is None
    assert (result.transmitted, result.received, result.error_count, result.loss) == (
        2,
        0,
        0,
        100.0,
    )
    assert result.rtt is None and result.replies == () and result.errors == ()
    assert 0.3 <= took < 2.0  # the last probe left at 0.1 s, then 0.3 s of linger


@pytest.mark.parametrize(("backend", "family"), CASES, ids=IDS)
def test_an_unreachable_route_is_an_error_event(
    routed_lab: RoutedLab, backend: str, family: int
) -> None:
    v6 = family == socket.AF_INET6
    target = routed_lab.v6_unreachable if v6 else routed_lab.v4_unreachable

    async def main() -> tuple[float | None, pingsock.PingResult, pingsock.PingResult, float]:
        async with pingsock.AsyncPinger(backend=backend) as pinger:
            started = time.monotonic()
            rtt = await pinger.probe(target, timeout=5.0)
            took = time.monotonic() - started
            # An error run and a clean one side by side: each error goes to its own run.
            failing, clean = await asyncio.gather(
                pinger.ping(target, count=2, interval=0.05, timeout=1.0),
                pinger.ping(LOOPBACK[family], count=3, interval=0.05, timeout=1.0),
            )
            return rtt, failing, clean, took

    rtt, failing, clean, took = routed_run(routed_lab, backend, main)
    assert rtt is None and took < 2.0  # the error answers the probe; no 5 s wait
    assert (failing.transmitted, failing.received, failing.error_count) == (2, 0, 2)
    assert failing.loss == 100.0
    assert [e.seq for e in failing.errors] == [1, 2]
    first = failing.errors[0]
    assert isinstance(first, pingsock.IcmpError)
    assert first.offender == (routed_lab.router_v6 if v6 else routed_lab.router_v4)
    if v6:
        assert (first.family, first.icmp_type, first.icmp_code) == (6, 1, 0)
        assert first.errno == errno.ENETUNREACH
    else:
        assert (first.family, first.icmp_type, first.icmp_code) == (4, 3, 1)
        assert first.errno == errno.EHOSTUNREACH
    assert (clean.received, clean.error_count, clean.errors) == (3, 0, ())


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_local_routing_failure(netns: Netns, backend: str) -> None:
    # No route at all: ping() refuses before sending (as the sync one does); a probe says None.
    async def main() -> tuple[float | None, float, OSError | None]:
        async with pingsock.AsyncPinger(backend=backend) as pinger:
            started = time.monotonic()
            rtt = await pinger.probe("192.0.2.9", timeout=5.0)
            took = time.monotonic() - started
            try:
                await pinger.ping("192.0.2.9", count=1)
            except OSError as exc:
                return rtt, took, exc
            return rtt, took, None

    rtt, took, error = run_in(netns, backend, main)
    assert rtt is None and took < 1.0
    assert error is not None and error.errno == errno.ENETUNREACH


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class Forger:
    """Reads our echo requests off the wire (a raw socket in the namespace) and answers each
    with a stray: same id, same sequence, from the target, but another payload. For the
    sequences in ``faithful`` it then also sends a true copy of the request's payload."""

    def __init__(self, family: int, ident: Callable[[], int | None], faithful: set[int]) -> None:
        proto = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
        self.family = family
        self.sock = socket.socket(family, socket.SOCK_RAW, proto)
        self.sock.setblocking(False)
        self.ident = ident
        self.faithful = faithful
        self.strays: list[int] = []
        self.copies: list[int] = []

    def __enter__(self) -> Forger:
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self.on_readable)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()

    def on_readable(self) -> None:
        v6 = self.family == socket.AF_INET6
        for _ in range(64):
            try:
                data, source = self.sock.recvfrom(65536)
            except BlockingIOError:
                return
            icmp = data if v6 else data[(data[0] & 0x0F) * 4 :]
            if len(icmp) < 8 or icmp[0] != (128 if v6 else 8):
                continue
            ident, seq = struct.unpack_from("!HH", icmp, 4)
            if ident != self.ident():
                continue
            wrong = struct.pack("=qq", int(time.time()), 0) + os.urandom(8) + icmp[32:]
            self.send(ident, seq, wrong, source)
            self.strays.append(seq)
            if seq in self.faithful:
                self.send(ident, seq, icmp[8:], source)
                self.copies.append(seq)

    def send(self, ident: int, seq: int, payload: bytes, source: tuple[Any, ...]) -> None:
        v6 = self.family == socket.AF_INET6
        kind = 129 if v6 else 0
        header = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
        checksum = 0 if v6 else _checksum(header + payload)  # the kernel sums ICMPv6 itself
        message = struct.pack("!BBHHH", kind, 0, checksum, ident, seq) + payload
        self.sock.sendto(message, source)


@pytest.mark.parametrize(("backend", "family"), CASES, ids=IDS)
def test_a_stray_reply_never_counts(netns: Netns, backend: str, family: int) -> None:
    # The namespace's kernel answers no echo request, so every reply here is forged.
    netns.sysctl(
        "net.ipv6.icmp.echo_ignore_all"
        if family == socket.AF_INET6
        else "net.ipv4.icmp_echo_ignore_all",
        "1",
    )
    host = LOOPBACK[family]

    async def main() -> tuple[pingsock.PingResult, list[int], list[int]]:
        async with pingsock.AsyncPinger(backend=backend) as pinger:
            with Forger(family, lambda: pinger.ident(family), faithful={3}) as forger:
                result = await pinger.ping(host, count=3, interval=0.1, timeout=0.3)
            return result, forger.strays, forger.copies

    result, strays, copies = run_in(netns, backend, main)
    assert strays == [1, 2, 3] and copies == [3]
    # The three strays carried our id, sequence and address and were dropped; the true copy
    # of probe 3 (which proves forged replies do reach the socket) counts, not as duplicate.
    assert (result.transmitted, result.received, result.duplicates) == (3, 1, 0)
    assert [r.seq for r in result.replies] == [3]


# -- the pure parts of the demultiplexer ----------------------------------------------------


def test_sequence_numbers_skip_those_in_use_and_wrap() -> None:
    channel = aio._Channel.__new__(aio._Channel)
    channel.probes, channel.next_seq = {}, 1
    run = object()
    busy = aio._Probe(run, 1, "127.0.0.1", b"")  # type: ignore[arg-type]
    channel.probes.update({2: busy, 3: busy, 0: busy})
    assert [channel.allocate() for _ in range(2)] == [1, 4]
    channel.next_seq = 0xFFFF
    assert [channel.allocate() for _ in range(2)] == [0xFFFF, 1]
    channel.probes.update(dict.fromkeys(range(0x10000), busy))
    assert channel.allocate() is None


@pytest.mark.parametrize(
    ("size", "where"), [(56, (16, 24)), (20, (16, 20)), (16, (16, 16)), (8, (0, 8)), (3, (0, 3))]
)
def test_the_cookie_follows_the_send_stamp(size: int, where: tuple[int, int]) -> None:
    cut = aio._cookie_slice(size)
    assert (cut.start, cut.stop) == where


def test_a_reply_must_echo_the_probe_identity() -> None:
    identity = bytes(range(24))
    probe = aio._Probe(object(), 1, "127.0.0.1", identity)  # type: ignore[arg-type]
    assert probe.echoes(identity + b"rest", quoted=False)
    assert probe.echoes(identity[:12], quoted=False)  # truncated, 12 bytes still checked
    assert not probe.echoes(identity[:4], quoted=False)  # too little left to tell
    assert probe.echoes(b"", quoted=True)  # a router quoted only the ICMP header
    assert not probe.echoes(b"\xff" + identity[1:], quoted=False)
    assert not probe.echoes(identity[:20] + b"\0\0\0\0", quoted=True)
