"""Idents and bind() on the REAL kernel and the emulation (spec section C): the defaults of a
fresh socket, autobind before any validation, sequential allocation, re-binding, the address
checks, sharing an ident, and what a disconnect keeps. The differential style is described in
``contract_helpers``; the deviations are in ``docs/emulation-deviations.md``."""

from __future__ import annotations

import itertools
import struct

import pytest
from contract_helpers import (
    V4,
    V6,
    attempt,
    deviates,
    drain,
    on_client,
    on_loopback,
    section,
)
from test_contract import both, echo, open_in

from lab.netns import create_netns
from lab.topology import CLIENT_V4
from pingsock import linux

pytestmark = [pytest.mark.netns, section("C")]

SOL, IP, IP6 = linux.SOL_SOCKET, linux.SOL_IP, linux.SOL_IPV6
LOOPBACK = {"v4": (V4, "127.0.0.1", "0.0.0.0"), "v6": (V6, "::1", "::")}
REUSEADDR = linux.SO_REUSEADDR


def address(family: int, host: str, port: int = 0) -> tuple[object, ...]:
    return (host, port) if family == V4 else (host, port, 0, 0)


# -- C1: a fresh socket ---------------------------------------------------------------------

FRESH = {
    # SO_REUSEADDR 1 (INET_PROTOSW_REUSE), SO_REUSEPORT 0, SO_TYPE, SO_PROTOCOL, SO_DOMAIN,
    # SO_BROADCAST, SO_RCVBUF, SO_SNDBUF, then the IP level.
    "v4": [(SOL, 2), (SOL, 15), (SOL, 3), (SOL, 38), (SOL, 39), (SOL, 6), (SOL, 8), (SOL, 7),
           (IP, linux.IP_TTL), (IP, linux.IP_MTU_DISCOVER), (IP, linux.IP_TOS),
           (IP, linux.IP_MULTICAST_TTL), (IP, linux.IP_MULTICAST_LOOP), (IP, linux.IP_RECVERR),
           (IP, linux.IP_MTU)],
    "v6": [(SOL, 2), (SOL, 15), (SOL, 3), (SOL, 38), (SOL, 39), (SOL, 6), (SOL, 8), (SOL, 7),
           (IP6, linux.IPV6_UNICAST_HOPS), (IP6, linux.IPV6_MTU_DISCOVER), (IP6, 67),
           (IP6, linux.IPV6_MULTICAST_HOPS), (IP6, linux.IPV6_RECVERR), (IP6, linux.IPV6_MTU)],
}  # fmt: skip


@pytest.mark.parametrize("fam", LOOPBACK)
def test_fresh_socket_defaults(fam: str) -> None:
    family = LOOPBACK[fam][0]

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (_ns, s):
            values = [attempt(s.getsockopt, *option) for option in FRESH[fam]]
            return s.getsockname(), attempt(s.getpeername), values

    name, peer, values = both(scenario)  # type: ignore[misc]
    assert name == address(family, LOOPBACK[fam][2]) and peer == ("error", "ENOTCONN")
    head = [1, 0, 2, 1 if family == V4 else 58, family, 0, 212992, 212992]
    tail = [64, 1, 0, 1, 1, 0] if family == V4 else [64, 1, 0, 1, 0]
    assert values == [("ok", v) for v in head + tail] + [("error", "ENOTCONN")]


# -- C2: autobind comes before every check --------------------------------------------------


@pytest.mark.parametrize("fam", LOOPBACK)
def test_autobind_before_validation(fam: str) -> None:
    family, target, unspecified = LOOPBACK[fam]
    request = 8 if family == V4 else 128
    nowhere = "192.0.2.9" if family == V4 else "2001:db8::9"
    failing = [
        ("bad-type", lambda s: s.sendto(b"\x0d" + bytes(7), address(family, target))),
        ("short", lambda s: s.sendto(bytes([request]) + bytes(6), address(family, target))),
        ("too-long", lambda s: s.sendto(bytes([request]) + bytes(70000), address(family, target))),
        ("oob", lambda s: s.sendto(echo(family, 1), 1, address(family, target))),
        ("no-route", lambda s: s.sendto(echo(family, 1), address(family, nowhere))),
        ("no-destination", lambda s: s.send(echo(family, 1))),
        ("connect-no-route", lambda s: s.connect(address(family, nowhere, 5))),
        ("bind-port-0", lambda s: s.bind(address(family, unspecified))),
    ]

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (ns, _s):
            got = []
            for name, call in failing:
                with open_in(ns, backend, family) as s:
                    result = attempt(call, s)
                    local, ident = s.getsockname()[:2]
                    got.append((name, result, local, ident != 0))
            return got

    assert both(scenario) == [
        ("bad-type", ("error", "EINVAL"), unspecified, True),
        ("short", ("error", "EINVAL"), unspecified, True),
        ("too-long", ("error", "EMSGSIZE"), unspecified, True),
        ("oob", ("error", "ENOTSUP"), unspecified, True),
        ("no-route", ("error", "ENETUNREACH"), unspecified, True),
        ("no-destination", ("error", "EDESTADDRREQ"), unspecified, True),
        ("connect-no-route", ("error", "ENETUNREACH"), unspecified, True),
        ("bind-port-0", ("ok", None), unspecified, True),
    ]


# -- C3: sequential allocation --------------------------------------------------------------


def test_idents_are_allocated_in_sequence() -> None:
    # C3: rover + 1, shared by v4 and v6, skipping held idents; closing does not rewind it.
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (ns, first):
            first.bind(("0.0.0.0", 0))
            sockets = [first] + [open_in(ns, backend, (V4, V6)[i % 2]) for i in range(4)]
            for s in sockets[1:]:
                target = "127.0.0.1" if s.family == V4 else "::1"
                s.sendto(echo(s.family, 1), address(s.family, target))
            idents = [s.getsockname()[1] for s in sockets]
            sockets[2].close()
            later = open_in(ns, backend, V4)
            later.bind(("0.0.0.0", 0))
            idents.append(later.getsockname()[1])
            blocker = open_in(ns, backend, V6)
            blocker.bind(("::", idents[-1] % 65535 + 1, 0, 0))  # held: the next one is skipped
            last = open_in(ns, backend, V4)
            last.bind(("0.0.0.0", 0))
            idents.append(last.getsockname()[1])
            for s in (*sockets, later, blocker, last):
                s.close()
            return [(b - a) % 65536 - (1 if b < a else 0) for a, b in itertools.pairwise(idents)]

    assert both(scenario) == [1, 1, 1, 1, 1, 2]


# -- C4, C5: bind once -----------------------------------------------------------------------


@pytest.mark.parametrize("fam", LOOPBACK)
def test_bind_once(fam: str) -> None:
    family, target, unspecified = LOOPBACK[fam]
    foreign = "192.0.2.9" if family == V4 else "2001:db8::9"

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (ns, s):
            steps = [attempt(s.bind, address(family, foreign, 4000))]  # fails: not bound
            steps.append(attempt(s.bind, address(family, target, 4000)))
            steps.append(s.getsockname())
            steps.append(attempt(s.bind, address(family, target, 4001)))
            steps.append(attempt(s.bind, address(family, foreign, 4001)))  # C5: address first
            sent = open_in(ns, backend, family)
            sent.sendto(echo(family, 1), address(family, target))
            steps.append(attempt(sent.bind, address(family, unspecified, 4002)))
            connected = open_in(ns, backend, family)
            connected.connect(address(family, target, 7))
            steps.append(attempt(connected.bind, address(family, unspecified, 4003)))
            steps.append(sent.recv(100)[4:6] == struct.pack("!H", sent.getsockname()[1]))
            sent.close()
            connected.close()
            return steps

    assert both(scenario) == [
        ("error", "EADDRNOTAVAIL"),
        ("ok", None),
        address(family, target, 4000),
        ("error", "EINVAL"),
        ("error", "EADDRNOTAVAIL"),
        ("error", "EINVAL"),
        ("error", "EINVAL"),
        True,
    ]


# -- C6: which addresses bind ---------------------------------------------------------------

ADDRESSES = {
    "v4": ["0.0.0.0", "127.0.0.1", "127.1.2.3", CLIENT_V4, "198.51.100.9", "198.51.100.255",
           "255.255.255.255", "224.0.0.1"],
    "v6": ["::", "::1", "2001:db8:1::1", "2001:db8:1::9", "2001:db8:1::", "ff02::1",
           "ff0e::1"],
}  # fmt: skip


@pytest.mark.parametrize("freebind", [False, True], ids=["plain", "freebind"])
@pytest.mark.parametrize("fam", LOOPBACK)
def test_bind_addresses(fam: str, freebind: bool) -> None:
    family = LOOPBACK[fam][0]

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (lab, _s):
            got = []
            for host in ADDRESSES[fam]:
                with open_in(lab.client, backend, family) as s:
                    if freebind:
                        s.setsockopt(*((IP, 15) if family == V4 else (IP6, 78)), 1)
                    got.append((host, attempt(s.bind, address(family, host, 4100))))
            return got

    results = dict(both(scenario))  # type: ignore[call-overload]
    refused = "EADDRNOTAVAIL" if family == V4 else "EINVAL"  # multicast, broadcast
    assert results[ADDRESSES[fam][-1]] == ("error", refused)
    assert results[ADDRESSES[fam][1]] == ("ok", None)


# -- C7: sharing an ident -------------------------------------------------------------------


def test_ident_conflicts_the_emulation_gets_right() -> None:
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (ns, holder):
            holder.bind(("127.0.0.1", 3003))  # SO_REUSEADDR = 1 by default
            steps = []
            for family, host in ((V4, "0.0.0.0"), (V4, "127.0.0.2"), (V6, "::")):
                with open_in(ns, backend, family) as s:
                    s.setsockopt(SOL, REUSEADDR, 0)  # the new binder refuses to share
                    steps.append(attempt(s.bind, address(family, host, 3003)))
            with open_in(ns, backend, V4) as sharer:  # both willing: shared
                steps.append(attempt(sharer.bind, ("0.0.0.0", 3003)))
            other = create_netns("other")
            try:
                with other.entered(), open_in(other, backend, V4) as elsewhere:
                    elsewhere.setsockopt(SOL, REUSEADDR, 0)
                    steps.append(attempt(elsewhere.bind, ("0.0.0.0", 3003)))  # another netns
            finally:
                other.delete()
            return steps

    assert both(scenario) == [("error", "EADDRINUSE")] * 3 + [("ok", None)] * 2


def test_a_holder_without_reuseaddr() -> None:
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (ns, holder):
            holder.setsockopt(SOL, REUSEADDR, 0)
            holder.bind(("127.0.0.1", 3003))
            steps = []
            for family, host in ((V4, "127.0.0.1"), (V4, "127.0.0.2"), (V6, "::")):
                with open_in(ns, backend, family) as s:
                    steps.append(attempt(s.bind, address(family, host, 3003)))
            with open_in(ns, backend, V4) as first, open_in(ns, backend, V4) as second:
                first.bind(("0.0.0.0", 4004))
                first.setsockopt(SOL, REUSEADDR, 0)  # cleared after binding: still counts
                steps.append(attempt(second.bind, ("0.0.0.0", 4004)))
            return steps

    assert both(scenario) == [("error", "EADDRINUSE")] * 4


@pytest.mark.deviation("C7-kernel-and-emulated-idents")
def test_deviation_idents_held_by_the_other_kind_of_socket() -> None:
    # In the raw run, kernel ping sockets of another user of the namespace hold idents too.
    def scenario(backend: str) -> object:
        ns = create_netns("mixed")
        try:
            ns.set_ping_group_range(0, 0)  # kernel sockets, also in the raw run
            with ns.entered(), open_in(ns, "kernel", V4) as holder:
                holder.bind(("0.0.0.0", 5555))
                with open_in(ns, backend, V4) as s, open_in(ns, backend, V4) as held:
                    s.setsockopt(SOL, REUSEADDR, 0)
                    steps = [attempt(s.bind, ("0.0.0.0", 5555))]  # the kernel's ident
                    held.bind(("0.0.0.0", 6666))
                    with open_in(ns, "kernel", V4) as kernel:
                        kernel.setsockopt(SOL, REUSEADDR, 0)
                        steps.append(attempt(kernel.bind, ("0.0.0.0", 6666)))
                    return steps
        finally:
            ns.delete()

    # The emulation sees the kernel's idents (/proc/net/icmp), but the kernel cannot know the
    # emulation's.
    deviates(
        scenario,
        kernel=[("error", "EADDRINUSE")] * 2,
        raw=[("error", "EADDRINUSE"), ("ok", None)],
    )


@section("H")
@pytest.mark.deviation("C8-shared-ident-delivery")
def test_deviation_a_reply_to_a_shared_ident() -> None:
    # C8/H4: the kernel hands each reply to one socket, the most recently bound.
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (ns, first):
            first.bind(("0.0.0.0", 5005))
            with open_in(ns, backend, V4) as second:
                second.bind(("0.0.0.0", 5005))
                first.sendto(echo(V4, 1), ("127.0.0.1", 0))
                second.sendto(echo(V4, 2), ("127.0.0.1", 0))
                second.recv(100)
                return [[d[6:8] for d, _ in drain(s)] for s in (first, second)]

    # The emulation delivers every reply to every socket holding the ident.
    both_replies = [b"\x00\x01", b"\x00\x02"]
    deviates(scenario, kernel=[[], [b"\x00\x02"]], raw=[both_replies, [b"\x00\x02"]])


# -- C10: disconnect ------------------------------------------------------------------------


def test_disconnect_releases_or_keeps_the_ident() -> None:
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (ns, s):
            s.bind(("0.0.0.0", 0))  # no SOCK_BINDPORT_LOCK: released
            allocated = s.getsockname()[1]
            s.disconnect()
            steps: list[object] = [s.getsockname()]
            with open_in(ns, backend, V4) as taker:
                taker.setsockopt(SOL, REUSEADDR, 0)
                steps.append(attempt(taker.bind, ("0.0.0.0", allocated)))  # free again
            with open_in(ns, backend, V4) as locked:
                locked.bind(("0.0.0.0", 6000))
                locked.connect(("127.0.0.1", 5))
                locked.disconnect()
                locked.disconnect()
                steps += [locked.getsockname()[1], attempt(locked.getpeername)]
                steps.append(attempt(locked.sendto, echo(V4, 1), ("127.0.0.1", 0)))
                steps.append(locked.recv(100)[4:8])
            return steps

    assert both(scenario) == [
        ("0.0.0.0", 0), ("ok", None), 6000, ("error", "ENOTCONN"), ("ok", 16),
        struct.pack("!HH", 6000, 1),
    ]  # fmt: skip


def test_the_local_address_after_a_disconnect() -> None:
    # __udp_disconnect(): the bound address stays only if bind() named one (BINDADDR_LOCK),
    # independently of the ident (BINDPORT_LOCK).
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (ns, named):
            named.bind(("127.0.0.1", 0))
            named.disconnect()
            with open_in(ns, backend, V4) as wildcard:
                wildcard.bind(("0.0.0.0", 6001))
                wildcard.connect(("127.0.0.1", 5))
                wildcard.disconnect()
                return named.getsockname(), wildcard.getsockname()

    assert both(scenario) == (("127.0.0.1", 0), ("0.0.0.0", 6001))
