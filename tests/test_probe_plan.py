"""The socket options the ping drivers ask for, in iputils' setup() order (spec L11), and
the schedule's clock limit."""

from __future__ import annotations

import math
import socket

from hypothesis import given
from hypothesis import strategies as st

from pingsock import linux
from pingsock.probe_plan import Schedule, socket_options
from pingsock.stats import StatsAccumulator


def test_iputils_order_and_what_a_count_only_run_leaves_out() -> None:
    assert socket_options(socket.AF_INET, ttl=5, tos=0x10, timestamps=True) == [
        (linux.SOL_IP, linux.IP_RECVERR, 1),
        (linux.SOL_IP, linux.IP_RECVTTL, 1),
        (linux.SOL_SOCKET, linux.SO_TIMESTAMPNS, 1),
        (linux.SOL_IP, linux.IP_TTL, 5),
        (linux.SOL_IP, linux.IP_TOS, 0x10),
    ]
    # -U reads the clock after recvmsg: no kernel stamp. A run that shows no reply (-q)
    # needs no TTL cmsg either.
    assert socket_options(
        socket.AF_INET6, ttl=None, tos=None, timestamps=False, reply_ttl=False
    ) == [(linux.SOL_IPV6, linux.IPV6_RECVERR, 1)]


@given(
    st.one_of(st.none(), st.floats(0, 100)),
    st.one_of(st.none(), st.floats(0, 100)),
    st.floats(0, 200),
)
def test_clock_limit_is_when_finished_ends_the_run_by_the_clock(
    deadline_at: float | None, linger_until: float | None, now: float
) -> None:
    # Pinger._flood compares its clock reading with clock_limit() instead of calling
    # finished(): with no count reached and no error, the two agree at every time.
    plan = Schedule(None, None, 10.0, 0, linger_until=linger_until, deadline_at=deadline_at)
    stats = StatsAccumulator()
    assert plan.finished(stats, now) is (now >= plan.clock_limit())
    if deadline_at is None and linger_until is None:
        assert plan.clock_limit() == math.inf
