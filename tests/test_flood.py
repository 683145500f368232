"""The unpaced flood (``-f`` as root, ``interval=0``): its own tight loop in the blocking driver.

``Pinger._flood`` keeps the same books as the general loop and hands it everything unusual, so
these runs check that the numbers come out as the general loop's: against a responder that
duplicates, drops, damages and answers with errors, with and without per-packet events, on
both backends; and that -w, a stop and a status request end or interrupt it in time.
"""

from __future__ import annotations

import errno
import socket
import time

import pytest

import pingsock
from lab.netns import Netns
from lab.responder import ResponderLab
from pingsock.backends.kernel import KernelPingSocket
from pingsock.events import Event, LocalError, Reply, Sent, StatusRequest

pytestmark = pytest.mark.netns

BACKENDS = ["kernel", "raw"]


def flood(
    lab: ResponderLab, backend: str, family: int, *, general: bool = False, **kw: object
) -> tuple[pingsock.PingResult, list[Event]]:
    """One flood run against the responder; ``general`` forces the general loop (-O)."""
    lab.client.set_ping_group_range(0, 0)
    target = lab.responder_v6 if family == socket.AF_INET6 else lab.responder_v4
    options = pingsock.PingOptions(
        interval=0,
        linger=0.5,
        backend=backend,  # type: ignore[arg-type]
        report_outstanding=general,
        **kw,  # type: ignore[arg-type]
    )
    events: list[Event] = []
    with lab.client.entered(), pingsock.Pinger(target, options) as pinger:
        assert pinger._unpaced_flood() is not general
        result = pinger.run(on_event=events.append)
        batched = backend == "kernel" and not general and not options.reply_events
        assert (pinger._batches is not None) is (batched and options.preload > 1)
    return result, events


def counts(result: pingsock.PingResult) -> tuple[int, int, int, int]:
    return (result.transmitted, result.received, result.duplicates, result.error_count)


@pytest.mark.parametrize("preload", [1, 4])  # 4, kernel, no events: replies read by recvmmsg
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("family", [socket.AF_INET, socket.AF_INET6], ids=["v4", "v6"])
def test_drops_and_duplicates_count_as_in_the_general_loop(
    responder_lab: ResponderLab, backend: str, family: int, preload: int
) -> None:
    # Probe 3 is dropped (the flood's 10 ms "no reply" probe moves it on); every other reply
    # comes twice, 2 ms apart, so a copy is read while the next probe is in flight.
    responder_lab.responder.configure(drop_seqs=frozenset({3}), duplicates=1, delay_ms=2)
    outcomes = []
    for general in (True, False):
        for events_on in (True, False):
            result, events = flood(
                responder_lab,
                backend,
                family,
                count=8,
                general=general,
                reply_events=events_on,
                preload=preload,
            )
            assert (result.transmitted, result.received) == (8, 7)
            assert 6 <= result.duplicates <= 7  # the last copy may land after the run
            assert result.rtt is not None and result.rtt.min_us >= 2000
            replies = [e for e in events if isinstance(e, Reply)]
            if events_on:
                assert [e.seq for e in events if isinstance(e, Sent)] == list(range(1, 9))
                assert [r.seq for r in replies if not r.duplicate] == [1, 2, 4, 5, 6, 7, 8]
                assert len(replies) == result.received + result.duplicates
                assert result.replies == tuple(replies)
            else:
                assert replies == [] and result.replies == ()
            outcomes.append((general, events_on, result.transmitted, result.received))
    assert len(set(o[2:] for o in outcomes)) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_icmp_errors_end_up_as_events_either_way(responder_lab: ResponderLab, backend: str) -> None:
    responder_lab.responder.configure(error=(3, 1))
    for events_on in (True, False):
        result, events = flood(
            responder_lab, backend, socket.AF_INET, count=4, reply_events=events_on
        )
        assert (result.received, result.error_count) == (0, 4)
        assert [e.seq for e in result.errors] == [1, 2, 3, 4]  # type: ignore[union-attr]
        assert len([e for e in events if isinstance(e, Sent)]) == (4 if events_on else 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_damaged_and_short_replies(responder_lab: ResponderLab, backend: str) -> None:
    responder_lab.responder.configure(corrupt="checksum")
    result, _ = flood(responder_lab, backend, socket.AF_INET, count=3, reply_events=False)
    assert counts(result) == (3, 0, 0, 0)
    responder_lab.responder.configure(truncate=20)
    result, _ = flood(responder_lab, backend, socket.AF_INET, count=3, reply_events=False)
    assert counts(result) == (3, 3, 0, 0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("preload", [1, 16])
def test_loopback_flood_with_a_deadline(netns: Netns, backend: str, preload: int) -> None:
    netns.set_ping_group_range(0, 0)
    options = pingsock.PingOptions(
        interval=0,
        deadline=0.3,
        preload=preload,
        backend=backend,
        reply_events=False,  # type: ignore[arg-type]
    )
    with netns.entered(), pingsock.Pinger("127.0.0.1", options) as pinger:
        started = time.monotonic()
        result = pinger.run()
        took = time.monotonic() - started
    assert 0.29 <= took < 1.0
    assert result.transmitted > 200
    assert result.transmitted - preload <= result.received <= result.transmitted
    assert result.stats.pipesize == preload
    assert result.error_count == 0 and result.duplicates == 0


def test_stop_and_status_requests_reach_the_flood(netns: Netns) -> None:
    netns.set_ping_group_range(0, 0)
    options = pingsock.PingOptions(interval=0, count=100_000, backend="kernel")
    seen: list[Event] = []
    with netns.entered(), pingsock.Pinger("127.0.0.1", options) as pinger:

        def on_event(event: Event) -> None:
            seen.append(event)
            if isinstance(event, Reply) and event.seq == 100:
                pinger.request_status()
            if isinstance(event, Reply) and event.seq == 300:
                pinger.stop()

        result = pinger.run(on_event)
    status = [i for i, e in enumerate(seen) if isinstance(e, StatusRequest)]
    assert len(status) == 1
    assert isinstance(seen[status[0] - 1], Reply) and seen[status[0] - 1].seq == 100  # type: ignore[union-attr]
    assert result.received == 300 and result.transmitted == 300


class _FlakySocket(KernelPingSocket):
    """The kernel's ping socket, whose sends fail with the errnos given, one per send."""

    failures: dict[int, int]  # the n-th send (from 1) -> errno
    sends = 0

    def sendto(self, *args: object) -> int:  # type: ignore[override]
        self.sends += 1
        code = self.failures.get(self.sends)
        if code is not None:
            raise OSError(code, "injected")
        return super().sendto(*args)  # type: ignore[call-overload, no-any-return]


@pytest.mark.parametrize("preload", [1, 4])
def test_a_failed_send_inside_the_flood_is_handled_as_the_general_loop_does(
    netns: Netns, preload: int
) -> None:
    # pinger(): EAGAIN and ENOBUFS retry the probe later (not counted as sent); another error
    # counts it as sent and reports a local error. The flood must leave the pacer's wait to
    # those rules, not reset it, and carry on; both loops end with the same numbers.
    netns.set_ping_group_range(0, 0)
    outcomes = []
    for general in (False, True):
        options = pingsock.PingOptions(
            interval=0, count=40, preload=preload, linger=0.5, report_outstanding=general
        )
        with netns.entered():
            sock = _FlakySocket(socket.AF_INET)
        sock.failures = {5: errno.EAGAIN, 9: errno.ENOBUFS, 13: errno.EPERM}
        events: list[Event] = []
        with netns.entered(), pingsock.Pinger("127.0.0.1", options, sock=sock) as pinger:
            assert pinger._unpaced_flood() is not general
            started = time.monotonic()
            result = pinger.run(on_event=events.append)
            took = time.monotonic() - started
        assert took < 2.0
        local = [e for e in events if isinstance(e, LocalError)]
        assert [e.errno for e in local] == [errno.EPERM]
        outcomes.append((result.transmitted, result.received, result.error_count))
    assert outcomes[0] == outcomes[1]
    transmitted, received, _errors = outcomes[0]
    assert transmitted == 40 and received == 39  # the EPERM probe counts as sent, unanswered
