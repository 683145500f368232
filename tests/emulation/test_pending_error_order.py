"""``sk_err`` across error-queue reads, as ``sock_dequeue_err_skb()`` sets it (spec J5, F2).

The rule, from net/core/skbuff.c: after the head is dequeued, an ICMP error now at the head sets
``sk_err`` to its errno; otherwise, if the dequeued entry was an ICMP error, ``sk_err`` becomes
0; a local error (``ip_local_error()``, which never set ``sk_err``) dequeued with no ICMP error
behind it leaves ``sk_err`` as it was.
"""

from __future__ import annotations

import errno

from hypothesis import given, settings
from hypothesis import strategies as st

from pingsock import linux
from pingsock.cmsg import ExtendedError
from pingsock.emulation.demux import ErrorArrival
from pingsock.emulation.icmp_errors import icmp4_error_verdict
from pingsock.emulation.state import ErrorEntry, PingSocketState

V4, V6 = linux.AF_INET, linux.AF_INET6
ORIGINS = (
    linux.SO_EE_ORIGIN_NONE,
    linux.SO_EE_ORIGIN_LOCAL,
    linux.SO_EE_ORIGIN_ICMP,
    linux.SO_EE_ORIGIN_ICMP6,
)


def entry(code: int, origin: int = linux.SO_EE_ORIGIN_ICMP) -> ErrorEntry:
    """An error-queue entry; a local one as ``ip_local_error()`` makes it (no offender)."""
    local = origin in (linux.SO_EE_ORIGIN_LOCAL, linux.SO_EE_ORIGIN_NONE)
    error = ExtendedError(code, origin, 0 if local else 3, 0 if local else 1, 0, 0, None)
    return ErrorEntry(error, b"" if local else b"\x08\0\0\0", "203.0.113.1")


def local(code: int = errno.EMSGSIZE) -> ErrorEntry:
    return entry(code, linux.SO_EE_ORIGIN_LOCAL)


def state_with(*entries: ErrorEntry, sk_err: int = 0, family: int = V4) -> PingSocketState:
    state = PingSocketState(family, ident=1, recverr=True, sk_err=sk_err)
    for item in entries:
        state.queue_error(item)
    return state


def pop_codes(state: PingSocketState) -> list[tuple[int, int]]:
    """(errno of the entry read, sk_err after the read) for every entry in the queue."""
    got = []
    while (item := state.pop_error_entry()) is not None:
        got.append((item.error.errno, state.sk_err))
    return got


def test_is_icmp_only_for_the_two_icmp_origins() -> None:
    assert [entry(1, origin).is_icmp for origin in ORIGINS] == [False, False, True, True]


def test_icmp_then_icmp_rearms_with_the_next_errno() -> None:
    state = state_with(entry(errno.EHOSTUNREACH), entry(errno.ECONNREFUSED))
    assert pop_codes(state) == [(errno.EHOSTUNREACH, errno.ECONNREFUSED), (errno.ECONNREFUSED, 0)]


def test_icmp_then_local_clears() -> None:
    state = state_with(entry(errno.EHOSTUNREACH), local(), sk_err=errno.EHOSTUNREACH)
    assert pop_codes(state) == [(errno.EHOSTUNREACH, 0), (errno.EMSGSIZE, 0)]


def test_local_then_icmp_arms_with_the_icmp_errno() -> None:
    # An SO_ERROR read consumed sk_err; dequeuing the local error re-arms it for the ICMP one.
    state = state_with(local(), entry(errno.ENETUNREACH))
    assert pop_codes(state) == [(errno.EMSGSIZE, errno.ENETUNREACH), (errno.ENETUNREACH, 0)]


def test_local_errors_leave_a_pending_error_alone() -> None:
    state = state_with(local(), local(), sk_err=errno.ECONNREFUSED)
    assert pop_codes(state) == [(errno.EMSGSIZE, errno.ECONNREFUSED)] * 2
    assert state.take_pending_error() == errno.ECONNREFUSED


def test_local_error_alone_never_sets_sk_err() -> None:
    state = state_with(local())
    assert pop_codes(state) == [(errno.EMSGSIZE, 0)]


def test_icmp6_entries_count_as_icmp() -> None:
    icmp6 = entry(errno.EMSGSIZE, linux.SO_EE_ORIGIN_ICMP6)
    state = state_with(local(), icmp6, local(), family=V6)
    assert pop_codes(state) == [
        (errno.EMSGSIZE, errno.EMSGSIZE),  # the ICMPv6 Packet Too Big behind it arms sk_err
        (errno.EMSGSIZE, 0),  # dequeuing it clears: only a local error is left
        (errno.EMSGSIZE, 0),
    ]


def test_an_empty_queue_read_leaves_sk_err_alone() -> None:
    state = state_with(sk_err=errno.ECONNREFUSED)
    assert state.pop_error_entry() is None
    assert state.sk_err == errno.ECONNREFUSED


def test_through_on_icmp_error_with_a_local_error_between() -> None:
    state = PingSocketState(V4, ident=1, recverr=True)
    state.on_icmp_error(arrival(3, 1))  # queued, sk_err = EHOSTUNREACH (J3)
    state.queue_error(local())  # F2: the local EMSGSIZE does not touch sk_err
    assert state.sk_err == errno.EHOSTUNREACH
    state.on_icmp_error(arrival(3, 3))
    assert state.take_pending_error() == errno.ECONNREFUSED  # J5: consumed
    assert pop_codes(state) == [
        (errno.EHOSTUNREACH, 0),  # a local error is next: cleared
        (errno.EMSGSIZE, errno.ECONNREFUSED),  # the port unreachable is next: re-armed
        (errno.ECONNREFUSED, 0),
    ]


def arrival(icmp_type: int, code: int) -> ErrorArrival:
    verdict = icmp4_error_verdict(icmp_type, code)
    assert verdict is not None
    quoted = b"\x08\x00\x00\x00\x12\x34\x00\x01"
    return ErrorArrival(verdict, icmp_type, code, 0, "198.51.100.254", "203.0.113.1", quoted)


def test_on_icmp_error_stores_the_cmsgs_and_address_fields_unchanged() -> None:
    state = PingSocketState(V4, ident=1, recverr=True)
    stamp = (linux.SOL_SOCKET, linux.SCM_TIMESTAMPNS, bytes(16))
    state.on_icmp_error(arrival(3, 1), 42, ancillary=(stamp,), flowinfo=7, scope_id=3)
    queued = state.pop_error_entry()
    assert queued is not None and queued.is_icmp
    assert (queued.timestamp_ns, queued.ancillary, queued.flowinfo, queued.scope_id) == (
        42,
        (stamp,),
        7,
        3,
    )
    assert (queued.port, local().ancillary, local().flowinfo, local().scope_id) == (0, (), 0, 0)


# -- The rule as a property: a model of sock_dequeue_err_skb() over any queue ------------------

ENTRIES = st.lists(
    st.builds(entry, st.sampled_from([errno.EHOSTUNREACH, errno.ECONNREFUSED, errno.EMSGSIZE]),
              st.sampled_from(ORIGINS)),
    max_size=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(ENTRIES, st.sampled_from([0, errno.ENETUNREACH, errno.EPROTO]))
def test_every_read_follows_the_kernel_rule(entries: list[ErrorEntry], pending: int) -> None:
    state = state_with(*entries, sk_err=pending)
    expected = pending
    for index, queued in enumerate(entries):
        assert state.pop_error_entry() is queued  # FIFO (J9)
        behind = entries[index + 1] if index + 1 < len(entries) else None
        if behind is not None and behind.error.origin in (2, 3):
            expected = behind.error.errno
        elif queued.error.origin in (2, 3):
            expected = 0
        assert state.sk_err == expected
    assert state.pop_error_entry() is None and state.sk_err == expected


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 8))
def test_only_local_errors_never_change_sk_err(count: int) -> None:
    state = state_with(*[local()] * count, sk_err=errno.EPROTO)
    pop_codes(state)
    assert state.sk_err == errno.EPROTO
