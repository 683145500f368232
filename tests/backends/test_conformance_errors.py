"""ICMP errors on the REAL kernel and the emulation (spec sections J and M11): every type and
code, with IP_RECVERR and on a connected socket without it, errors the socket ignores,
``sk_err`` consumed exactly once, IP_RECVERR switched on and off, the error queue's order,
and the locally generated error of an unresolved neighbour. Errors are forged (an
IPPROTO_RAW socket in the test's namespace, ``contract_helpers.inject4``) so that every row
of the tables can be produced on demand. The differential style is described in
``contract_helpers``."""

from __future__ import annotations

import errno
import struct
from typing import Any

import pytest
from contract_helpers import (
    V4,
    V6,
    attempt,
    icmp4,
    inject4,
    inject6,
    ip4,
    ip6,
    nonblocking,
    on_client,
    on_loopback,
    read_error_queue,
    section,
    settle,
)
from test_contract import both, echo, open_in

from lab.topology import CLIENT_V4
from pingsock import linux

pytestmark = pytest.mark.netns

ROUTER: dict[int, str] = {V4: "192.0.2.254", V6: "2001:db8::fe"}
LOOPBACK: dict[int, str] = {V4: "127.0.0.1", V6: "::1"}
NOWHERE: dict[int, str] = {V4: "192.0.2.9", V6: "2001:db8::9"}
RECVERR: dict[int, tuple[int, int]] = {
    V4: (linux.SOL_IP, linux.IP_RECVERR),
    V6: (linux.SOL_IPV6, linux.IPV6_RECVERR),
}


def forge(
    family: int,
    ident: int,
    kind: int,
    code: int,
    rest: bytes = bytes(4),
    *,
    quoted_kind: int | None = None,
    quoted_code: int = 0,
    protocol: int | None = None,
) -> None:
    """An ICMP error from ROUTER to us, quoting our echo (``ident``) to NOWHERE; the quoted
    message's type and code and the quoted IP header's protocol can be changed."""
    if quoted_kind is None:
        quoted_kind = 8 if family == V4 else 128
    if protocol is None:
        protocol = 1 if family == V4 else 58
    inner = struct.pack("!BBHHH", quoted_kind, quoted_code, 0x1234, ident, 7) + b"payload!"
    me, there = LOOPBACK[family], NOWHERE[family]
    if family == V4:
        quoted = ip4(me, there, inner, protocol)
        inject4(ip4(ROUTER[V4], me, icmp4(kind, code, rest, quoted)))
    else:
        quoted = ip6(me, there, inner, protocol)
        inject6(ROUTER[V6], me, bytes([kind, code, 0, 0]) + rest + quoted)


def prime(s: Any, family: int, *, recverr: bool = True) -> int:
    """Give ``s`` an ident (autobound by a first echo, its reply read) and IP_RECVERR."""
    s.sendto(echo(family, 1), (LOOPBACK[family], 0))
    s.recv(100)
    if recverr:
        s.setsockopt(*RECVERR[family], 1)
    return int(s.getsockname()[1])


REST: dict[tuple[int, int, int], bytes] = {  # the second word of the error: MTU, pointer, gateway
    (V4, 3, 4): struct.pack("!HH", 0, 1280), (V4, 12, 0): b"\x14\0\0\0",
    (V4, 5, 1): bytes([192, 0, 2, 253]), (V6, 2, 0): struct.pack("!I", 1280),
    (V6, 4, 0): struct.pack("!I", 6), (V6, 4, 1): struct.pack("!I", 40),
}  # fmt: skip
E = errno
# J2 and M11: (family, type, code) -> (errno, hard, ee_info), or None when dropped.
ERRORS: dict[tuple[int, int, int], tuple[int, bool, int] | None] = {
    (V4, 3, 0): (E.ENETUNREACH, False, 0), (V4, 3, 1): (E.EHOSTUNREACH, False, 0),
    (V4, 3, 2): (E.ENOPROTOOPT, True, 0), (V4, 3, 3): (E.ECONNREFUSED, True, 0),
    (V4, 3, 4): (E.EMSGSIZE, True, 1280), (V4, 3, 5): (E.EOPNOTSUPP, False, 0),
    (V4, 3, 6): (E.ENETUNREACH, True, 0), (V4, 3, 7): (E.EHOSTDOWN, True, 0),
    (V4, 3, 8): (E.ENONET, True, 0), (V4, 3, 9): (E.ENETUNREACH, True, 0),
    (V4, 3, 10): (E.EHOSTUNREACH, True, 0), (V4, 3, 11): (E.ENETUNREACH, False, 0),
    (V4, 3, 12): (E.EHOSTUNREACH, False, 0), (V4, 3, 13): (E.EHOSTUNREACH, True, 0),
    (V4, 3, 14): (E.EHOSTUNREACH, True, 0), (V4, 3, 15): (E.EHOSTUNREACH, True, 0),
    (V4, 3, 16): None, (V4, 11, 0): (E.EHOSTUNREACH, False, 0), (V4, 11, 1): None,
    (V4, 12, 0): (E.EPROTO, True, 20), (V4, 4, 0): (E.EREMOTEIO, False, 0),
    (V4, 5, 1): (E.EREMOTEIO, False, 0xC00002FD),  # the gateway 192.0.2.253, host order
    (V6, 1, 0): (E.ENETUNREACH, False, 0), (V6, 1, 1): (E.EACCES, True, 0),
    (V6, 1, 2): (E.EHOSTUNREACH, False, 0), (V6, 1, 3): (E.EHOSTUNREACH, False, 0),
    (V6, 1, 4): (E.ECONNREFUSED, True, 0), (V6, 1, 5): (E.EACCES, True, 0),
    (V6, 1, 6): (E.EACCES, True, 0), (V6, 1, 7): (E.EPROTO, True, 0),
    (V6, 2, 0): (E.EMSGSIZE, False, 1280), (V6, 3, 0): (E.EHOSTUNREACH, False, 0),
    (V6, 3, 1): (E.EHOSTUNREACH, False, 0), (V6, 4, 0): (E.EPROTO, True, 6),
    (V6, 4, 1): (E.EPROTO, True, 40),
}  # fmt: skip
BY_FAMILY = [pytest.param(V4, id="v4", marks=section("J")),
             pytest.param(V6, id="v6", marks=section("M"))]  # fmt: skip


def destination(family: int, host: str) -> tuple[object, ...]:
    return (host, 0) if family == V4 else (host, 0, 0, 0)


@pytest.mark.parametrize(
    ("family", "kind", "code"),
    [pytest.param(*row, id=f"v{4 if row[0] == V4 else 6}-{row[1]}-{row[2]}",
                  marks=section("J" if row[0] == V4 else "M")) for row in ERRORS],
)  # fmt: skip
def test_each_icmp_error(family: int, kind: int, code: int) -> None:
    rest = REST.get((family, kind, code), bytes(4))

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (ns, queued), open_in(ns, backend, family) as other:
            prime(queued, family)
            other.connect(destination(family, LOOPBACK[family]))
            prime(other, family, recverr=False)  # J7: errors about others reach it too
            for s in (queued, other):
                forge(family, s.getsockname()[1], kind, code, rest)
            settle(queued)
            settle(other)
            # J3: the entry, and sk_err (consumed by the read); J4: without RECVERR, a
            # connected socket gets a hard error only, as a one-shot sk_err.
            return (
                read_error_queue(queued),
                queued.getsockopt(linux.SOL_SOCKET, linux.SO_ERROR),
                nonblocking(other, other.recv, 100),
                nonblocking(other, other.recv, 100),
            )

    expected = ERRORS[family, kind, code]
    nothing = ("error", "EAGAIN")
    if expected is None:
        assert both(scenario) == (nothing, 0, nothing, nothing)
        return
    code_errno, hard, info = expected
    origin = linux.SO_EE_ORIGIN_ICMP if family == V4 else linux.SO_EE_ORIGIN_ICMP6
    error = (code_errno, origin, kind, code, info, ROUTER[family])
    address = destination(family, NOWHERE[family])
    entry: tuple[object, ...] = (16, [], error, linux.MSG_ERRQUEUE, address)
    pending = ("error", errno.errorcode[code_errno]) if hard else nothing
    assert both(scenario) == (("ok", entry), 0, pending, nothing)


@section("J")
@pytest.mark.parametrize("mode", ["dont", "want"])
def test_frag_needed_and_pmtu_discovery(mode: str) -> None:
    # J2: with IP_PMTUDISC_DONT a 3/4 only updates the path MTU, nothing is reported.
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            prime(s, V4)
            value = linux.IP_PMTUDISC_DONT if mode == "dont" else linux.IP_PMTUDISC_WANT
            s.setsockopt(linux.SOL_IP, linux.IP_MTU_DISCOVER, value)
            forge(V4, s.getsockname()[1], 3, 4, REST[V4, 3, 4])
            settle(s)
            return nonblocking(s, s.recv, 100), read_error_queue(s)[0]

    assert both(scenario) == (
        (("error", "EAGAIN"), "error") if mode == "dont" else (("error", "EMSGSIZE"), "ok")
    )


@pytest.mark.parametrize("fam", BY_FAMILY)
def test_errors_the_socket_ignores(fam: int) -> None:
    # J1: an error quoting another ident, a non-echo, an echo with a non-zero code, or another
    # protocol reaches no socket: nothing queued, no sk_err.
    def scenario(backend: str) -> object:
        with on_loopback(backend, fam) as (_ns, s):
            ident = prime(s, fam)
            unreachable = (3, 1) if fam == V4 else (1, 3)
            forge(fam, ident ^ 1, *unreachable)
            forge(fam, ident, *unreachable, quoted_kind=13 if fam == V4 else 130)
            forge(fam, ident, *unreachable, quoted_code=1)
            forge(fam, ident, *unreachable, protocol=17)
            settle(s)
            return read_error_queue(s), s.getsockopt(linux.SOL_SOCKET, linux.SO_ERROR)

    assert both(scenario) == (("error", "EAGAIN"), 0)


@pytest.mark.parametrize("fam", BY_FAMILY)
def test_a_pending_error_is_consumed_once(fam: int) -> None:
    refused = (3, 3) if fam == V4 else (1, 4)  # ECONNREFUSED, hard

    def scenario(backend: str) -> object:
        with on_loopback(backend, fam) as (_ns, s):
            ident, steps = prime(s, fam), []
            for consumer in ("SO_ERROR", "send", "recv"):  # J5: whichever comes first
                forge(fam, ident, *refused)
                settle(s)
                if consumer == "SO_ERROR":
                    steps.append(s.getsockopt(linux.SOL_SOCKET, linux.SO_ERROR))
                elif consumer == "send":  # J6: the datagram is dropped
                    steps.append(attempt(s.sendto, echo(fam, 2), destination(fam, LOOPBACK[fam])))
                else:
                    steps.append(nonblocking(s, s.recv, 100))
                steps.append(s.getsockopt(linux.SOL_SOCKET, linux.SO_ERROR))
            forge(fam, ident, *refused)
            forge(fam, ident, *refused)
            settle(s)
            for _ in range(6):  # J5: a read sets sk_err again while another error waits
                steps.append(read_error_queue(s)[0])
                steps.append(nonblocking(s, s.recv, 100))
            return steps

    # Five entries are queued (RECVERR queues every error, also those consumed above).
    refused_error, nothing = ("error", "ECONNREFUSED"), ("error", "EAGAIN")
    assert both(scenario) == [
        errno.ECONNREFUSED,
        0,
        refused_error,
        0,
        refused_error,
        0,
        *["ok", refused_error] * 4,
        "ok",
        nothing,
        "error",
        nothing,
    ]


@pytest.mark.parametrize("fam", BY_FAMILY)
def test_recverr_switched_on_and_off(fam: int) -> None:
    refused = (3, 3) if fam == V4 else (1, 4)

    def scenario(backend: str) -> object:
        with on_loopback(backend, fam) as (_ns, s):
            s.connect(destination(fam, LOOPBACK[fam]))
            ident = prime(s, fam, recverr=False)
            forge(fam, ident, *refused)  # hard, connected: sk_err only
            settle(s)
            s.setsockopt(*RECVERR[fam], 1)  # J8: nothing is queued retroactively
            steps = [read_error_queue(s)[0], nonblocking(s, s.recv, 100)]
            forge(fam, ident, *refused)
            settle(s)
            s.setsockopt(*RECVERR[fam], 0)  # J8: the queue is purged, sk_err stays
            steps += [read_error_queue(s)[0], nonblocking(s, s.recv, 100)]
            return steps

    refused_error = ("error", "ECONNREFUSED")
    assert both(scenario) == ["error", refused_error, "error", refused_error]


@pytest.mark.parametrize("fam", BY_FAMILY)
def test_error_queue_order_and_peek(fam: int) -> None:
    codes = (0, 1, 3) if fam == V4 else (0, 3, 4)

    def scenario(backend: str) -> object:
        with on_loopback(backend, fam) as (_ns, s):
            ident = prime(s, fam)
            for code in codes:
                forge(fam, ident, 3 if fam == V4 else 1, code)
            settle(s)
            s.setblocking(False)
            seen = []
            for flags in (linux.MSG_PEEK, 0, linux.MSG_PEEK, 0):  # J9: MSG_PEEK is ignored
                got = attempt(s.recvmsg, 2048, 1024, linux.MSG_ERRQUEUE | flags)
                # sock_extended_err: ee_type and ee_code are its bytes 5 and 6.
                seen.append(got[1] if got[0] == "error" else tuple(got[1][1][-1][2][5:7]))
            return seen

    kind = 3 if fam == V4 else 1
    assert both(scenario) == [(kind, code) for code in codes] + ["EAGAIN"]


@section("J")
def test_an_unresolved_neighbour() -> None:
    # J10: the local 3/1 has our own address as the offender.
    def scenario(backend: str) -> object:
        with on_client(backend, V4) as (lab, s):
            for key, value in (("mcast_solicit", "1"), ("ucast_solicit", "0"),
                               ("app_solicit", "0"), ("retrans_time_ms", "100")):  # fmt: skip
                lab.client.sysctl(f"net.ipv4.neigh.c0.{key}", value)
            s.setsockopt(linux.SOL_IP, linux.IP_RECVERR, 1)
            s.sendto(echo(V4, 1), ("198.51.100.77", 0))
            s.settimeout(3.0)
            return attempt(s.recv, 100), read_error_queue(s)

    assert both(scenario) == (
        ("error", "EHOSTUNREACH"),
        ("ok", (16, [], (113, linux.SO_EE_ORIGIN_ICMP, 3, 1, 0, CLIENT_V4), linux.MSG_ERRQUEUE,
                ("198.51.100.77", 0))),
    )  # fmt: skip
