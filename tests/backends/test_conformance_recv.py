"""recvmsg() and reply demultiplexing on the REAL kernel and the emulation (spec sections G and
H): the reply as received, truncation and the receive flags, the source address, a pending
error before queued data, and which forged replies reach which socket. Forged packets come
from an IPPROTO_RAW socket inside the test's namespace (``contract_helpers.inject4``). The
differential style is described in ``contract_helpers``; the deviations are in
``docs/emulation-deviations.md``."""

from __future__ import annotations

import fcntl
import struct
import termios
from typing import Any

import pytest
from contract_helpers import (
    V4,
    V6,
    attempt,
    deviates,
    drain,
    icmp4,
    inject4,
    inject6,
    ip4,
    ip6,
    nonblocking,
    on_client,
    on_loopback,
    section,
    settle,
    wait_for_news,
)
from test_contract import both, echo, open_in

from lab.topology import CLIENT_V4, ROUTER_CLIENT_SIDE_V6
from pingsock import linux
from pingsock.wire.checksum import icmp6_checksum, internet_checksum

pytestmark = pytest.mark.netns

LOOPBACK = {"v4": (V4, "127.0.0.1"), "v6": (V6, "::1")}
ERRQUEUE, TRUNC, PEEK, OOB = linux.MSG_ERRQUEUE, linux.MSG_TRUNC, linux.MSG_PEEK, linux.MSG_OOB


def address(family: int, host: str, port: int = 0) -> tuple[object, ...]:
    return (host, port) if family == V4 else (host, port, 0, 0)


def shown(received: list[tuple[bytes, Any]]) -> list[tuple[int, int, bytes, int, Any]]:
    """(type, code, sequence, length, source) of each datagram."""
    return [(d[0], d[1], d[6:8], len(d), source) for d, source in received]


# -- G1-G4: receiving -----------------------------------------------------------------------


@section("G")
@pytest.mark.parametrize("fam", LOOPBACK)
def test_the_reply_as_received(fam: str) -> None:
    family, target = LOOPBACK[fam]

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (_ns, s):
            s.sendto(echo(family, 9, payload=b"odd"), address(family, target))
            data, anc, flags, source = s.recvmsg(100, 100)
            ident = s.getsockname()[1]
            assert data[4:6] == struct.pack("!H", ident)  # G1: our ident, no IP header
            if family == V4:
                assert internet_checksum(data) == 0  # the sender's checksum, valid
            else:
                loopback = bytes(15) + b"\x01"
                assert icmp6_checksum(loopback, loopback, data) == 0
            return data[:2] + data[6:], anc, flags, source

    reply = 0 if family == V4 else 129
    assert both(scenario) == (bytes([reply, 0]) + b"\x00\x09odd", [], 0, address(family, target))


@section("G")
@pytest.mark.parametrize("fam", LOOPBACK)
def test_receive_calls(fam: str) -> None:
    family, target = LOOPBACK[fam]
    to = address(family, target)

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (_ns, s):
            s.settimeout(0.2)
            steps: list[object] = [attempt(s.recv, 100)]  # G4: never bound, it just waits
            steps.append(nonblocking(s, s.recv, 100))
            steps.append(nonblocking(s, s.recvmsg, 100, 0, ERRQUEUE))
            s.sendto(echo(family, 1, payload=b"abcdefghij"), to)
            settle(s)
            steps.append(nonblocking(s, s.recv, 100, OOB))  # G4: EOPNOTSUPP, data or not
            data, _anc, flags, source = s.recvmsg(100, 0, PEEK)
            steps.append((data[6:], flags, source))
            steps.append(s.recvmsg(0)[::2])  # G3: consumed, (b"", MSG_TRUNC)
            steps.append(nonblocking(s, s.recv, 100))
            s.sendto(echo(family, 2, payload=b""), to)
            data, _anc, flags, _source = s.recvmsg(100)
            steps.append((len(data), data[0], data[6:8], flags))  # H6: 8 bytes
            s.sendto(echo(family, 3, payload=b"xyz"), to)
            data, _anc, flags, _source = s.recvmsg(5, 0, TRUNC)  # the truncated length
            steps.append((len(data), flags))
            return steps

    reply = 0 if family == V4 else 129
    assert both(scenario) == [
        ("error", "timeout"), ("error", "EAGAIN"), ("error", "EAGAIN"), ("error", "ENOTSUP"),
        (b"\x00\x01abcdefghij", 0, address(family, target)), (b"", TRUNC), ("error", "EAGAIN"),
        (8, reply, b"\x00\x02", 0), (5, TRUNC),
    ]  # fmt: skip


@section("G")
def test_link_local_source_scope() -> None:
    # G2: a link-local source comes with the ingress interface as its scope, a global one not.
    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            router = next(
                a.ip for a in lab.router.addresses if a.ifname == "r0" and a.scope == "link"
            )
            c0 = lab.client.ifindex("c0")
            got = []
            for host, scope in ((router, c0), (ROUTER_CLIENT_SIDE_V6, 0)):
                s.sendto(echo(V6, 1), (host, 0, 0, scope))
                _data, source = s.recvfrom(100)
                got.append((source[0] == host, source[1:3], source[3] == scope))
            return got

    assert both(scenario) == [(True, (0, 0), True), (True, (0, 0), True)]


@section("G")
@pytest.mark.parametrize("fam", LOOPBACK)
def test_a_pending_error_comes_before_queued_data(fam: str) -> None:
    family, target = LOOPBACK[fam]

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (_ns, s):
            level = linux.SOL_IP if family == V4 else linux.SOL_IPV6
            s.setsockopt(level, linux.IP_RECVERR if family == V4 else linux.IPV6_RECVERR, 1)
            s.sendto(echo(family, 1), address(family, target))
            settle(s)  # the reply is queued
            forge_error(family, s.getsockname()[1])
            settle(s)
            steps = [nonblocking(s, s.recv, 100)]  # G5: the error first, once
            steps.append(nonblocking(s, lambda: s.recv(100)[6:8]))
            steps.append(nonblocking(s, lambda: s.recvmsg(100, 100, ERRQUEUE)[2]))
            return steps

    assert both(scenario) == [("error", "ECONNREFUSED"), ("ok", b"\x00\x01"), ("ok", ERRQUEUE)]


def forge_error(family: int, ident: int) -> None:
    """A port unreachable (v6: 1/4) about our echo to 192.0.2.9 / 2001:db8::9."""
    if family == V4:
        quoted = ip4("127.0.0.1", "192.0.2.9", echo(V4, 7, ident))
        inject4(ip4("192.0.2.254", "127.0.0.1", icmp4(3, 3, bytes(4), quoted)))
    else:
        quoted = ip6("::1", "2001:db8::9", echo(V6, 7, ident))
        inject6("2001:db8::fe", "::1", bytes([1, 4, 0, 0]) + bytes(4) + quoted)


@section("G")
@pytest.mark.deviation("G8-receive-buffer")
def test_deviation_a_full_receive_buffer() -> None:
    # G8: the smallest SO_RCVBUF holds 3 replies, the kernel drops the rest; the emulation
    # reads its raw socket ahead into its own queue on every call, so nothing is dropped.
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            s.setsockopt(linux.SOL_SOCKET, linux.SO_RCVBUF, 1)
            for seq in range(30):
                s.sendto(echo(V4, seq), ("127.0.0.1", 0))
            settle(s)
            return s.getsockopt(linux.SOL_SOCKET, linux.SO_RCVBUF), len(drain(s))

    deviates(scenario, kernel=(2304, 3), raw=(2304, 30))


# -- H: which replies reach the socket ------------------------------------------------------


def forged_replies_v4(ident: int) -> list[bytes]:
    me = struct.pack("!H", ident)

    def reply(src: str, dst: str, kind: int, code: int, seq_body: tuple[int, bytes]) -> bytes:
        seq, body = seq_body
        return ip4(src, dst, icmp4(kind, code, me + struct.pack("!H", seq), body))

    return [
        reply("192.0.2.200", "127.0.0.1", 0, 0, (2, b"x")),  # H3: any source
        ip4("192.0.2.200", "127.0.0.1", icmp4(0, 0, struct.pack("!HH", ident ^ 1, 3), b"x")),
        ip4("192.0.2.200", "127.0.0.1", icmp4(0, 0, me + b"\x00\x04", b"x", bad=True)),  # H2
        reply("192.0.2.200", "127.0.0.1", 14, 0, (5, bytes(12))),  # H2: timestamp reply
        reply("127.0.0.1", "127.0.0.1", 8, 0, (6, b"y")),  # H2: a request: the kernel answers
        reply("192.0.2.200", "127.0.0.1", 0, 5, (7, b"z")),  # H1: any code
        reply("192.0.2.200", "127.0.0.1", 0, 0, (9, b"")),  # H6: no payload
        reply("192.0.2.200", "127.0.0.1", 43, 0, (10, bytes(4))),  # H1: Extended Echo Reply
        reply("192.0.2.200", "127.0.0.2", 0, 0, (11, b"w")),  # unbound: any local address
    ]


def forged_replies_v6(ident: int) -> list[bytes]:
    me = struct.pack("!H", ident)
    return [
        bytes([129, 0, 0, 0]) + me + b"\x00\x02x",
        bytes([129, 0, 0, 0]) + struct.pack("!HH", ident ^ 1, 3) + b"x",
        bytes([128, 0, 0, 0]) + me + b"\x00\x06y",  # answered by the kernel
        bytes([129, 3, 0, 0]) + me + b"\x00\x07z",
        bytes([129, 0, 0, 0]) + me + b"\x00\x09",
        bytes([161, 0, 0, 0]) + me + b"\x00\x0a" + bytes(4),
        bytes([130, 0, 0, 0]) + me + b"\x00\x0b" + bytes(20),  # a multicast listener query
    ]


@section("H")
@pytest.mark.parametrize("fam", LOOPBACK)
def test_which_forged_replies_are_delivered(fam: str) -> None:
    family, target = LOOPBACK[fam]

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (_ns, s):
            s.sendto(echo(family, 1), address(family, target))
            s.recv(100)
            ident = s.getsockname()[1]
            if family == V4:
                for packet in forged_replies_v4(ident):
                    inject4(packet)
            else:
                for message in forged_replies_v6(ident):
                    source = "::1" if message[0] == 128 else "2001:db8::9"
                    inject6(source, "::1", message)
                inject6("2001:db8::9", "::1", bytes([129, 0, 0, 0]) + struct.pack(
                    "!H", ident) + b"\x00\x04x", bad=True)  # fmt: skip
            settle(s)
            return shown(drain(s))

    if family == V4:
        forger = ("192.0.2.200", 0)
        assert both(scenario) == [
            (0, 0, b"\x00\x02", 9, forger), (0, 0, b"\x00\x06", 9, ("127.0.0.1", 0)),
            (0, 5, b"\x00\x07", 9, forger), (0, 0, b"\x00\x09", 8, forger),
            (43, 0, b"\x00\x0a", 12, forger), (0, 0, b"\x00\x0b", 9, forger),
        ]  # fmt: skip
    else:
        other = ("2001:db8::9", 0, 0, 0)
        assert both(scenario) == [
            (129, 0, b"\x00\x02", 9, other), (129, 0, b"\x00\x06", 9, ("::1", 0, 0, 0)),
            (129, 3, b"\x00\x07", 9, other), (129, 0, b"\x00\x09", 8, other),
            (161, 0, b"\x00\x0a", 12, other),
        ]  # fmt: skip


@section("H")
@pytest.mark.parametrize("fam", LOOPBACK)
def test_a_bound_or_connected_address_filters(fam: str) -> None:
    family, target = LOOPBACK[fam]
    other = "127.0.0.2" if family == V4 else "2001:db8:9::1"

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (ns, bound):
            if family == V6:
                ns.ip("addr", "add", f"{other}/128", "dev", "lo", "nodad")
            bound.bind(address(family, other, 4444))
            connected = open_in(ns, backend, family)
            connected.connect(address(family, target, 0))
            got = []
            for s in (bound, connected):
                ident = s.getsockname()[1]
                for seq, destination in ((1, target), (2, other)):
                    reply = struct.pack("!HH", ident, seq) + b"q"
                    if family == V4:
                        inject4(ip4("192.0.2.200", destination, icmp4(0, 0, reply)))
                    else:
                        inject6("2001:db8::9", destination, bytes([129, 0, 0, 0]) + reply)
                settle(s)
                got.append([d[6:8] for d, _ in drain(s)])
            connected.close()
            return got

    assert both(scenario) == [[b"\x00\x02"], [b"\x00\x01"]]  # H1


@section("H")
def test_a_bound_device_filters() -> None:
    # H1: with SO_BINDTODEVICE the ingress interface must match.
    def scenario(backend: str) -> object:
        with on_client(backend, V4) as (lab, on_lo), open_in(lab.client, backend, V4) as on_c0:
            on_lo.setsockopt(linux.SOL_SOCKET, linux.SO_BINDTODEVICE, b"lo")
            on_c0.setsockopt(linux.SOL_SOCKET, linux.SO_BINDTODEVICE, b"c0")
            on_lo.sendto(echo(V4, 1), ("127.0.0.1", 0))  # in on lo
            on_c0.sendto(echo(V4, 3), ("198.51.100.254", 0))  # in on c0
            wait_for_news(on_c0)
            for s, seq in ((on_lo, 2), (on_c0, 4)):
                reply = icmp4(0, 0, struct.pack("!HH", s.getsockname()[1], seq), b"q")
                with lab.router.entered():
                    inject4(ip4("192.0.2.200", CLIENT_V4, reply))  # in on c0
            settle(on_c0)
            return [[d[6:8] for d, _ in drain(s)] for s in (on_lo, on_c0)]

    assert both(scenario) == [[b"\x00\x01"], [b"\x00\x03", b"\x00\x04"]]


@section("H")
def test_families_never_mix() -> None:
    # H5: v4 replies never reach v6 sockets, and the reverse, with the same ident.
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (ns, s4), open_in(ns, backend, V6) as s6:
            s4.bind(("0.0.0.0", 7000))
            s6.bind(("::", 7000, 0, 0))
            s4.sendto(echo(V4, 4), ("127.0.0.1", 0))
            s6.sendto(echo(V6, 6), ("::1", 0, 0, 0))
            settle(s4)
            settle(s6)
            return shown(drain(s4)), shown(drain(s6))

    assert both(scenario) == (
        [(0, 0, b"\x00\x04", 16, ("127.0.0.1", 0))],
        [(129, 0, b"\x00\x06", 16, ("::1", 0, 0, 0))],
    )


@section("H")
def test_a_reply_to_a_subnet_broadcast() -> None:
    # H2: icmp_rcv() drops an echo reply sent to a broadcast address, also to a subnet
    # broadcast such as 127.255.255.255 (the emulation asks the routing table).
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            s.sendto(echo(V4, 1), ("127.0.0.1", 0))
            s.recv(100)
            reply = icmp4(0, 0, struct.pack("!HH", s.getsockname()[1], 8), b"z")
            inject4(ip4("127.0.0.9", "127.255.255.255", reply))
            settle(s)
            return shown(drain(s))

    assert both(scenario) == []


@section("G")
def test_msg_oob_on_a_socket_with_a_timeout() -> None:
    # The stdlib socket waits for readability before it calls recv(), so with a timeout and
    # nothing queued the socket times out (the emulation waits the same way).
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            s.settimeout(0.2)
            return attempt(s.recv, 100, OOB)

    assert both(scenario) == ("error", "timeout")


@section("G")
@pytest.mark.deviation("G6-ioctl")
def test_deviation_ioctl_on_the_descriptor() -> None:
    # G6: a ping socket has no ioctl handler (ENOTTY; SIOCGSTAMP is the generic ENOENT); the
    # emulation's fileno() is an epoll descriptor (backends/raw_ready.py), which has none either
    # and answers EINVAL.
    requests = (termios.FIONREAD, termios.TIOCOUTQ, 0x8906)  # SIOCINQ, SIOCOUTQ, SIOCGSTAMP

    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            return [attempt(fcntl.ioctl, s.fileno(), request, bytes(16)) for request in requests]

    deviates(
        scenario,
        kernel=[("error", "ENOTTY"), ("error", "ENOTTY"), ("error", "ENOENT")],
        raw=[("error", "EINVAL")] * 3,
    )
