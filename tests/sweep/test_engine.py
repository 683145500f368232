"""The sweep engine with a fake clock and fake replies: scheduling, matching, settling."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pingsock.sweep.engine import ProbeRef, SweepEngine
from pingsock.sweep.events import (
    HostDone,
    ProbeError,
    ProbeLost,
    ProbeReply,
    SweepTarget,
)
from pingsock.sweep.options import SweepOptions
from pingsock.sweep.slots import SendBatch

V4, V6 = socket.AF_INET, socket.AF_INET6
COOKIE = b"cookie!!"
MS = 1_000_000
T0 = 1_000_000 * MS


def target(address: str, family: int = V4) -> SweepTarget:
    return SweepTarget(address, address, family)


def engine(**fields: object) -> SweepEngine:
    return SweepEngine(SweepOptions(**fields), COOKIE)  # type: ignore[arg-type]


def reply_to(packet: bytes, family: int = V4) -> bytes:
    """What the kernel hands back: echo reply type, id and checksum rewritten."""
    kind = 0 if family == V4 else 129
    return bytes([kind, 0, 0x12, 0x34, 0xAB, 0xCD]) + packet[6:]


def on_reply(eng: SweepEngine, family: int, source: str, data: bytes, at: int) -> list[object]:
    out: list[object] = []
    eng.on_reply(family, source, data, at, out)  # type: ignore[arg-type]
    return out


def one_reply(eng: SweepEngine, *args: object) -> object:
    return one(on_reply(eng, *args))  # type: ignore[arg-type]


def one(events: list[object]) -> object:
    """The single event of ``events``; None when there is none."""
    assert len(events) <= 1, events
    return events[0] if events else None


def send_all(eng: SweepEngine, now: int) -> list[tuple[bytes, ProbeRef]]:
    sent = []
    while (item := eng.next_probe(now)) is not None:
        sent.append(item)
    return sent


def test_a_reply_settles_a_target_in_the_default_mode() -> None:
    eng = engine(interval=0)
    eng.add(target("192.0.2.1"))
    ((packet, _probe),) = send_all(eng, T0)
    assert packet[0] == 8 and packet[1] == 0 and packet[8:16] == COOKIE
    assert len(packet) == 8 + 56
    event = one_reply(eng, V4, "192.0.2.1", reply_to(packet), T0 + 3 * MS)
    assert isinstance(event, HostDone)
    result = event.result
    assert (result.sent, result.received, result.alive, result.rtts_ns) == (1, 1, True, (3 * MS,))
    assert result.min_ms == result.avg_ms == result.max_ms == 3.0
    assert eng.finished


def test_retries_follow_the_backoff_then_the_target_is_unreachable() -> None:
    eng = engine(interval=0, timeout=0.5, retries=2, backoff=1.5)
    eng.add(target("192.0.2.1"))
    sends = [T0]
    assert len(send_all(eng, T0)) == 1
    now = T0
    for timeout_ms in (500, 750):  # each retry waits the previous timeout times 1.5
        assert eng.wake_at(now) == now + timeout_ms * MS
        now += timeout_ms * MS
        assert eng.expire(now - 1) == []
        assert eng.expire(now) == []  # lost, a retry is due: nothing reported yet
        assert len(send_all(eng, now)) == 1
        sends.append(now)
    now += 1125 * MS
    (done,) = eng.expire(now)
    assert isinstance(done, HostDone)
    assert (done.result.sent, done.result.received, done.result.alive) == (3, 0, False)
    assert done.result.loss_percent == 100 and done.result.min_ms is None
    assert eng.finished and eng.wake_at(now) is None


def test_count_mode_reports_every_probe_and_keeps_the_period() -> None:
    eng = engine(count=3, interval=0, period=0.2, timeout=0.1)
    eng.add(target("192.0.2.1"))
    ((first, _),) = send_all(eng, T0)
    reply = one_reply(eng, V4, "192.0.2.1", reply_to(first), T0 + MS)
    assert reply == ProbeReply(target("192.0.2.1"), 0, MS, 64, None, False)
    assert one_reply(eng, V4, "192.0.2.1", reply_to(first), T0 + 2 * MS) == ProbeReply(
        target("192.0.2.1"), 0, 2 * MS, 64, None, True
    )  # a duplicate
    assert send_all(eng, T0 + 199 * MS) == []
    assert len(send_all(eng, T0 + 200 * MS)) == 1
    assert eng.expire(T0 + 300 * MS) == [ProbeLost(target("192.0.2.1"), 1)]
    ((third, _),) = send_all(eng, T0 + 400 * MS)
    # The last probe answered: the target is done at once (no wait for its timeout).
    reply, done = on_reply(eng, V4, "192.0.2.1", reply_to(third), T0 + 402 * MS)
    assert isinstance(reply, ProbeReply) and isinstance(done, HostDone)
    assert eng.finished
    result = done.result
    assert (result.sent, result.received, result.duplicates) == (3, 2, 1)
    assert result.rtts_ns == (MS, None, 2 * MS) and result.loss_percent == 33


def test_the_global_gap_spaces_every_send() -> None:
    eng = engine(interval=0.01)
    for i in range(3):
        eng.add(target(f"192.0.2.{i + 1}"))
    assert len(send_all(eng, T0)) == 1
    assert send_all(eng, T0 + 9 * MS) == []
    assert eng.wake_at(T0 + 9 * MS) == T0 + 10 * MS
    assert len(send_all(eng, T0 + 10 * MS)) == 1


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda p: reply_to(p)[:8] + b"X" + reply_to(p)[9:], id="cookie"),
        pytest.param(lambda p: reply_to(p)[:16] + b"\xff" + reply_to(p)[17:], id="stamp"),
        pytest.param(lambda p: reply_to(p)[:-1] + b"\xee", id="payload"),
        pytest.param(lambda p: reply_to(p)[:-1], id="truncated"),
        pytest.param(lambda p: reply_to(p)[:7] + bytes([p[7] ^ 1]) + reply_to(p)[8:], id="seq"),
        pytest.param(lambda p: b"\x08" + reply_to(p)[1:], id="request-type"),
        pytest.param(lambda p: b"\x00\x01" + reply_to(p)[2:], id="code"),
        pytest.param(lambda p: reply_to(p)[:20], id="short"),
    ],
)
def test_a_reply_that_is_not_an_intact_echo_never_counts(mangle: object) -> None:
    eng = engine(interval=0)
    eng.add(target("192.0.2.1"))
    ((packet, _),) = send_all(eng, T0)
    assert one_reply(eng, V4, "192.0.2.1", mangle(packet), T0 + MS) is None  # type: ignore[operator]
    assert not eng.finished


def test_a_reply_from_another_address_or_family_or_too_late_never_counts() -> None:
    eng = engine(interval=0, timeout=0.5)
    eng.add(target("192.0.2.1"))
    ((packet, _),) = send_all(eng, T0)
    assert one_reply(eng, V4, "192.0.2.2", reply_to(packet), T0 + MS) is None
    assert one_reply(eng, V6, "192.0.2.1", reply_to(packet, V6), T0 + MS) is None
    assert one_reply(eng, V4, "192.0.2.1", reply_to(packet), T0 + 501 * MS) is None
    assert one_reply(eng, V4, "192.0.2.1", reply_to(packet), T0 + 500 * MS) is not None


def test_icmp_errors_are_reported_and_the_probe_still_times_out() -> None:
    eng = engine(interval=0, retries=0)
    eng.add(target("192.0.2.1"))
    ((packet, _),) = send_all(eng, T0)
    error = eng.on_error(V4, "192.0.2.1", packet, source="198.51.100.1", kind=3, code=1)
    assert error == ProbeError(target("192.0.2.1"), 0, "198.51.100.1", 3, 1)
    assert eng.on_error(V4, "192.0.2.9", packet, source="198.51.100.1", kind=3, code=1) is None
    assert eng.on_error(V4, "192.0.2.1", packet[:7], source="x", kind=3, code=1) is None
    (done,) = eng.expire(T0 + 500 * MS)
    assert isinstance(done, HostDone) and done.result.errors == 1 and not done.result.alive


def test_max_in_flight_holds_sends_until_a_slot_is_free() -> None:
    eng = engine(interval=0, retries=0, max_in_flight=2)
    for i in range(3):
        eng.add(target(f"192.0.2.{i + 1}"))
    sent = send_all(eng, T0)
    assert len(sent) == 2 and eng.backlog == 1
    assert eng.wake_at(T0) == T0 + 500 * MS  # full: only a reply or an expiry can help
    one_reply(eng, V4, "192.0.2.1", reply_to(sent[0][0]), T0 + MS)
    assert len(send_all(eng, T0 + MS)) == 1


def test_more_targets_than_sequence_numbers() -> None:
    # 70,000 targets answered at once: numbers wrap and are reused once answered.
    eng = engine(interval=0, retries=0)
    answered = 0
    for i in range(70_000):
        eng.add(target(f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}"))
        for packet, probe in send_all(eng, T0):
            address = eng.target_of(probe.family, probe.seq).address
            event = one_reply(eng, V4, address, reply_to(packet), T0 + 1)
            answered += isinstance(event, HostDone)
    assert answered == 70_000 and eng.finished


def test_ipv6_targets_use_their_own_types() -> None:
    eng = engine(interval=0)
    eng.add(target("2001:db8::1", V6))
    ((packet, _),) = send_all(eng, T0)
    assert packet[0] == 128
    assert isinstance(one_reply(eng, V6, "2001:db8::1", reply_to(packet, V6), T0 + 1), HostDone)


@pytest.mark.parametrize(
    "fields",
    [
        {"count": 0},
        {"retries": -1},
        {"backoff": 0.5},
        {"timeout": -1},
        {"size": 15},
        {"size": 65508},
        {"max_in_flight": 0},
        {"max_in_flight": 65537},
        {"family": 99},
        {"backend": "udp"},
    ],
)
def test_bad_options_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SweepOptions(**fields)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(
    count=st.one_of(st.none(), st.integers(1, 4)),
    hosts=st.integers(1, 12),
    fates=st.lists(st.sampled_from(["reply", "dup", "drop", "late", "stray"]), min_size=60),
    tally=st.booleans(),
)
def test_every_target_finishes_once_and_counts_stay_consistent(
    count: int | None, hosts: int, fates: list[str], tally: bool
) -> None:
    options = SweepOptions(count=count, interval=0.001, period=0.01, timeout=0.005, retries=2)
    tally = tally and count is None
    eng = SweepEngine(options, COOKIE, tally=tally)
    for i in range(hosts):
        eng.add(target(f"192.0.2.{i + 1}"))
    done: dict[str, object] = {}
    now = T0
    step = 0
    for _ in range(10_000):  # bounded
        for event in eng.expire(now):
            if isinstance(event, HostDone):
                assert event.result.target.address not in done
                done[event.result.target.address] = event.result
        while (item := eng.next_probe(now)) is not None:
            packet, probe = item
            fate = fates[step % len(fates)]
            step += 1
            address = eng.target_of(probe.family, probe.seq).address
            arrival = now + (20 * MS if fate == "late" else MS)  # past every timeout
            source = "198.51.100.7" if fate == "stray" else address
            copies = 2 if fate == "dup" else (0 if fate == "drop" else 1)
            for _copy in range(copies):
                events = on_reply(eng, V4, source, reply_to(packet), arrival)
                if fate in ("late", "stray"):
                    assert events == []
                for event in events:
                    if isinstance(event, HostDone):
                        assert address not in done
                        done[address] = event.result
        if eng.finished:
            break
        wake = eng.wake_at(now)
        assert wake is not None and wake >= now
        now = max(wake, now + 1)
    counted = eng.tally.settled if eng.tally is not None else 0
    assert eng.finished and len(done) + counted == hosts
    if eng.tally is not None:
        assert len(done) == 0  # no ICMP error, no failed send: every target is counted
        assert eng.tally.received == eng.tally.alive <= hosts
        assert eng.tally.sent == eng.tally.timeouts + eng.tally.alive
    for result in done.values():
        assert 0 <= result.received <= result.sent <= (count or 3)  # type: ignore[attr-defined]
        answered = [r for r in result.rtts_ns if r is not None]  # type: ignore[attr-defined]
        assert len(answered) == result.received  # type: ignore[attr-defined]


def test_a_window_of_one_sends_as_soon_as_the_reply_is_in() -> None:
    # max_in_flight=1: each reply frees the slot, and the next probe is due at once.
    eng = engine(count=3, interval=0, period=0, max_in_flight=1)
    eng.add(target("192.0.2.1"))
    now = T0
    for number in range(3):
        ((packet, _),) = send_all(eng, now)
        assert now < eng.wake_at(now) <= now + 500 * MS  # full: a timeout or a reply
        on_reply(eng, V4, "192.0.2.1", reply_to(packet), now + MS)
        now += MS
        if number < 2:
            assert eng.wake_at(now) <= now  # due already
    assert eng.finished


def test_a_failed_send_ends_the_target_in_the_default_mode_only() -> None:
    eng = engine(interval=0, retries=3)
    eng.add(target("192.0.2.1"))
    ((_packet, probe),) = send_all(eng, T0)
    error, done = eng.send_failed(probe, 101)
    assert error == ProbeError(target("192.0.2.1"), 0, "", -1, 101)
    assert isinstance(done, HostDone) and done.result.sent == 1 and done.result.errors == 1
    assert eng.finished and send_all(eng, T0 + 10_000 * MS) == []
    counted = engine(count=2, interval=0, period=0)
    counted.add(target("192.0.2.1"))
    (_first, (_p, probe)) = send_all(counted, T0)
    assert len(counted.send_failed(probe, 101)) == 1
    assert ProbeLost(target("192.0.2.1"), 1) in counted.expire(T0 + 500 * MS)


def test_a_tallied_sweep_counts_uneventful_targets_and_reports_the_others() -> None:
    eng = SweepEngine(SweepOptions(interval=0, retries=1), COOKIE, tally=True)
    # Block addresses come without a target (made only when an event needs one).
    eng.extend([(None, bytes([192, 0, 2, i])) for i in (1, 2, 3, 4)])
    sent = send_all(eng, T0)
    assert len(sent) == 4
    by_address = {eng.target_of(p.family, p.seq).address: (packet, p) for packet, p in sent}
    assert set(by_address) == {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}
    assert on_reply(eng, V4, "192.0.2.1", reply_to(by_address["192.0.2.1"][0]), T0 + 2 * MS) == []
    packet3, probe3 = by_address["192.0.2.3"]
    error = eng.on_error(V4, "192.0.2.3", packet3, source="192.0.2.254", kind=3, code=1)
    assert isinstance(error, ProbeError) and error.target.address == "192.0.2.3"
    _packet4, probe4 = by_address["192.0.2.4"]
    error4, done4 = eng.send_failed(probe4, 101)
    assert isinstance(done4, HostDone) and done4.result.target == error4.target
    events = eng.expire(T0 + 500 * MS)  # .2 and .3 retried: nothing to report yet
    assert events == []
    retries = send_all(eng, T0 + 500 * MS)
    assert len(retries) == 2
    late = [e for e in eng.expire(T0 + 2000 * MS) if isinstance(e, HostDone)]
    # .3 had an ICMP error: reported, with the same target object its error carried.
    assert [e.result.target.address for e in late] == ["192.0.2.3"]
    assert late[0].result.target is error.target and late[0].result.errors == 1
    assert eng.finished
    tally = eng.tally
    assert tally is not None
    assert (tally.settled, tally.alive, tally.sent, tally.received, tally.timeouts) == (
        2, 1, 3, 1, 2,
    )  # fmt: skip
    assert tally.min_ns == tally.max_ns == tally.sum_ns == 2 * MS
    assert probe3.family == V4


def test_only_the_default_mode_is_tallied() -> None:
    with pytest.raises(ValueError, match="default mode"):
        SweepEngine(SweepOptions(count=2), COOKIE, tally=True)


def test_a_batch_send_times_are_placed_across_its_call() -> None:
    eng = engine(interval=0, retries=0)
    for i in range(4):
        eng.add(target(f"192.0.2.{i + 1}"))
    batch = SendBatch(V4, eng.packet_size)
    eng.prepare(batch)
    assert eng.fill(T0, {V4: batch, V6: SendBatch(V6, eng.packet_size)}) == 4
    eng.sent(batch, 0, 4, T0 + 1000, T0 + 1400)  # one sendmmsg() call, 400 ns long
    rtts = {}
    for i in range(4):
        packet = batch.packet(i)
        address = eng.target_of(V4, batch.seqs[i]).address
        (event,) = on_reply(eng, V4, address, reply_to(packet), T0 + 1500)
        assert isinstance(event, HostDone)
        rtts[address] = event.result.rtts_ns[0]
    # Probe i left at T0 + 1000 + 100 i; a reply stamped before its estimate reads 0.
    assert rtts == {"192.0.2.1": 500, "192.0.2.2": 400, "192.0.2.3": 300, "192.0.2.4": 200}
    assert eng.finished


@pytest.mark.parametrize("lose_first", [False, True])
def test_expiry_entries_stay_bounded_by_the_probes_in_flight(lose_first: bool) -> None:
    # Count mode, window 2, period 0, a 10 s timeout: an entry per probe, each answered at
    # once, 20,000 of them. Without compaction every entry would wait for its deadline; with
    # the first probe lost, its entry waits at the head of the FIFO for the whole run.
    eng = engine(count=20_000, interval=0, period=0, max_in_flight=2, timeout=10.0)
    eng.add(target("192.0.2.1"))
    now = T0
    most = answered = 0
    for _ in range(20_000):
        for packet, probe in send_all(eng, now):
            if lose_first and probe.seq == 0:
                continue
            events = on_reply(eng, V4, "192.0.2.1", reply_to(packet), now + 1000)
            answered += sum(isinstance(e, ProbeReply) for e in events)
        now += 2000
        most = max(most, eng.expiry_entries)
    assert answered == 20_000 - lose_first
    assert most <= 2 * 4096 + 2
    lost = [e for e in eng.expire(now + 10_001 * MS) if isinstance(e, ProbeLost)]
    assert len(lost) == lose_first  # the waiting one survived every compaction
    assert eng.finished and eng.expiry_entries == 0
