"""Pending-error and error-queue rules of the emulated socket (spec J3-J9, C10)."""

from __future__ import annotations

import errno

from pingsock import linux
from pingsock.emulation.demux import ErrorArrival
from pingsock.emulation.icmp_errors import icmp4_error_verdict
from pingsock.emulation.state import PingSocketState


def arrival(icmp_type: int = 3, code: int = 1, info: int = 0) -> ErrorArrival:
    verdict = icmp4_error_verdict(icmp_type, code)
    assert verdict is not None
    return ErrorArrival(
        verdict,
        icmp_type,
        code,
        info,
        "198.51.100.254",
        "203.0.113.1",
        b"\x08\x00\x00\x00\x12\x34\x00\x01",
    )


def test_recverr_queues_and_sets_sk_err_even_for_soft_errors() -> None:
    state = PingSocketState(linux.AF_INET, ident=0x1234, recverr=True)
    state.on_icmp_error(arrival(3, 1))
    assert state.sk_err == errno.EHOSTUNREACH
    entry = state.pop_error_entry()
    assert entry is not None
    assert entry.error.origin == linux.SO_EE_ORIGIN_ICMP
    assert (entry.error.icmp_type, entry.error.icmp_code) == (3, 1)
    assert entry.error.offender == "198.51.100.254"
    assert entry.destination == "203.0.113.1"
    assert state.sk_err == 0  # reading the queue clears it when nothing is behind


def test_without_recverr_unconnected_sees_nothing() -> None:
    state = PingSocketState(linux.AF_INET, ident=1)
    state.on_icmp_error(arrival(3, 3))  # even a hard error
    assert state.sk_err == 0 and not state.errors


def test_without_recverr_connected_sees_only_hard_errors() -> None:
    state = PingSocketState(linux.AF_INET, ident=1, peer=("203.0.113.1", 0))
    state.on_icmp_error(arrival(3, 1))  # soft
    assert state.sk_err == 0
    state.on_icmp_error(arrival(3, 3))  # port unreachable: hard
    assert state.take_pending_error() == errno.ECONNREFUSED
    assert state.take_pending_error() == 0  # consumed once (J5)


def test_queue_is_fifo_and_sk_err_follows_the_next_entry() -> None:
    state = PingSocketState(linux.AF_INET, ident=1, recverr=True)
    state.on_icmp_error(arrival(3, 1))
    state.on_icmp_error(arrival(11, 0))
    state.on_icmp_error(arrival(3, 3))
    first = state.pop_error_entry()
    assert first is not None and first.error.icmp_type == 3 and first.error.icmp_code == 1
    assert state.sk_err == errno.EHOSTUNREACH  # the 11/0 behind it
    second = state.pop_error_entry()
    assert second is not None and second.error.icmp_type == 11
    assert state.sk_err == errno.ECONNREFUSED


def test_turning_recverr_off_purges_the_queue_but_keeps_sk_err() -> None:
    state = PingSocketState(linux.AF_INET, ident=1, recverr=True)
    state.on_icmp_error(arrival(3, 3))
    state.set_recverr(False)
    assert not state.errors
    assert state.sk_err == errno.ECONNREFUSED  # J8


def test_frag_needed_is_silent_with_pmtudisc_dont() -> None:
    state = PingSocketState(linux.AF_INET, ident=1, recverr=True, pmtudisc=linux.IP_PMTUDISC_DONT)
    state.on_icmp_error(arrival(3, 4, 1280))
    assert state.sk_err == 0 and not state.errors


def test_frag_needed_carries_the_mtu() -> None:
    state = PingSocketState(linux.AF_INET, ident=1, recverr=True)
    state.on_icmp_error(arrival(3, 4, 1280))
    entry = state.pop_error_entry()
    assert entry is not None and entry.error.info == 1280
    assert entry.error.errno == errno.EMSGSIZE


def test_disconnect_is_idempotent_and_releases_an_auto_ident() -> None:
    state = PingSocketState(linux.AF_INET, ident=400, peer=("127.0.0.1", 9), local="127.0.0.1")
    assert state.disconnect() is True
    assert (state.ident, state.peer, state.local) == (0, None, None)
    assert state.disconnect() is False  # the CVE-2015-3636 regression: a second one is a no-op


def test_disconnect_keeps_an_explicitly_bound_ident() -> None:
    # The source that connect() chose is not bound: it goes (no SOCK_BINDADDR_LOCK).
    state = PingSocketState(
        linux.AF_INET, ident=3003, bind_locked=True, local="127.0.0.1", peer=("127.0.0.1", 0)
    )
    assert state.disconnect() is False
    assert (state.ident, state.local, state.peer) == (3003, None, None)


def test_disconnect_keeps_a_bound_address_and_releases_an_automatic_ident() -> None:
    # The two bind locks are independent (__ip4_datagram_disconnect).
    state = PingSocketState(
        linux.AF_INET, ident=77, addr_locked=True, local="127.0.0.1", peer=("127.0.0.1", 0)
    )
    assert state.disconnect() is True
    assert (state.ident, state.local, state.peer) == (0, "127.0.0.1", None)
