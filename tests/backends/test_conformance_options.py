"""Receive cmsgs, path MTU and socket options on the REAL kernel and the emulation (spec
sections I, K and L): the reply's cmsgs on loopback and a short control buffer, IP_MTU and the
shared path MTU, the INTERFACE and OMIT modes, more setsockopt() rows, send cmsgs, and the
options only a raw socket has. The differential style is described in ``contract_helpers``;
the deviations are in ``docs/emulation-deviations.md``."""

from __future__ import annotations

import ctypes
import socket
import struct

import pytest
from contract_helpers import (
    IP,
    IP6,
    SOL,
    V4,
    V6,
    attempt,
    comparable,
    deviates,
    on_client,
    on_loopback,
    per_family,
    read_error_queue,
    section,
    sniffed_requests,
    wait_for_news,
)
from test_contract import both, echo, open_in
from test_contract_sockopts import G, S

from lab.sniffer import Sniffer
from lab.topology import SERVER_V4, SERVER_V6
from pingsock import linux

pytestmark = pytest.mark.netns

RR = b"\x01\x07\x27\x04" + bytes(36)
RECEIVE_OPTIONS = (linux.IP_PKTINFO, linux.IP_RECVTTL, linux.IP_RECVTOS, linux.IP_RECVOPTS,
                   linux.IP_RETOPTS)  # fmt: skip
PKTINFO_LO = struct.pack("=I", 1) + bytes(4) + socket.inet_aton("127.0.0.1")

# -- I1, I2: the reply's cmsgs -----------------------------------------------------------


@section("I")
def test_reply_cmsgs_on_loopback() -> None:
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            for option in RECEIVE_OPTIONS:
                s.setsockopt(IP, option, 1)
            s.setsockopt(SOL, linux.SO_TIMESTAMP, 1)
            s.sendto(echo(V4, 1), ("127.0.0.1", 0))
            plain = s.recvmsg(100, 1024)
            s.setsockopt(IP, linux.IP_OPTIONS, RR)
            s.sendto(echo(V4, 2), ("127.0.0.1", 0))
            recorded = s.recvmsg(100, 1024)
            return [(comparable(anc), flags) for _d, anc, flags, _a in (plain, recorded)]

    # I1: timestamp first, ipi_spec_dst 0; no options, no option cmsgs. I2: the hops recorded
    # on loopback, in both option cmsgs.
    loopback = (b"\x07\x27\x14" + socket.inet_aton("127.0.0.1") * 4 + bytes(21)).hex()
    base = [(SOL, 29, 16), (IP, 8, PKTINFO_LO.hex()), (IP, 2, "40000000"), (IP, 1, "00")]
    assert both(scenario) == [(base, 0), ([*base, (IP, 6, loopback), (IP, 7, loopback)], 0)]


@section("I")
def test_a_short_control_buffer() -> None:
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            s.setsockopt(IP, linux.IP_PKTINFO, 1)
            s.setsockopt(SOL, linux.SO_TIMESTAMP, 1)
            got = []
            for size in (32, 40, 64):
                s.sendto(echo(V4, 1), ("127.0.0.1", 0))
                _data, anc, flags, _address = s.recvmsg(100, size)
                got.append((comparable(anc), flags))
            return got

    stamp = (SOL, 29, 16)
    assert both(scenario) == [([stamp], linux.MSG_CTRUNC), ([stamp], linux.MSG_CTRUNC),
                              ([stamp, (IP, 8, PKTINFO_LO.hex())], 0)]  # fmt: skip


@section("I")
def test_a_control_buffer_for_one_header() -> None:
    # put_cmsg(): with room for a cmsg header but not its data the kernel still writes the
    # header (an empty SCM_TIMESTAMP) and sets MSG_CTRUNC.
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            s.setsockopt(SOL, linux.SO_TIMESTAMP, 1)
            s.sendto(echo(V4, 1), ("127.0.0.1", 0))
            _data, anc, flags, _address = s.recvmsg(100, 16)
            return comparable(anc), flags

    assert both(scenario) == ([(SOL, 29, 0)], linux.MSG_CTRUNC)


# -- K: path MTU ----------------------------------------------------------------------------

MTU = {"v4": (V4, IP, linux.IP_MTU, "127.0.0.1", SERVER_V4, 65535),
       "v6": (V6, IP6, linux.IPV6_MTU, "::1", SERVER_V6, 65536)}  # fmt: skip
DISCOVER = {V4: (IP, linux.IP_MTU_DISCOVER), V6: (IP6, linux.IPV6_MTU_DISCOVER)}
RECVERR = {V4: (IP, linux.IP_RECVERR), V6: (IP6, linux.IPV6_RECVERR)}


def to(family: int, host: str, port: int = 0) -> tuple[object, ...]:
    return (host, port) if family == V4 else (host, port, 0, 0)


def path_mtus(backend: str, fam: str) -> list[object]:
    """IP_MTU / IPV6_MTU of a connected socket before and after the router's "too big", of
    another socket connected to the same server, and of one connected to loopback."""
    family, level, option, loopback, server, _loopback_mtu = MTU[fam]
    with on_client(backend, family) as (lab, s):
        s.connect(to(family, server))
        steps: list[object] = [attempt(s.getsockopt, level, option)]  # K1, M15: the route's MTU
        lab.set_server_link_mtu(1280)
        s.setsockopt(*DISCOVER[family], linux.IP_PMTUDISC_DO)
        s.setsockopt(*RECVERR[family], 1)
        s.send(echo(family, 1, payload=bytes(1400)))
        wait_for_news(s)
        steps.append(attempt(s.getsockopt, level, option))  # K2: learned from the router
        with open_in(lab.client, backend, family) as other:
            other.connect(to(family, server))  # K3: shared by every socket
            steps.append(attempt(other.getsockopt, level, option))
            other.connect(to(family, loopback))
            steps.append(attempt(other.getsockopt, level, option))
        return steps


@pytest.mark.parametrize("fam", per_family("K", "M"))
def test_path_mtu_of_connected_sockets(fam: str) -> None:
    def scenario(backend: str) -> object:
        steps = path_mtus(backend, fam)
        return steps if fam == "v4" else steps[:1] + steps[2:]  # v6: see the deviation

    first = [("ok", 1500), ("ok", 1280)] if fam == "v4" else [("ok", 1500)]
    assert both(scenario) == [*first, ("ok", 1280), ("ok", MTU[fam][5])]


@section("M")
@pytest.mark.deviation("M15-ipv6-mtu-after-too-big")
def test_deviation_ipv6_mtu_of_the_socket_that_learned_it() -> None:
    # The kernel's connected v6 socket keeps its cached route after a Packet Too Big (the
    # route exception is updated, not the socket's dst), so IPV6_MTU still reads 1500 there
    # (the spec saw ENOTCONN); the emulation asks a fresh route and reads 1280.
    def scenario(backend: str) -> object:
        return path_mtus(backend, "v6")[1]

    deviates(scenario, kernel=("ok", 1500), raw=("ok", 1280))


MODES = {
    "v4-interface": (V4, 4), "v4-omit": (V4, 5), "v6-interface": (V6, 4),
}  # fmt: skip


@section("K")
@pytest.mark.parametrize("case", MODES)
def test_interface_and_omit_modes(case: str) -> None:
    # K2: INTERFACE refuses what the interface cannot carry; OMIT fragments at its MTU.
    family, mode = MODES[case]
    server = SERVER_V4 if family == V4 else SERVER_V6

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            s.setsockopt(*DISCOVER[family], mode)
            s.setsockopt(*RECVERR[family], 1)
            sent = attempt(s.sendto, echo(family, 1, payload=bytes(1600)), to(family, server))
            s.settimeout(0.5)
            return sent, attempt(lambda: len(s.recv(4096))), read_error_queue(s)

    sent, reply, queued = both(scenario)  # type: ignore[misc]
    if mode == 4:
        assert (sent, reply, queued[1][2][:5]) == (
            ("error", "EMSGSIZE"),
            ("error", "timeout"),
            (90, linux.SO_EE_ORIGIN_LOCAL, 0, 0, 1500),
        )
    else:
        assert (sent, reply, queued) == (("ok", 1608), ("ok", 1608), ("error", "EAGAIN"))


# -- L9: more options -----------------------------------------------------------------------

L9_OPTIONS = [
    S(SOL, 12, 0), S(SOL, 12, 6), G(SOL, 12, 6),  # SO_PRIORITY 0..6
    S(IP, 3, 1, "ENOPROTOOPT"),  # IP_HDRINCL
    S(255, 1, 0, "ENOPROTOOPT"), G(255, 1, "ENOTSUP"),  # SOL_RAW ICMP_FILTER
    S(SOL, 60, 1, "ENOTSUP"),  # SO_ZEROCOPY
    S(SOL, 42, 0, "ENOTSUP"), G(SOL, 42, "ENOTSUP"),  # SO_PEEK_OFF
    S(SOL, 26, bytes(16), "EINVAL"),  # SO_ATTACH_FILTER, an empty program
    S(IP, 23, 1), G(IP, 23, 1),  # IP_CHECKSUM
    S(IP, 26, 1), G(IP, 26, 1),  # IP_RECVERR_RFC4884
    S(IP, 24, 1), G(IP, 24, 1),  # IP_BIND_ADDRESS_NO_PORT
    S(IP, 50, 1, "EADDRNOTAVAIL"),  # IP_UNICAST_IF, an ifindex in network order
    S(IP, 32, socket.inet_aton("127.0.0.1")),  # IP_MULTICAST_IF
    S(IP, 35, socket.inet_aton("224.0.0.9") + socket.inet_aton("127.0.0.1")),  # ADD_MEMBERSHIP
    S(SOL, 15, 1), G(SOL, 15, 1),  # SO_REUSEPORT
    S(SOL, 37, 0), S(IP, 15, 1), G(IP, 15, 1),  # SO_TIMESTAMPING, IP_FREEBIND
    S(IP, 19, 1), G(IP, 19, 1),  # IP_TRANSPARENT (root)
]  # fmt: skip


@section("L")
def test_more_socket_options() -> None:
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            return [attempt(s.setsockopt if kind == "set" else s.getsockopt, *args)
                    for kind, args, _expected in L9_OPTIONS]  # fmt: skip

    assert both(scenario) == [expected for _kind, _args, expected in L9_OPTIONS]


@section("L")
def test_send_cmsgs() -> None:
    def pktinfo(ifindex: int, source: str) -> tuple[int, int, bytes]:
        return (IP, linux.IP_PKTINFO, struct.pack("=I4s4s", ifindex, socket.inet_aton(source),
                                                  bytes(4)))  # fmt: skip

    cases = [
        [pktinfo(0, "127.0.0.5")],  # L10: ipi_spec_dst is the source on the wire
        [pktinfo(1, "0.0.0.0")],  # L10: ipi_ifindex
        [pktinfo(0, "192.0.2.1")],  # not a local source: no route from it
        [(IP, linux.IP_TTL, struct.pack("=i", 0))],
        [(IP, linux.IP_TTL, struct.pack("=i", 256))],
        [(IP, linux.IP_TTL, b"\x05")],  # L1: an int in 1..255 only
        [(IP, linux.IP_TOS, b"\x10")],
        [(IP, linux.IP_TOS, struct.pack("=i", 0x10))],  # L2
        [(IP, 99, struct.pack("=i", 1))],  # L10: an unknown SOL_IP cmsg
        [(IP6, linux.IPV6_HOPLIMIT, struct.pack("=i", 3))],  # L10: ignored on v4
        [(SOL, 1, struct.pack("=i", 0))],  # SCM_RIGHTS: ignored
        [(SOL, 36, struct.pack("=I", 5))],  # SO_MARK (root)
    ]

    def scenario(backend: str) -> object:
        with on_loopback(backend) as (ns, s):
            ns.ip("addr", "add", "127.0.0.5/8", "dev", "lo")
            s.settimeout(0.3)
            got = []
            for seq, anc in enumerate(cases, 1):
                with Sniffer(ns, "lo") as sniffer:
                    sent = attempt(s.sendmsg, [echo(V4, seq)], anc, 0, ("127.0.0.1", 0))
                    seen = sniffed_requests(sniffer) if sent[0] == "ok" else []
                wire = [(p.src, p.ttl, p.data[1]) for p in seen]
                got.append((sent, wire, attempt(lambda: s.recv(100)[6:8]) if seen else None))
            return got

    got = both(scenario)
    ok = [sent == ("ok", 16) for sent, _wire, _reply in got]  # type: ignore[attr-defined]
    assert ok == [True, True, False, False, False, False, True, True, False, True, True, True]
    assert got[0][1] == [("127.0.0.5", 64, 0)] and got[6][1] == [("127.0.0.1", 64, 0x10)]  # type: ignore[index]


def filter_program(instructions: list[tuple[int, int, int, int]]) -> tuple[bytes, object]:
    """A struct sock_fprog for SO_ATTACH_FILTER, and the buffer it points to (keep it)."""
    code = b"".join(struct.pack("=HBBI", *insn) for insn in instructions)
    buffer = ctypes.create_string_buffer(code, len(code))
    return struct.pack("=HxxxxxxQ", len(instructions), ctypes.addressof(buffer)), buffer


@section("L")
@pytest.mark.deviation("L9-socket-filters")
def test_deviation_socket_filters() -> None:
    # The emulation's own BPF filter sits on its raw socket: SO_ATTACH_FILTER and
    # SO_DETACH_FILTER are refused, and SO_GET_FILTER shows the emulation's program.
    accept_all, _keep = filter_program([(0x06, 0, 0, 0xFFFF)])

    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            steps: list[object] = [attempt(s.getsockopt, SOL, 26) != ("ok", 0)]  # SO_GET_FILTER
            steps.append(attempt(s.setsockopt, SOL, 26, accept_all))
            steps.append(attempt(s.setsockopt, SOL, 27, 0))  # SO_DETACH_FILTER
            steps.append(attempt(s.setsockopt, SOL, 27, 0))
            return steps

    deviates(
        scenario,
        kernel=[False, ("ok", None), ("ok", None), ("error", "ENOENT")],
        raw=[True, ("error", "EINVAL"), ("error", "EINVAL"), ("error", "EINVAL")],
    )


@section("L")
def test_so_lock_filter() -> None:
    # SO_LOCK_FILTER locks the user's filter only: the emulation keeps it from its raw socket,
    # whose filter must follow the ident.
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            steps = [attempt(s.setsockopt, SOL, 44, 1), attempt(s.getsockopt, SOL, 44)]
            steps.append(attempt(s.sendto, echo(V4, 1), ("127.0.0.1", 0)))
            return steps

    assert both(scenario) == [("ok", None), ("ok", 1), ("ok", 16)]


@section("L")
def test_options_of_raw_sockets() -> None:
    # IP_ROUTER_ALERT and IP_NODEFRAG are a raw socket's; IP_PROTOCOL reads inet_num, which
    # is the ident on a ping socket and the protocol on a raw one.
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            s.bind(("0.0.0.0", 777))
            return [attempt(s.setsockopt, IP, 5, 1), attempt(s.setsockopt, IP, 22, 1),
                    attempt(s.getsockopt, IP, 52)]  # fmt: skip

    assert both(scenario) == [("error", "EINVAL"), ("error", "ENOPROTOOPT"), ("ok", 777)]
