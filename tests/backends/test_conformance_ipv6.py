"""The IPv6 ping socket on the REAL kernel and the emulation (spec section M): bind() and
connect() checks with scopes, IPV6_V6ONLY, sendto() destinations, send cmsgs, options, the
local EMSGSIZE port quirk, all-nodes multicast, and errors about fragmented echoes. The
differential style is described in ``contract_helpers``; the deviations are in
``docs/emulation-deviations.md``."""

from __future__ import annotations

import socket
import struct
from typing import Any

import pytest
from contract_helpers import (
    IP6,
    V6,
    attempt,
    comparable,
    deviates,
    nonblocking,
    on_client,
    on_loopback,
    read_error_queue,
    section,
    sniffed_requests,
    wait_for_news,
)
from test_contract import both, echo, open_in
from test_contract_sockopts import G, S

from lab.sniffer import Sniffer
from lab.topology import CLIENT_V6, SERVER_V6, RoutedLab
from pingsock import linux

pytestmark = [pytest.mark.netns, section("M")]

V6ONLY, FREEBIND, HDRINCL, DONTFRAG, PKTINFO, DSTOPTS = 26, 78, 36, 62, 50, 59
ELSEWHERE = "2001:db8:1::9"  # on the client's subnet, nobody's


def link_local(lab: RoutedLab, ns_name: str, ifname: str) -> str:
    ns = lab.client if ns_name == "client" else lab.router
    return next(a.ip for a in ns.addresses if a.ifname == ifname and a.scope == "link")


def fresh(lab: RoutedLab, backend: str, call: Any, *args: Any) -> tuple[str, Any]:
    """``call(socket, *args)`` on a new socket of the client."""
    with open_in(lab.client, backend, V6) as s:
        return attempt(call, s, *args)


def test_bind_checks_that_agree() -> None:
    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, _s):
            c0, own = lab.client.ifindex("c0"), link_local(lab, "client", "c0")
            steps = [fresh(lab, backend, lambda s, a: s.bind(a), address)
                     for address in ((own, 0, 0, 0), (CLIENT_V6, 0, 0, c0), (ELSEWHERE, 0, 0, 0),
                                     ("ff02::1", 0, 0, c0), ("::1", 0, 0, 0))]  # fmt: skip
            with open_in(lab.client, backend, V6) as s:
                s.setsockopt(IP6, FREEBIND, 1)
                steps += [attempt(s.bind, (ELSEWHERE, 0, 0, 0)), s.getsockname()[0]]
            return steps

    # M6: link-local without a scope; a global address with a scope; not local; multicast.
    assert both(scenario) == [
        ("error", "EINVAL"), ("ok", None), ("error", "EADDRNOTAVAIL"), ("error", "EINVAL"),
        ("ok", None), ("ok", None), ELSEWHERE,
    ]  # fmt: skip


def test_bind_scope_checks() -> None:
    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, _s):
            c0, own = lab.client.ifindex("c0"), link_local(lab, "client", "c0")
            steps = [fresh(lab, backend, lambda s, a: s.bind(a), address)
                     for address in (("::ffff:127.0.0.1", 0, 0, 0), (own, 0, 0, 99),
                                     ("::1", 0, 0, c0), (own, 0, 0, c0))]  # fmt: skip
            return steps

    # M6: v4-mapped is EINVAL, a scope naming no interface ENODEV, ::1 is not on c0, and a
    # link-local address with its scope binds.
    assert both(scenario) == [("error", "EINVAL"), ("error", "ENODEV"), ("error", "EADDRNOTAVAIL"),
                              ("ok", None)]  # fmt: skip


def test_connect_checks_that_agree() -> None:
    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            c0, router = lab.client.ifindex("c0"), link_local(lab, "router", "r0")
            steps: list[object] = [attempt(s.connect, (router, 0, 0, 0))]  # M7: no scope
            steps.append(attempt(s.connect, (router, 7, 0, c0)))
            steps.append(attempt(s.send, echo(V6, 1)))
            _data, source = s.recvfrom(100)
            steps.append((source[0] == router, source[3] == c0))
            steps.append(attempt(s.setsockopt, IP6, V6ONLY, 0))  # M1: after autobind
            return steps

    assert both(scenario) == [
        ("error", "EINVAL"), ("ok", None), ("ok", 16), (True, True), ("error", "EINVAL"),
    ]  # fmt: skip


def test_the_scope_of_a_connected_peer() -> None:
    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            c0, router = lab.client.ifindex("c0"), link_local(lab, "router", "r0")
            s.connect((router, 7, 0, c0))
            peer = s.getpeername()
            return peer[0] == router, peer[1:3], peer[3] == c0

    # inet6_getname() shows the peer's scope.
    assert both(scenario) == (True, (7, 0), True)


def test_v6only() -> None:
    mapped = ("::ffff:198.51.100.254", 0, 0, 0)

    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            steps = [attempt(s.getsockopt, IP6, V6ONLY), attempt(s.connect, mapped)]
            with open_in(lab.client, backend, V6) as t:
                steps += [attempt(t.setsockopt, IP6, V6ONLY, 0), attempt(t.connect, mapped)]
                steps.append(attempt(t.send, echo(V6, 1)))
            return steps

    # M1/M7: ping_init_sock() sets V6ONLY; a v4-mapped peer is unreachable with it, and with
    # V6ONLY=0 connect() works but every send is EINVAL.
    assert both(scenario) == [("ok", 1), ("error", "ENETUNREACH"), ("ok", None), ("ok", None),
                              ("error", "EINVAL")]  # fmt: skip


@pytest.mark.deviation("M5-sendto-destination-checks")
def test_deviation_sendto_destination_checks() -> None:
    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, _s):
            steps = []
            for destination in (("::ffff:198.51.100.254", 0, 0, 0), ("fe80::1", 0, 0, 0),
                                ("ff02::1", 0, 0, 0), ("fe80::1", 0, 0, 1)):  # fmt: skip
                with open_in(lab.client, backend, V6) as s:
                    if destination[3]:
                        s.setsockopt(linux.SOL_SOCKET, linux.SO_BINDTODEVICE, b"c0")
                    steps.append(attempt(s.sendto, echo(V6, 1), destination))
            with open_in(lab.client, backend, V6) as s:
                steps.append(attempt(s.sendto, echo(V6, 1), ("::", 0, 0, 0)))
                s.settimeout(0.3)
                steps.append(attempt(lambda: s.recvfrom(100)[1]))
            return steps

    # M5: a v4-mapped destination, link-local or multicast without a scope, a scope other
    # than the bound device are EINVAL; "::" is sent but not to ::1 (E6 is not true for v6).
    deviates(
        scenario,
        kernel=[("error", "EINVAL")] * 4 + [("ok", 16), ("error", "timeout")],
        raw=[("error", "EINVAL")] * 4 + [("ok", 16), ("ok", ("::1", 0, 0, 0))],
    )  # fmt: skip


def test_sending_to_all_nodes() -> None:
    # M5: ff02::1%c0 is answered by every node on the link, our own address included.
    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            c0 = lab.client.ifindex("c0")
            names = {link_local(lab, "client", "c0"): "own", link_local(lab, "router", "r0"):
                     "router"}  # fmt: skip
            sent = attempt(s.sendto, echo(V6, 1), ("ff02::1", 0, 0, c0))
            got = []
            for _ in range(2):
                data, source = s.recvfrom(100)
                got.append((names.get(source[0], source[0]), source[3] == c0, data[0]))
            return sent, sorted(got)

    assert both(scenario) == (("ok", 16), [("own", True, 129), ("router", True, 129)])


def test_send_cmsgs() -> None:
    def pktinfo(host: str) -> tuple[int, int, bytes]:
        return (IP6, PKTINFO, socket.inet_pton(V6, host) + struct.pack("=I", 0))

    cases = [
        [(IP6, linux.IPV6_HOPLIMIT, struct.pack("=i", 256))],  # M9: EINVAL
        [pktinfo(ELSEWHERE)],  # M9: a non-local source is EINVAL
        [(IP6, DONTFRAG, struct.pack("=i", 1))],
        [(linux.SOL_IP, linux.IP_TTL, struct.pack("=i", 3))],  # SOL_IP: ignored
        [(IP6, linux.IPV6_HOPLIMIT, struct.pack("=i", 9)), (IP6, 67, struct.pack("=i", 8))],
    ]

    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            s.settimeout(0.5)
            got = []
            for seq, anc in enumerate(cases, 1):
                with Sniffer(lab.client, "c0") as sniffer:
                    sent = attempt(s.sendmsg, [echo(V6, seq)], anc, 0, (SERVER_V6, 0, 0, 0))
                    seen = sniffed_requests(sniffer) if sent[0] == "ok" else []
                reply = attempt(lambda: s.recv(100)[6:8]) if seen else nonblocking(s, s.recv, 100)
                got.append((sent, [(p.src, p.ttl, p.data[1] >> 4) for p in seen], reply))
            return got

    nothing = ("error", "EAGAIN")
    assert both(scenario) == [
        (("error", "EINVAL"), [], nothing),
        (("error", "EINVAL"), [], nothing),
        (("ok", 16), [(CLIENT_V6, 64, 0)], ("ok", b"\x00\x03")),
        (("ok", 16), [(CLIENT_V6, 64, 0)], ("ok", b"\x00\x04")),
        (("ok", 16), [(CLIENT_V6, 9, 8)], ("ok", b"\x00\x05")),
    ]


def test_a_pktinfo_source_address() -> None:
    # M9: ping_v6_sendmsg() validates the IPV6_PKTINFO source and then uses the socket's own
    # (route or bind), as the emulation does.
    pktinfo = (IP6, PKTINFO, socket.inet_pton(V6, "2001:db8:5::5") + struct.pack("=I", 0))

    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            lab.client.ip("addr", "add", "2001:db8:5::5/128", "dev", "lo", "nodad")
            s.settimeout(0.5)
            with Sniffer(lab.client, "c0") as sniffer:
                sent = attempt(s.sendmsg, [echo(V6, 1)], [pktinfo], 0, (SERVER_V6, 0, 0, 0))
                sources = [p.src for p in sniffed_requests(sniffer)]
            return sent, sources, attempt(lambda: s.recv(100)[6:8])

    assert both(scenario) == (("ok", 16), [CLIENT_V6], ("ok", b"\x00\x01"))


def test_destination_options() -> None:
    # M9: with the privilege to pass IPV6_DSTOPTS at all, the ping socket still sends no
    # options header (ping_v6_sendmsg() drops it); nor does the emulation.
    options = (IP6, DSTOPTS, bytes([58, 0, 1, 4, 0, 0, 0, 0]))

    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            with Sniffer(lab.client, "c0") as sniffer:
                sent = attempt(s.sendmsg, [echo(V6, 1)], [options], 0, (SERVER_V6, 0, 0, 0))
                seen = sniffer.collect(
                    timeout=1.0, count=1, match=lambda p: p.outgoing and p.dst == SERVER_V6
                )
            return sent, [p.data[6] for p in seen], s.recv(100)[6:8]

    assert both(scenario) == (("ok", 16), [58], b"\x00\x01")


V6_OPTIONS = [
    S(IP6, 7, 2, "ENOPROTOOPT"), G(IP6, 7, "ENOPROTOOPT"),  # IPV6_CHECKSUM
    S(58, 1, bytes(32), "ENOPROTOOPT"), G(58, 1, "ENOPROTOOPT", 32),  # ICMPV6_FILTER
    S(IP6, 1, 2, "ENOPROTOOPT"),  # IPV6_ADDRFORM
    S(IP6, 60, 1), G(IP6, 60, 1),  # IPV6_RECVPATHMTU
    S(IP6, 70, 0), G(IP6, 70, 0),  # IPV6_AUTOFLOWLABEL
    G(IP6, 24, "ENOTCONN"),  # IPV6_MTU unconnected
]  # fmt: skip


def test_options_that_agree() -> None:
    def scenario(backend: str) -> object:
        with on_loopback(backend, V6) as (_ns, s):
            return [attempt(s.setsockopt if kind == "set" else s.getsockopt, *args)
                    for kind, args, _expected in V6_OPTIONS]  # fmt: skip

    assert both(scenario) == [expected for _kind, _args, expected in V6_OPTIONS]


def test_ipv6_hdrincl() -> None:
    # IPV6_HDRINCL is a raw socket's option: the emulation keeps it from its raw socket.
    def scenario(backend: str) -> object:
        with on_loopback(backend, V6) as (_ns, s):
            return attempt(s.getsockopt, IP6, HDRINCL), attempt(s.setsockopt, IP6, HDRINCL, 1)

    assert both(scenario) == (("error", "ENOPROTOOPT"), ("error", "ENOPROTOOPT"))


@pytest.mark.parametrize(("kind", "port"), [(128, 1234), (160, 0)], ids=["connected", "probe"])
def test_local_emsgsize_port(kind: int, port: int) -> None:
    # M12: msg_name's port is (type << 8) | code, even when connected to another port.
    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (_lab, s):
            s.setsockopt(IP6, linux.IPV6_RECVERR, 1)
            s.setsockopt(IP6, linux.IPV6_MTU_DISCOVER, linux.IP_PMTUDISC_DO)
            if port:
                s.connect((SERVER_V6, port, 0, 0))
            message = bytes([kind]) + bytes(7) + bytes(1600)
            sent = attempt(s.sendto, message, (SERVER_V6, 0, 0, 0))
            return sent, read_error_queue(s)

    sent, (status, (_length, _before, error, _flags, address)) = both(scenario)  # type: ignore[misc]
    assert sent == ("error", "EMSGSIZE") and status == "ok" and error[4] == 1500
    assert address == (SERVER_V6, kind << 8, 0, 0)


def test_an_error_about_a_fragmented_echo() -> None:
    # A 1608-byte echo leaves in two fragments; the router's Packet Too Big quotes the first,
    # whose next header is a Fragment header, which icmpv6_notify() skips (M11).
    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            lab.set_server_link_mtu(1280)
            s.setsockopt(IP6, linux.IPV6_RECVERR, 1)
            sent = attempt(s.sendto, echo(V6, 1, payload=bytes(1600)), (SERVER_V6, 0, 0, 0))
            wait_for_news(s, 0.5)
            queued = read_error_queue(s)
            return sent, queued if queued[0] == "error" else queued[1][2][:5]

    assert both(scenario) == (("ok", 1608), (90, linux.SO_EE_ORIGIN_ICMP6, 2, 0, 1280))


def test_reply_cmsgs_on_loopback() -> None:
    def scenario(backend: str) -> object:
        with on_loopback(backend, V6) as (_ns, s):
            for option in (linux.IPV6_RECVPKTINFO, linux.IPV6_RECVHOPLIMIT, linux.IPV6_RECVTCLASS):
                s.setsockopt(IP6, option, 1)
            s.setsockopt(IP6, 67, 0x20)
            s.sendto(echo(V6, 1), ("::1", 0, 0, 0))
            _data, anc, flags, _source = s.recvmsg(100, 1024)
            return comparable(anc), flags

    # M10: IPV6_PKTINFO {::1, lo}, the hop limit, the traffic class (echoed by the responder).
    assert both(scenario) == (
        [(IP6, PKTINFO, (bytes(15) + b"\x01" + struct.pack("=I", 1)).hex()),
         (IP6, linux.IPV6_HOPLIMIT, struct.pack("=i", 64).hex()),
         (IP6, 67, struct.pack("=i", 0x20).hex())],
        0,
    )  # fmt: skip
