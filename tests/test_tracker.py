"""The probe tracker: :meth:`ProbeTracker.count_reply` keeps the books :meth:`reply` keeps."""

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
def test_count_reply_matches_reply(
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
        duplicate = lean.count_reply(message, received)
        assert (event is None) is (duplicate is None)
        if event is not None:
            assert event.duplicate is duplicate
    assert full.snapshot() == lean.snapshot()
    assert full.transmitted == lean.transmitted == sent
