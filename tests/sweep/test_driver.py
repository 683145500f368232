"""``pingsock.sweep`` / ``pingsock.asweep`` on both backends, in namespaces the tests make.

The kernel backend runs with ``ping_group_range`` "0 0" (root's group); the raw backend as root
with the default "1 0". Silent addresses are a loopback block whose echo requests an nftables
rule drops on input: the probes are sent, nothing answers, and no error comes back.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import pingsock
import pingsock.sweep
from lab.netns import Netns
from lab.topology import ROUTER_V4, V4_UNREACHABLE, RoutedLab
from lab.users import pingsock_copy
from pingsock.sweep import (
    Event,
    HostDone,
    ProbeError,
    ProbeLost,
    ProbeReply,
    ResolveFailed,
    SweepOptions,
)

BACKENDS = ["kernel", "raw"]
SILENT_NET = "127.9.0.0/24"


def prepare(ns: Netns, backend: str, *, silent: bool = False) -> None:
    if backend == "kernel":
        ns.set_ping_group_range(0, 0)
    if silent:
        ns.nft(
            "table inet silence {\n chain input {\n"
            "  type filter hook input priority 0; policy accept;\n"
            f"  ip daddr {SILENT_NET} icmp type echo-request drop\n }}\n}}\n"
        )


def events_in(ns: Netns, targets: list[str], options: SweepOptions) -> list[Event]:
    with ns.entered():
        return list(pingsock.sweep.run(targets, options))


def done(events: list[Event]) -> dict[str, pingsock.sweep.HostResult]:
    return {e.result.target.given: e.result for e in events if isinstance(e, HostDone)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tallied_sweep_counts_a_live_and_a_silent_block(netns: Netns, backend: str) -> None:
    from pingsock.sweep.driver import Sweeper

    prepare(netns, backend, silent=True)
    options = SweepOptions(backend=backend, interval=0, retries=1, timeout=0.05)
    with (
        netns.entered(),
        Sweeper(["127.1.0.0/22", SILENT_NET, "::1"], options, tally=True) as sweeper,
    ):
        events = [event for events in sweeper.rounds() for event in events]
    # Uneventful targets are counted, not reported: the blocks and the literal alike.
    assert events == []
    tally = sweeper.tally
    assert tally is not None
    assert (tally.settled, tally.alive, tally.received) == (1022 + 254 + 1, 1023, 1023)
    assert tally.timeouts == 2 * 254 and tally.sent == 1023 + 2 * 254
    assert 0 < tally.sum_ns < 1023 * 500_000_000 and 0 <= tally.min_ns <= tally.max_ns


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_live_block_is_all_alive(netns: Netns, backend: str) -> None:
    prepare(netns, backend)
    options = SweepOptions(backend=backend, interval=0, retries=0)
    results = done(events_in(netns, ["127.1.0.0/22", "::1"], options))
    assert len(results) == 1022 + 1
    assert all(r.alive and r.sent == 1 and r.received == 1 for r in results.values())
    # Probes due together leave in one sendmmsg(): a send time is placed within that call,
    # and a loopback reply can come back within that margin (read as 0, never negative).
    rtts = [r.rtts_ns[0] for r in results.values()]
    assert all(rtt is not None and 0 <= rtt < 500_000_000 for rtt in rtts)
    assert sum(rtt or 0 for rtt in rtts) > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_send_that_fails_mid_batch_ends_its_target_and_the_batch_goes_on(
    netns: Netns, backend: str
) -> None:
    # No route to 192.0.2.0/24 in this namespace: sendmmsg() stops at that message with
    # ENETUNREACH; the driver reports it and sends the rest of the batch.
    prepare(netns, backend)
    options = SweepOptions(backend=backend, interval=0, retries=2)
    targets = ["127.1.0.1-127.1.0.20", "192.0.2.1", "127.1.1.1-127.1.1.20", "192.0.2.2"]
    events = events_in(netns, targets, options)
    results = done(events)
    assert len(results) == 42
    failed = {e.target.address: e.icmp_code for e in events if isinstance(e, ProbeError)}
    assert failed == {"192.0.2.1": errno.ENETUNREACH, "192.0.2.2": errno.ENETUNREACH}
    for address in failed:
        assert (results[address].sent, results[address].errors) == (1, 1)
        assert not results[address].alive
    assert sum(r.alive for r in results.values()) == 40


@pytest.mark.parametrize("backend", BACKENDS)
def test_silent_targets_get_their_retries_with_backoff(netns: Netns, backend: str) -> None:
    prepare(netns, backend, silent=True)
    options = SweepOptions(backend=backend, interval=0, retries=2, timeout=0.05, backoff=2.0)
    started = time.monotonic()
    results = done(events_in(netns, ["127.9.0.1", "127.9.0.2", "127.0.0.1"], options))
    elapsed = time.monotonic() - started
    assert {a: (r.sent, r.received) for a, r in results.items()} == {
        "127.9.0.1": (3, 0),
        "127.9.0.2": (3, 0),
        "127.0.0.1": (1, 1),
    }
    assert 0.35 <= elapsed < 5  # 50 + 100 + 200 ms of timeouts


@pytest.mark.parametrize("backend", BACKENDS)
def test_count_mode_reports_each_probe(netns: Netns, backend: str) -> None:
    prepare(netns, backend, silent=True)
    options = SweepOptions(backend=backend, count=3, period=0.02, interval=0, timeout=0.05)
    events = events_in(netns, ["127.0.0.1", "127.9.0.9"], options)
    replies = [(e.target.given, e.number) for e in events if isinstance(e, ProbeReply)]
    lost = [(e.target.given, e.number) for e in events if isinstance(e, ProbeLost)]
    assert replies == [("127.0.0.1", 0), ("127.0.0.1", 1), ("127.0.0.1", 2)]
    assert lost == [("127.9.0.9", 0), ("127.9.0.9", 1), ("127.9.0.9", 2)]
    results = done(events)
    assert (results["127.0.0.1"].received, results["127.0.0.1"].loss_percent) == (3, 0)
    assert (results["127.9.0.9"].sent, results["127.9.0.9"].loss_percent) == (3, 100)


@pytest.mark.parametrize("backend", BACKENDS)
def test_icmp_errors_reach_the_sweep(routed_lab: RoutedLab, backend: str) -> None:
    prepare(routed_lab.client, backend)
    options = SweepOptions(backend=backend, retries=0, timeout=0.2, interval=0)
    events = events_in(routed_lab.client, [V4_UNREACHABLE], options)
    errors = [e for e in events if isinstance(e, ProbeError)]
    assert [(e.icmp_type, e.icmp_code, e.number) for e in errors] == [(3, 1, 0)]
    assert errors[0].source == ROUTER_V4
    (result,) = done(events).values()
    assert (result.sent, result.received, result.errors) == (1, 0, 1)


def test_names_and_families(netns: Netns) -> None:
    prepare(netns, "raw")
    options = SweepOptions(backend="raw", retries=0, interval=0)
    events = events_in(netns, ["localhost", "no-such-host.invalid", "::1"], options)
    failed = [e.given for e in events if isinstance(e, ResolveFailed)]
    assert failed == ["no-such-host.invalid"]
    results = done(events)
    assert results["localhost"].alive and results["::1"].alive
    only_v6 = SweepOptions(backend="raw", retries=0, interval=0, family=socket.AF_INET6)
    events = events_in(netns, ["127.0.0.0/30", "::1"], only_v6)
    assert list(done(events)) == ["::1"]


def test_the_async_sweep_streams_the_same_results(netns: Netns) -> None:
    prepare(netns, "kernel")

    async def collect() -> list[pingsock.sweep.HostResult]:
        found = []
        async for result in pingsock.asweep(["127.2.0.0/24"], backend="kernel", retries=0):
            found.append(result)
        return found

    async def other_task_runs(flag: list[int]) -> None:
        for _ in range(5):
            flag[0] += 1
            await asyncio.sleep(0)

    async def both() -> tuple[list[pingsock.sweep.HostResult], int]:
        flag = [0]
        results, _ = await asyncio.wait_for(
            asyncio.gather(collect(), other_task_runs(flag)), timeout=30
        )
        return results, flag[0]

    with netns.entered():
        results, ticks = asyncio.run(both())
    assert len(results) == 254 and all(r.alive for r in results) and ticks == 5


def test_bad_options_fail_at_the_call() -> None:
    with pytest.raises(ValueError):
        pingsock.sweep(["127.0.0.1"], retries=-1)
    with pytest.raises(TypeError):
        pingsock.sweep(["127.0.0.1"], no_such_option=1)


_SWEEP_CHILD = """
import sys, pingsock
from pingsock.sweep import SweepOptions, run, HostDone
options = SweepOptions(backend=sys.argv[2], retries=1, timeout=0.3, interval=0.0005)
alive = sent = 0
for event in run([sys.argv[1]], options):
    if isinstance(event, HostDone):
        sent += 1
        alive += event.result.alive
print(sent, alive)
"""


def _spawn(ns: Netns, target: str, backend: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(pingsock_copy())}
    return ns.popen(
        sys.executable, "-c", _SWEEP_CHILD, target, backend,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_processes_a_silent_and_a_live_range(netns: Netns, backend: str) -> None:
    # B4: each process counts only its own replies; the silent range reports none.
    prepare(netns, backend, silent=True)
    children: Iterator[subprocess.Popen[str]] = iter(
        [_spawn(netns, SILENT_NET, backend), _spawn(netns, "127.3.0.0/20", backend)]
    )
    silent, live = list(children)
    try:
        silent_out, silent_err = silent.communicate(timeout=60)
        live_out, live_err = live.communicate(timeout=60)
    finally:
        for child in (silent, live):
            if child.poll() is None:
                child.kill()
                child.wait(5)
    assert silent.returncode == 0, silent_err
    assert live.returncode == 0, live_err
    assert silent_out.split() == ["254", "0"]
    assert live_out.split() == ["4094", "4094"]
