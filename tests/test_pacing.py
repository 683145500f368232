"""The token bucket of iputils' pinger(), driven by a fake clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pingsock.pacing import MIN_INTERVAL_MS, Pacer

MS = 1_000_000


def sends(pacer: Pacer, times_ms: list[int], in_flight: int = 0) -> list[int]:
    """The times (ms) at which a probe may leave, polling at each given time."""
    out = []
    for t in times_ms:
        if pacer.wait_ms(t * MS, in_flight) is None:
            pacer.sent_ok()
            out.append(t)
    return out


def test_first_probe_leaves_at_once_then_one_per_interval() -> None:
    pacer = Pacer(1000)
    assert sends(pacer, [0, 1, 500, 999, 1000, 1500, 2000]) == [0, 1000, 2000]


def test_wait_hint_counts_down_to_the_next_probe() -> None:
    pacer = Pacer(1000)
    assert pacer.wait_ms(0, 0) is None
    assert pacer.sent_ok() == 1000
    assert pacer.wait_ms(250 * MS, 1) == 750


def test_preload_sends_a_burst_then_settles() -> None:
    pacer = Pacer(200, preload=3)
    # Three at once (the bucket starts with interval * (preload - 1) tokens), then one per 200 ms.
    assert sends(pacer, [0, 0, 0, 0, 100, 200, 300, 400]) == [0, 0, 0, 200, 400]


def test_flood_waits_for_the_reply_or_ten_ms() -> None:
    pacer = Pacer(0)
    assert pacer.wait_ms(0, 0) is None
    pacer.sent_ok()
    # One probe in flight, preload 1: wait up to MIN_INTERVAL_MS for its reply.
    assert pacer.wait_ms(3 * MS, 1) == MIN_INTERVAL_MS - 3
    # The reply came back: nothing in flight, send at once.
    assert pacer.wait_ms(3 * MS, 0) is None
    pacer.sent_ok()
    # No reply: after 10 ms the next probe leaves anyway ("100 pps when no reply").
    assert pacer.wait_ms(13 * MS, 1) is None


def test_again_later_gives_the_tokens_back() -> None:
    pacer = Pacer(100)
    assert pacer.wait_ms(0, 0) is None
    assert pacer.sent_again_later() == MIN_INTERVAL_MS
    # The failed probe's tokens are back: the retry may leave right away.
    assert pacer.wait_ms(0, 0) is None


def test_hard_failure_waits_one_interval() -> None:
    pacer = Pacer(5)
    assert pacer.wait_ms(0, 0) is None
    assert pacer.sent_failed() == MIN_INTERVAL_MS  # SCHINT(5) = 10
    assert Pacer(500).sent_no_buffers() == 250


def test_elapsed_time_uses_c_truncation_across_seconds() -> None:
    pacer = Pacer(1000)
    assert pacer.wait_ms(999_900_000, 0) is None
    pacer.sent_ok()
    # 1.9999 s - 0.9999 s is exactly 1000 ms even though the nanoseconds wrap.
    assert pacer.wait_ms(1_999_900_000, 1) is None


@given(
    interval=st.integers(1, 2000),
    preload=st.integers(1, 16),
    steps=st.lists(st.integers(0, 3000), min_size=1, max_size=50),
)
def test_never_more_than_preload_plus_rate(interval: int, preload: int, steps: list[int]) -> None:
    """packets <= rate * time + preload, whatever the polling pattern."""
    pacer = Pacer(interval, preload)
    now = 0
    sent = 0
    for step in steps:
        now += step
        if pacer.wait_ms(now * MS, 0) is None:
            pacer.sent_ok()
            sent += 1
        assert sent <= now // interval + preload


@given(
    st.integers(1, 64),
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 70)), min_size=1, max_size=40),
)
def test_flood_sent_is_what_wait_ms_does_with_room_in_the_window(
    preload: int, steps: list[tuple[int, int]]
) -> None:
    # Interval 0 with fewer than `preload` in flight: wait_ms always says "now"; flood_sent is
    # that answer without the arithmetic, so the two pacers agree on every later question.
    general, flood = Pacer(0, preload), Pacer(0, preload)
    now = 0
    for step_ms, in_flight in steps:
        now += step_ms * MS // 3
        if in_flight < preload:
            assert general.wait_ms(now, in_flight) is None
            general.sent_ok()
            flood.flood_sent(now)
        else:
            assert general.wait_ms(now, in_flight) == flood.wait_ms(now, in_flight)
