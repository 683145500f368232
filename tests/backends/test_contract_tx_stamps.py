"""Transmit time stamps on the REAL kernel, both backends (spec L9 lists SO_TIMESTAMPING as
accepted): with a TX flag the kernel queues, for each datagram sent, a copy of the frame on
the error queue with an SCM_TIMESTAMPING cmsg and an IP_RECVERR of origin
SO_EE_ORIGIN_TIMESTAMPING; the emulation passes on what its raw socket gets for the same
datagram. The differential style is described in ``contract_helpers``."""

from __future__ import annotations

import errno
import select
import socket
import struct
import time
from collections.abc import Callable

import pytest
from contract_helpers import per_family
from test_contract import both, echo, open_in

from lab.netns import Netns
from pingsock import linux
from pingsock.cmsg import parse_extended_error, parse_tx_timestamp

pytestmark = pytest.mark.netns

LOOPBACK = {"v4": (socket.AF_INET, "127.0.0.1"), "v6": (socket.AF_INET6, "::1")}
TX = linux.SOF_TIMESTAMPING_TX_SOFTWARE | linux.SOF_TIMESTAMPING_SOFTWARE
PAYLOAD = b"pingsock-tx-stamp"


def read_errors(
    sock: socket.socket,
) -> list[tuple[bytes, list[tuple[int, int, bytes]], int, object]]:
    entries = []
    for _ in range(16):
        try:
            entries.append(sock.recvmsg(2048, 512, linux.MSG_ERRQUEUE | linux.MSG_DONTWAIT))
        except (BlockingIOError, TimeoutError):
            break
    return entries


def describe(family: int, entry: tuple[bytes, list[tuple[int, int, bytes]], int, object]) -> object:
    """What must agree: the cmsg kinds, the extended error, msg_name, flags, and the datagram
    the copy holds (its ICMP header less the checksum field, and the payload)."""
    data, anc, flags, address = entry
    recverr = linux.IPV6_RECVERR if family == socket.AF_INET6 else linux.IP_RECVERR
    kinds = [(level, kind) for level, kind, _ in anc]
    (error,) = [parse_extended_error(payload) for level, kind, payload in anc if kind == recverr]
    assert error is not None
    header = 14 + (40 if family == socket.AF_INET6 else 20)  # link header, IP header
    icmp = data[header:]
    return (
        kinds,
        (error.errno, error.origin, error.icmp_type, error.icmp_code, error.info),
        address,
        flags,
        icmp[:2],
        icmp[4:6],
        icmp[6:8],
        icmp[8:],
    )


@pytest.mark.parametrize("fam", per_family("L", "M"))
def test_each_datagram_is_stamped_on_the_error_queue(
    fam: str, netns_factory: Callable[[str], Netns]
) -> None:
    family, target = LOOPBACK[fam]

    def scenario(backend: str) -> object:
        ns = netns_factory("txst")
        with ns.entered(), open_in(ns, backend, family) as s:
            s.bind(("::", 4242) if family == socket.AF_INET6 else ("0.0.0.0", 4242))
            assert read_errors(s) == []
            s.setsockopt(linux.SOL_SOCKET, linux.SO_TIMESTAMPING, TX)
            before = time.time_ns()
            for seq in (1, 2):
                s.sendto(echo(family, seq, payload=PAYLOAD), (target, 0))
            after = time.time_ns()
            # The stamps wait on the error queue: the socket polls as having an error (the
            # emulation's descriptor says POLLIN for it; see backends.raw).
            ready = select.select([s], [], [], 1.0)[0]
            entries = read_errors(s)
            stamps = [
                parse_tx_timestamp(data, anc, 8 + len(PAYLOAD)) for data, anc, _f, _a in entries
            ]
            assert [seq for seq, _ns in stamps] == [1, 2]  # type: ignore[misc]
            assert all(before <= ns <= after for _seq, ns in stamps)  # type: ignore[misc]
            # They set no pending error, and the replies are there as usual.
            assert s.getsockopt(linux.SOL_SOCKET, linux.SO_ERROR) == 0
            replies = [s.recvmsg(2048, 256)[0][6:8] for _ in range(2)]
            # Switched off, nothing more is stamped.
            s.setsockopt(linux.SOL_SOCKET, linux.SO_TIMESTAMPING, 0)
            s.sendto(echo(family, 3, payload=PAYLOAD), (target, 0))
            s.recvmsg(2048, 256)
            later = read_errors(s)
            return (
                bool(ready),
                [describe(family, entry) for entry in entries],
                replies,
                later,
            )

    ready, described, replies, later = both(scenario)  # type: ignore[misc]
    assert ready and later == []
    assert replies == [struct.pack("!H", 1), struct.pack("!H", 2)]
    kinds, error, address, flags, *_ = described[0]
    assert error[:2] == (errno.ENOMSG, linux.SO_EE_ORIGIN_TIMESTAMPING) and address is None
    assert flags & linux.MSG_ERRQUEUE
    assert kinds[0] == (linux.SOL_SOCKET, linux.SCM_TIMESTAMPING)


@pytest.mark.parametrize("fam", per_family("L", "M"))
def test_stamps_and_icmp_errors_share_the_queue_in_order(
    fam: str, netns_factory: Callable[[str], Netns]
) -> None:
    # A datagram over the MTU with PMTUDISC_DO fails locally (EMSGSIZE; with RECVERR a LOCAL
    # entry is queued, F2): it is never stamped, the datagram sent before it is, and the
    # queue gives them back in that order.
    family, target = LOOPBACK[fam]
    level = linux.SOL_IPV6 if family == socket.AF_INET6 else linux.SOL_IP
    recverr = linux.IPV6_RECVERR if family == socket.AF_INET6 else linux.IP_RECVERR
    discover = linux.IPV6_MTU_DISCOVER if family == socket.AF_INET6 else linux.IP_MTU_DISCOVER

    def scenario(backend: str) -> object:
        ns = netns_factory("txer")
        ns.ip("link", "set", "lo", "mtu", "1500")
        with ns.entered(), open_in(ns, backend, family) as s:
            s.setsockopt(level, recverr, 1)
            s.setsockopt(level, discover, linux.IP_PMTUDISC_DO)
            s.setsockopt(linux.SOL_SOCKET, linux.SO_TIMESTAMPING, TX)
            s.sendto(echo(family, 1, payload=PAYLOAD), (target, 0))
            with pytest.raises(OSError) as failed:
                s.sendto(echo(family, 2, payload=bytes(2000)), (target, 0))
            origins = []
            for _data, anc, _flags, _address in read_errors(s):
                for _level, kind, payload in anc:
                    if kind == recverr:
                        parsed = parse_extended_error(payload)
                        assert parsed is not None
                        origins.append((parsed.origin, parsed.errno))
            return failed.value.errno, origins

    assert both(scenario) == (
        errno.EMSGSIZE,
        [
            (linux.SO_EE_ORIGIN_TIMESTAMPING, errno.ENOMSG),
            (linux.SO_EE_ORIGIN_LOCAL, errno.EMSGSIZE),
        ],
    )
