"""The probe tracker: :meth:`ProbeTracker.count_echo` keeps the books :meth:`reply` keeps."""

from __future__ import annotations

import socket

from hypothesis import given
from hypothesis import strategies as st

from pingsock.tracker import ProbeTracker

MESSAGE = st.tuples(
    st.sampled_from([0, 0, 0, 8, 3]),  # mostly echo replies
    st.integers(0, 40),  # seq
    st.integers(0, 80),  # payload bytes
    st.integers(-5_000, 50_000_000),  # receive time, ns after the send
)


@given(st.integers(16, 64), st.lists(MESSAGE, max_size=60), st.integers(1, 40))
def test_count_echo_matches_reply(
    size: int, messages: list[tuple[int, int, int, int]], sent: int
) -> None:
    full, lean = ProbeTracker(socket.AF_INET, size), ProbeTracker(socket.AF_INET, size)
    for seq in range(1, sent + 1):
        full.sent(seq, seq * 1_000_000)
        lean.mark_sent(seq, seq * 1_000_000)
    for kind, seq, length, after in messages:
        message = bytes([kind, 0, 0, 0, 0, 1, seq >> 8, seq & 0xFF]) + bytes(length)
        received = seq * 1_000_000 + after
        event = full.reply(message, "127.0.0.1", 64, received)
        if kind != 0:  # the caller's check (Pinger._flood): echo replies only
            assert event is None
            continue
        duplicate, rtt_us = lean.count_echo(seq, len(message), received)
        assert event is not None
        assert event.duplicate is duplicate
        assert event.rtt_us == (None if event.truncated else rtt_us)  # truncated: no time shown
    assert full.snapshot() == lean.snapshot()
    assert full.transmitted == lean.transmitted == sent


def test_a_reply_stamped_before_the_transmit_stamp_is_timed_from_the_clock() -> None:
    # A multicast probe's own looped copy is delivered before the device stamps the datagram:
    # its RTT comes from the clock read before sendto(), as iputils times it; later replies
    # from the transmit stamp. Never negative.
    tracker = ProbeTracker(socket.AF_INET, 56)
    tracker.sent(1, 1_000_000)
    tracker.restamp(1, 1_009_000)
    message = bytes([0, 0, 0, 0, 0, 1, 0, 1]) + bytes(56)
    looped = tracker.reply(message, "192.0.2.1", 64, 1_007_000)
    other = tracker.reply(message, "192.0.2.10", 64, 1_030_000)
    assert looped is not None and other is not None
    assert (looped.rtt_us, other.rtt_us) == (7, 21)
    tracker.sent(2, 2_000_000)
    tracker.restamp(2, 2_000_500)
    message = bytes([0, 0, 0, 0, 0, 1, 0, 2]) + bytes(56)
    assert tracker.count_echo(2, len(message), 2_000_400) == (False, 0)  # clock: 0.4 us
