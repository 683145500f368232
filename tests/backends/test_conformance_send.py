"""sendmsg() on the REAL kernel and the emulation (spec sections E and F): the order of the
checks, what goes on the wire, the flags, the destination's port and the unspecified address,
Extended Echo (RFC 8335), and the size limits on loopback and on a link. The differential
style is described in ``contract_helpers``; the deviations are in
``docs/emulation-deviations.md``."""

from __future__ import annotations

import struct

import pytest
from contract_helpers import (
    V4,
    V6,
    attempt,
    drain,
    icmp4,
    inject4,
    ip4,
    on_client,
    on_loopback,
    per_family,
    read_error_queue,
    section,
    sniffed_requests,
)
from test_contract import both, echo

from lab.sniffer import Sniffer
from lab.topology import SERVER_V4, SERVER_V6
from pingsock import linux
from pingsock.wire.checksum import internet_checksum

pytestmark = pytest.mark.netns

LOOPBACK = {"v4": (V4, "127.0.0.1", "192.0.2.9", 8), "v6": (V6, "::1", "2001:db8::9", 128)}


def address(family: int, host: str, port: int = 0) -> tuple[object, ...]:
    return (host, port) if family == V4 else (host, port, 0, 0)


# -- E1, E2: the order of the checks --------------------------------------------------------


@pytest.mark.parametrize("fam", per_family("E", "M"))
def test_order_of_the_send_checks(fam: str) -> None:
    family, target, nowhere, request = LOOPBACK[fam]
    good = bytes([request]) + bytes(7)
    to = address(family, target)
    steps = [
        (bytes(7), 1, to),  # (2) before (3): len 7 + MSG_OOB is EINVAL
        (good, 1, to),  # (3) MSG_OOB
        (bytes(70000), 0, to),  # (1) before (5): a bad type that is too long is EMSGSIZE
        (bytes(65536), 0, to),
        (bytes(8), 0, None),  # (5) before (6c): a bad type without a destination
        (good, 0, None),  # (6c) not connected
        (bytes(8), 0, address(family, nowhere)),  # (5) before (8): a bad type, no route
        (good, 0, address(family, nowhere)),  # (8)
        (good + b"odd", 0, to),  # E2: the full length, an odd payload
    ]

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (_ns, s):
            got = [
                attempt(s.sendto, data, flags, where) if where else attempt(s.send, data, flags)
                for data, flags, where in steps
            ]
            got.append(s.recv(100)[8:])
            got.append(attempt(s.sendmsg, [good[:1], good[1:2], good[2:5], good[5:], b"x"]))
            got.append(attempt(s.sendmsg, [good[:3], good[3:], b"yz"], [], 0, to))  # split header
            got.append(s.recv(100)[8:])
            return got

    assert both(scenario) == [
        ("error", "EINVAL"), ("error", "ENOTSUP"), ("error", "EMSGSIZE"), ("error", "EMSGSIZE"),
        ("error", "EINVAL"), ("error", "EDESTADDRREQ"), ("error", "EINVAL"),
        ("error", "ENETUNREACH"), ("ok", 11), b"odd", ("error", "EDESTADDRREQ"), ("ok", 10),
        b"yz",
    ]  # fmt: skip


# -- E3, E4: the wire -----------------------------------------------------------------------


@pytest.mark.parametrize("fam", per_family("E", "M"))
def test_what_the_wire_carries(fam: str) -> None:
    family, target, _nowhere, _request = LOOPBACK[fam]

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (ns, s):
            with Sniffer(ns, "lo") as sniffer:
                sent = [
                    attempt(s.sendto, echo(family, seq, 0x1234, 0xDEAD, b"abc"), (target, 0))
                    for seq in (5, 6)
                ]
                packets = sniffed_requests(sniffer, 2)
            ident = s.getsockname()[1]
            wire: list[object] = []
            for p in packets:
                message = p.l4
                assert message[4:6] == struct.pack("!H", ident)  # E3: the ident, not 0x1234
                if family == V4:
                    assert internet_checksum(message) == 0
                tclass = ((p.data[0] & 0x0F) << 4) | (p.data[1] >> 4)
                wire.append((p.ttl, p.data[1] if family == V4 else tclass, message[6:]))
            if family == V4:  # E4: DF set; the IP ids
                ids = [p.data[4:6] for p in packets]
                wire.append(([p.data[6] & 0x40 for p in packets], ids[0] != ids[1]))
            return sent, wire, [d[0:2] + d[6:] for d, _ in drain(s)]

    sent, wire, replies = both(scenario)  # type: ignore[misc]
    assert sent == [("ok", 11), ("ok", 11)]
    assert wire[:2] == [(64, 0, b"\x00\x05abc"), (64, 0, b"\x00\x06abc")]
    reply = 0 if family == V4 else 129
    assert replies == [bytes([reply, 0]) + b"\x00\x05abc", bytes([reply, 0]) + b"\x00\x06abc"]


# -- E5: flags ------------------------------------------------------------------------------

FLAGS = {
    "MSG_DONTWAIT": 0x40, "MSG_CONFIRM": 0x800, "MSG_EOR": 0x80, "MSG_NOSIGNAL": 0x4000,
    "MSG_TRUNC": 0x20, "MSG_PEEK": 0x2, "MSG_ERRQUEUE": 0x2000, "MSG_ZEROCOPY": 0x4000000,
    "MSG_FASTOPEN": 0x20000000, "MSG_WAITALL": 0x100,
}  # fmt: skip
MSG_PROBE = 0x10


def send_with_flags(backend: str, family: int, flags: dict[str, int]) -> list[object]:
    """(flag, send result, the reply's sequence number or the error) for each flag."""
    target = "127.0.0.1" if family == V4 else "::1"
    with on_loopback(backend, family) as (_ns, s):
        s.settimeout(0.3)
        got: list[object] = []
        for seq, (name, flag) in enumerate(flags.items(), 1):
            sent = attempt(s.sendto, echo(family, seq), flag, address(family, target))
            got.append((name, sent, attempt(lambda: s.recv(100)[6:8])))
        return got


@pytest.mark.parametrize("fam", per_family("E", "M"))
def test_send_flags(fam: str) -> None:
    family = LOOPBACK[fam][0]
    flags = FLAGS if family == V6 else {**FLAGS, "MSG_PROBE": MSG_PROBE}

    def scenario(backend: str) -> object:
        return send_with_flags(backend, family, flags)

    # E5: every flag but MSG_OOB is accepted; a v4 MSG_PROBE returns the length, sends nothing.
    replies: list[tuple[str, object]] = [
        ("ok", bytes([0, seq])) for seq in range(1, len(FLAGS) + 1)
    ]
    replies += [("error", "timeout")] * (family == V4)
    assert both(scenario) == [
        (name, ("ok", 16), reply) for name, reply in zip(flags, replies, strict=True)
    ]


@section("M")
def test_msg_probe_on_v6() -> None:
    # ping_v6_sendmsg() ignores MSG_PROBE and sends (rawv6_sendmsg() would send nothing).
    def scenario(backend: str) -> object:
        return send_with_flags(backend, V6, {"MSG_PROBE": MSG_PROBE})

    assert both(scenario) == [("MSG_PROBE", ("ok", 16), ("ok", b"\x00\x01"))]


@section("E")
def test_msg_more() -> None:
    # The ping socket pushes every datagram; the raw socket behind the emulation would cork a
    # send with MSG_MORE (raw_sendmsg()), so the emulation does not pass the flag on.
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            s.settimeout(0.3)
            steps: list[object] = [attempt(s.sendto, echo(V4, 1), 0x8000, ("127.0.0.1", 0))]
            steps.append(attempt(lambda: s.recv(100)[6:]))
            steps.append(attempt(s.sendto, echo(V4, 2, payload=b"!"), ("127.0.0.1", 0)))
            steps.append([(d[6:8], len(d)) for d, _ in drain(s)])
            return steps

    assert both(scenario) == [
        ("ok", 16), ("ok", b"\x00\x01pingsock"), ("ok", 9), [(b"\x00\x02", 9)],
    ]  # fmt: skip


# -- E6, E7: the destination ----------------------------------------------------------------


@section("E")
def test_destination_port_and_unspecified_address() -> None:
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            steps: list[object] = [attempt(s.sendto, echo(V4, 1), ("127.0.0.1", 4242))]  # ignored
            steps.append(s.recvfrom(100)[1])
            steps.append(attempt(s.sendto, echo(V4, 2), ("0.0.0.0", 0)))  # E6: loopback
            steps.append(s.recvfrom(100)[1])
            steps.append(attempt(s.sendto, echo(V4, 3), ("255.255.255.255", 0)))  # E7: no route
            steps.append(attempt(s.sendto, echo(V4, 4), ("127.255.255.255", 0)))  # broadcast
            return steps

    assert both(scenario) == [("ok", 16), ("127.0.0.1", 0), ("ok", 16), ("127.0.0.1", 0),
                              ("error", "ENETUNREACH"), ("error", "EACCES")]  # fmt: skip


@pytest.mark.parametrize("fam", per_family("E", "M"))
def test_extended_echo(fam: str) -> None:
    # E1 (5), H1: RFC 8335 PROBE (42 / 160) may be sent; its reply (43 / 161) is delivered.
    family, target, _nowhere, _request = LOOPBACK[fam]
    name = b"lo\0\0"
    objects = struct.pack("!HBB", 4 + len(name), 3, 1) + name  # interface by name
    extension = bytes([0x20, 0, 0, 0]) + objects
    extension = extension[:2] + struct.pack("!H", internet_checksum(extension)) + extension[4:]
    kind = 42 if family == V4 else 160
    probe = struct.pack("!BBHHBB", kind, 0, 0, 0xBEEF, 1, 1) + extension  # L-bit set

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (ns, s):
            ns.sysctl("net.ipv4.icmp_echo_enable_probe", "1")
            sent = attempt(s.sendto, probe, address(family, target))
            data, source = s.recvfrom(200)
            return sent, data[0:2], data[6:], source

    sent, kind_code, rest, source = both(scenario)  # type: ignore[misc]
    assert sent == ("ok", len(probe)) and kind_code == bytes([kind + 1, 0])
    assert rest[:2] == b"\x01\x07" and source == address(family, target)


@section("E")
def test_a_pending_error_waits_for_the_route_and_the_size() -> None:
    # E1: the route (8) and the size (10) are checked before the pending error (11), which
    # then stays pending (SO_ERROR still shows it).
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            s.setsockopt(linux.SOL_IP, linux.IP_RECVERR, 1)
            s.setsockopt(linux.SOL_IP, linux.IP_MTU_DISCOVER, linux.IP_PMTUDISC_DO)
            s.sendto(echo(V4, 1), ("127.0.0.1", 0))
            s.recv(100)
            quoted = ip4("127.0.0.1", "192.0.2.9", echo(V4, 7, s.getsockname()[1]))
            steps = []
            for message in (echo(V4, 2), echo(V4, 3, payload=bytes(65520 - 8))):
                inject4(ip4("192.0.2.254", "127.0.0.1", icmp4(3, 3, bytes(4), quoted)))
                destination = "192.0.2.9" if len(message) < 100 else "127.0.0.1"
                steps.append(attempt(s.sendto, message, (destination, 0)))
                steps.append(s.getsockopt(linux.SOL_SOCKET, linux.SO_ERROR))
            steps.append(attempt(s.sendto, echo(V4, 4), ("127.0.0.1", 0)))
            return steps

    # The last send goes out: reading SO_ERROR consumed the pending error (I-section rule).
    assert both(scenario) == [("error", "ENETUNREACH"), 111, ("error", "EMSGSIZE"), 111,
                              ("ok", 16)]  # fmt: skip


# -- F: size limits -------------------------------------------------------------------------

LIMITS = {
    # family, PMTU discovery, the largest message that goes out, lengths tried
    "v4": (V4, None, 65515, (65515, 65516, 65535, 65536)),
    "v4-do": (V4, linux.IP_PMTUDISC_DO, 65515, (65515, 65516)),
    "v6": (V6, None, 65535, (65535, 65536)),
    "v6-do": (V6, linux.IP_PMTUDISC_DO, 65496, (65496, 65497)),
}


@section("F")
@pytest.mark.parametrize("case", LIMITS)
def test_largest_message_on_loopback(case: str) -> None:
    family, mode, largest, lengths = LIMITS[case]
    target = "127.0.0.1" if family == V4 else "::1"
    level, option = (
        (linux.SOL_IP, linux.IP_MTU_DISCOVER) if family == V4
        else (linux.SOL_IPV6, linux.IPV6_MTU_DISCOVER)
    )  # fmt: skip

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (_ns, s):
            if mode is not None:
                s.setsockopt(level, option, mode)
            to = address(family, target)
            sent = [attempt(s.sendto, echo(family, 1, payload=bytes(n - 8)), to) for n in lengths]
            return sent, [len(d) for d, _ in drain(s, 70000)]

    sent, replies = both(scenario)  # type: ignore[misc]
    assert sent == [("ok", largest)] + [("error", "EMSGSIZE")] * (len(lengths) - 1)
    assert replies == [largest]


LINK = {
    # option set before sending (level, name, value), a send cmsg, the largest that goes out
    "v4-do": (V4, (linux.SOL_IP, linux.IP_MTU_DISCOVER, linux.IP_PMTUDISC_DO), None, 1480),
    "v4-probe": (V4, (linux.SOL_IP, linux.IP_MTU_DISCOVER, linux.IP_PMTUDISC_PROBE), None, 1480),
    "v6-do": (V6, (linux.SOL_IPV6, linux.IPV6_MTU_DISCOVER, linux.IP_PMTUDISC_DO), None, 1460),
    "v6-dontfrag": (V6, (linux.SOL_IPV6, 62, 1), None, 1460),  # F5: IPV6_DONTFRAG
    "v6-dontfrag-cmsg": (V6, None, (linux.SOL_IPV6, 62, struct.pack("=i", 1)), 1460),
}


@section("F")
@pytest.mark.parametrize("case", LINK)
def test_largest_message_on_a_link(case: str) -> None:
    family, option, cmsg, largest = LINK[case]
    server = SERVER_V4 if family == V4 else SERVER_V6
    recverr = (linux.SOL_IP, linux.IP_RECVERR) if family == V4 else (
        linux.SOL_IPV6, linux.IPV6_RECVERR)  # fmt: skip

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            s.setsockopt(*recverr, 1)
            if option is not None:
                s.setsockopt(*option)
            steps = []
            for length in (largest, largest + 1):
                message = echo(family, 1, payload=bytes(length - 8))
                steps.append(attempt(s.sendmsg, [message], [cmsg] if cmsg else [], 0,
                                     address(family, server)))  # fmt: skip
                steps.append(read_error_queue(s))
            return steps, len(s.recv(4096))

    steps, reply = both(scenario)  # type: ignore[misc]
    assert steps[0] == ("ok", largest) and steps[1] == ("error", "EAGAIN") and reply == largest
    assert steps[2] == ("error", "EMSGSIZE")
    assert steps[3][1][2][:5] == (90, linux.SO_EE_ORIGIN_LOCAL, 0, 0, 1500)  # F2: ee_info = MTU
