"""iputils-exact statistics arithmetic (shared/spec/iputils-ping.md section 5)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingsock.events import Event, IcmpError, LocalError, NoAnswerYet, Reply, Sent
from pingsock.stats import (
    INT_MAX,
    LONG_MAX,
    PingStats,
    RttSummary,
    StatsAccumulator,
    _llsqrt,
    c_div,
    c_mod,
    elapsed_ms,
    format_reply_time,
    format_us_as_ms,
    ipg_us,
)


def run(times: list[int], *, dups: int = 0) -> PingStats:
    """tx = len(times) - dups; the last `dups` times are duplicates of seq 1."""
    acc = StatsAccumulator()
    for _ in range(len(times) - dups):
        acc.sent()
    for i, t in enumerate(times):
        duplicate = i >= len(times) - dups
        acc.reply(1 if duplicate else i + 1, t, duplicate=duplicate)
    return acc.snapshot()


def rtt_text(stats: PingStats) -> str:
    rtt = stats.rtt
    assert rtt is not None
    return "/".join(format_us_as_ms(v) for v in (rtt.min_us, rtt.avg_us, rtt.max_us, rtt.mdev_us))


# -- C integer semantics ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "q", "r"),
    [(7, 2, 3, 1), (-7, 2, -3, -1), (7, -2, -3, 1), (-7, -2, 3, -1), (0, 5, 0, 0), (-8, 8, -1, 0)],
)
def test_c_div_mod_truncate_toward_zero(a: int, b: int, q: int, r: int) -> None:
    assert (c_div(a, b), c_mod(a, b)) == (q, r)


@given(st.integers(-(10**12), 10**12), st.integers(-(10**6), 10**6).filter(bool))
def test_c_div_mod_identity(a: int, b: int) -> None:
    assert c_div(a, b) * b + c_mod(a, b) == a
    assert abs(c_mod(a, b)) < abs(b)
    assert c_mod(a, b) == 0 or (c_mod(a, b) < 0) == (a < 0)


@pytest.mark.parametrize(
    ("us", "text"),
    [(0, "0.000"), (28, "0.028"), (1043, "1.043"), (153060, "153.060"), (57121, "57.121")],
)
def test_format_us_as_ms(us: int, text: str) -> None:
    assert format_us_as_ms(us) == text


def test_format_us_as_ms_negative_looks_like_c() -> None:
    # %ld.%03ld of C's truncating / and %: the remainder keeps the minus sign.
    assert format_us_as_ms(-1234) == "-1.-234"
    assert format_us_as_ms(-5) == "0.-05"
    assert format_us_as_ms(-1000) == "-1.000"


# -- reply time rounding (5.2) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (0, "0.000"),
        (28, "0.028"),
        (989, "0.989"),
        (999, "0.999"),
        (1000, "1.00"),
        (1004, "1.00"),
        (1005, "1.01"),
        (6025, "6.03"),
        (9994, "9.99"),
        (9995, "10.0"),
        (10044, "10.0"),
        (10050, "10.1"),
        (12345, "12.3"),
        (52949, "52.9"),
        (52950, "53.0"),
        (99949, "99.9"),
        (99950, "100"),
        (100000, "100"),
        (153060, "153"),
        (1200500, "1201"),
    ],
)
def test_format_reply_time_boundaries(t: int, text: str) -> None:
    assert format_reply_time(t) == text


@given(st.integers(1000, 999_499))
def test_reply_time_three_significant_digits_half_up(t: int) -> None:
    text = format_reply_time(t)
    assert len(text.replace(".", "")) == 3
    decimals = len(text.split(".")[1]) if "." in text else 0
    unit = Fraction(1, 10**decimals)
    exact = Fraction(t, 1000)
    # half-up: the shown value v satisfies v - unit/2 <= t/1000 < v + unit/2
    assert Fraction(text) - unit / 2 <= exact < Fraction(text) + unit / 2


@given(st.integers(0, 999))
def test_reply_time_exact_below_one_ms(t: int) -> None:
    assert Fraction(format_reply_time(t)) == Fraction(t, 1000)


# -- min/avg/max/mdev (5.3) -------------------------------------------------------------------


def test_spec_worked_example() -> None:
    stats = run([1043, 6497, 52927, 153060, 10942])
    assert stats.rtt == RttSummary(1043, 44893, 153060, 57121)
    assert rtt_text(stats) == "1.043/44.893/153.060/57.121"


def test_normal_v4_dgram_golden_values() -> None:
    # 01_normal_v4_dgram: 0.028, 0.023, 0.026 ms -> 0.023/0.025/0.028/0.002
    assert rtt_text(run([28, 23, 26])) == "0.023/0.025/0.028/0.002"


def test_duplicates_count_in_timing_but_not_in_received() -> None:
    stats = run([100, 300], dups=1)
    assert (stats.transmitted, stats.received, stats.duplicates) == (1, 1, 1)
    assert stats.timed == 2
    assert stats.rtt == RttSummary(100, 200, 300, 100)


def test_corrupted_replies_are_not_timed_or_acknowledged() -> None:
    acc = StatsAccumulator()
    acc.sent()
    acc.reply(1, 5000, duplicate=False, corrupted=True)
    stats = acc.snapshot()
    assert (stats.received, stats.corrupted, stats.tsum, stats.pipesize) == (0, 1, 0.0, -1)
    assert stats.rtt is None


def test_no_reply_means_no_rtt() -> None:
    acc = StatsAccumulator()
    acc.sent()
    stats = acc.snapshot()
    assert stats.rtt is None
    assert (stats.avg_us, stats.mdev_us, stats.tmin_us, stats.tmax_us) == (0, 0, LONG_MAX, 0)


def test_untimed_replies_keep_iputils_initial_min_max() -> None:
    acc = StatsAccumulator()
    acc.sent()
    acc.reply(1, None, duplicate=False)
    assert acc.snapshot().rtt == RttSummary(LONG_MAX, 0, 0, 0)


def test_negative_rtt_counts_as_zero() -> None:
    # gather_statistics: "time of day goes back" -> triptime = 0
    assert run([-50, 100]).rtt == RttSummary(0, 50, 100, 50)


def test_mdev_large_sum_branch() -> None:
    # tsum >= INT_MAX switches to tsum2/total - avg*avg
    stats = run([1_000_000_000, 2_000_000_000])
    assert stats.tsum >= INT_MAX
    assert stats.rtt == RttSummary(1_000_000_000, 1_500_000_000, 2_000_000_000, 500_000_000)


def test_llsqrt_returns_nonpositive_arguments_unchanged() -> None:
    assert _llsqrt(0) == 0
    assert _llsqrt(-3) == -3


def test_llsqrt_rounds_up_below_a_perfect_square() -> None:
    # Newton's loop in iputils returns its last iterate: 14 -> 15 for 224 = 15*15 - 1.
    assert [_llsqrt(a) for a in (3, 8, 224, 225, 226)] == [2, 3, 15, 15, 15]
    # 10, 10, 29 us: variance 80.2 -> tmvar 80 -> mdev 9 (0.009 ms), although sqrt is 8.96.
    stats = run([10, 10, 29])
    assert stats.rtt == RttSummary(10, 16, 29, 9)


def _newton(a: int) -> int:
    # The loop of iputils' llsqrt, for comparison.
    prev, x = 2**63, a
    if x > 0:
        while x < prev:
            prev = x
            x = (x + a // x) // 2
    return x


@given(st.integers(0, 2**62))
def test_llsqrt_matches_newton_loop(a: int) -> None:
    assert _llsqrt(a) == _newton(a)


def test_llsqrt_matches_newton_loop_exhaustively_for_small_values() -> None:
    assert all(_llsqrt(a) == _newton(a) for a in range(-2, 20_000))


@given(st.lists(st.integers(0, 2_000_000), min_size=1, max_size=40))
def test_mdev_is_floor_of_population_stddev(times: list[int]) -> None:
    n = len(times)
    mean = Fraction(sum(times), n)
    var = sum((Fraction(t) - mean) ** 2 for t in times) / n
    stats = run(times)
    # floor(sqrt(floor(var))) == floor(sqrt(var)); llsqrt adds one below a perfect square
    assert stats.mdev_us == _newton(math.floor(var))
    assert stats.mdev_us in (math.isqrt(math.floor(var)), math.isqrt(math.floor(var)) + 1)
    assert stats.avg_us == math.floor(mean)
    assert (stats.tmin_us, stats.tmax_us) == (min(times), max(times))


# -- loss -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tx", "rx", "text", "whole"),
    [
        (3, 3, "0", 0),
        (2, 1, "50", 50),
        (3, 0, "100", 100),
        (3, 2, "33.3333", 33),
        (3, 1, "66.6667", 66),
        (7, 6, "14.2857", 14),
    ],
)
def test_loss_percent(tx: int, rx: int, text: str, whole: int) -> None:
    stats = PingStats(transmitted=tx, received=rx)
    assert f"{stats.loss_percent:g}" == text
    assert stats.loss_percent_int == whole


def test_loss_goes_through_a_c_float() -> None:
    # 100/3 as a float32 is 33.33333206..., not the double 33.333333333...
    assert PingStats(transmitted=3, received=2).loss_percent == pytest.approx(33.33333206, 1e-9)
    assert PingStats(transmitted=3, received=2).loss_percent != 100 / 3


def test_loss_before_sending() -> None:
    assert PingStats().loss_percent == 0.0
    assert PingStats().loss_percent_int == 0


# -- ewma -------------------------------------------------------------------------------------


def test_ewma_fixed_point() -> None:
    stats = run([21, 20, 21])
    # 168 -> 168 + 20 - 21 = 167 -> 167 + 21 - 20 = 168
    assert stats.ewma_x8 == 168
    assert stats.ewma_us == 21


def test_ewma_reseeds_while_zero() -> None:
    # `if (!rts->rtt) rts->rtt = triptime * 8`: a zero average is seeded again.
    assert run([0, 0, 5]).ewma_x8 == 40


def test_ewma_wraps_like_a_c_int_and_divides_toward_zero() -> None:
    stats = run([300_000_000])  # 8t = 2.4e9 does not fit an int
    assert stats.ewma_x8 == 2_400_000_000 - 2**32
    assert stats.ewma_us == -((2**32 - 2_400_000_000) // 8)


# -- time, ipg, pipe --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ns", "ms"),
    [(0, 0), (2_045_499_999, 2045), (2_045_500_000, 2046), (999_999, 1), (499_999, 0)],
)
def test_elapsed_ms_rounds_half_up(ns: int, ms: int) -> None:
    assert elapsed_ms(ns) == ms


def test_ipg() -> None:
    assert ipg_us(2_000_123_456, 3) == 1_000_061
    assert ipg_us(62_999, 2) == 62


def test_pipe_grows_with_unanswered_probes() -> None:
    # 16_*: three probes out, three ICMP errors afterwards -> pipe 3
    acc = StatsAccumulator()
    for _ in range(3):
        acc.sent()
    assert acc.in_flight() == 3
    for seq in (1, 2, 3):
        acc.icmp_error(seq)
    stats = acc.snapshot()
    assert (stats.pipesize, stats.errors, stats.received) == (3, 3, 0)
    assert acc.in_flight() == 0


def test_pipe_is_one_for_lockstep_pings() -> None:
    acc = StatsAccumulator()
    for seq in range(1, 5):
        acc.sent()
        acc.reply(seq, 30, duplicate=False)
    assert acc.snapshot().pipesize == 1


def test_sequence_wrap_keeps_pipe_accounting() -> None:
    acc = StatsAccumulator()
    for n in range(1, 70_001):
        acc.sent()
        acc.reply(n & 0xFFFF, 10, duplicate=False)
    assert acc.snapshot().pipesize == 1
    assert acc.in_flight() == 0


def test_local_errors_not_counted_under_quiet() -> None:
    loud, quiet = StatsAccumulator(), StatsAccumulator(quiet=True)
    for acc in (loud, quiet):
        acc.sent()
        acc.local_error()
        acc.icmp_error(1)
    assert loud.snapshot().errors == 2
    assert quiet.snapshot().errors == 1


def test_record_events() -> None:
    acc = StatsAccumulator()
    events: list[Event] = [
        Sent(seq=1, at_ns=0),
        Reply(1, "203.0.113.1", 64, 63, 28, False, False, 1),
        Reply(1, "203.0.113.1", 64, 63, 30, True, False, 2),
        Sent(seq=2, at_ns=3),
        NoAnswerYet(seq=2, at_ns=4),
        IcmpError(2, "198.51.100.254", 4, 11, 0, 0, 113, 5),
        LocalError(errno=90, seq=None, mtu=1500, received_at_ns=6),
    ]
    for event in events:
        acc.record(event)
    stats = acc.snapshot()
    assert (stats.transmitted, stats.received, stats.duplicates, stats.errors) == (2, 1, 1, 2)
    assert stats.tsum == 58.0
