"""What the options iputils sets put on the wire, on the REAL kernel, both backends: TTL, TOS,
hop limit, traffic class and DF, by option and by cmsg (spec L1, L2, M8), SO_BINDTODEVICE,
SO_DONTROUTE and MSG_DONTROUTE, and IPv6 flow labels (G2). The differential style is described
in ``contract_helpers``."""

from __future__ import annotations

import socket
import struct
from typing import Any

import pytest
from contract_helpers import (
    IP,
    IP6,
    IPV6_FLOWINFO_SEND,
    SOL,
    V4,
    V6,
    attempt,
    deviates,
    on_client,
    read_error_queue,
    section,
    sniffed_requests,
    wait_for_news,
)
from test_contract import both, echo

from lab.sniffer import Packet, Sniffer
from lab.topology import ROUTER_CLIENT_SIDE_V4, SERVER_V4, SERVER_V6, V6_UNREACHABLE, RoutedLab
from pingsock import linux

pytestmark = pytest.mark.netns

IPV6_FLOWLABEL_MGR = 32


WIRE_CASES: dict[str, tuple[int, list[tuple[int, int, Any]], list[Any], str, tuple[int, ...]]] = {
    # name: family, setsockopts, send cmsgs, destination, extra sockaddr fields (-1: c0)
    "ip_tos": (V4, [(IP, 1, 0xB8)], [], SERVER_V4, ()),  # -Q 0xb8
    "ip_tos-ecn": (V4, [(IP, 1, 0x03)], [], SERVER_V4, ()),
    "ip_ttl-1": (V4, [(IP, 2, 1)], [], SERVER_V4, ()),
    "ip_ttl-cmsg": (V4, [], [(IP, 2, struct.pack("=i", 7))], SERVER_V4, ()),
    "ip_tos-cmsg": (V4, [], [(IP, 1, b"\x28")], SERVER_V4, ()),
    "pmtudisc-dont": (V4, [(IP, 10, 0)], [], SERVER_V4, ()),  # DF clear
    "ipv6_tclass": (V6, [(IP6, 67, 0xB8)], [], SERVER_V6, ()),
    "ipv6_unicast_hops-5": (V6, [(IP6, 16, 5)], [], SERVER_V6, ()),
    "ipv6_unicast_hops-0": (V6, [(IP6, 16, 0)], [], SERVER_V6, ()),  # M8: 0 goes out
    "ipv6_hoplimit-cmsg": (
        V6,
        [],
        [(IP6, linux.IPV6_HOPLIMIT, struct.pack("=i", 9))],
        SERVER_V6,
        (),
    ),
    "ipv6_tclass-cmsg": (V6, [], [(IP6, 67, struct.pack("=i", 0x20))], SERVER_V6, ()),
    "ipv6_multicast_hops": (V6, [(IP6, 18, 3)], [], "ff02::2", (0, -1)),  # the router answers
    "so_bindtodevice-c0": (V4, [(SOL, 25, b"c0")], [], SERVER_V4, ()),
    "so_bindtodevice-lo": (V4, [(SOL, 25, b"lo")], [], SERVER_V4, ()),  # no way out
    "ipv6_so_bindtodevice-lo": (V6, [(SOL, 25, b"lo")], [], SERVER_V6, ()),
}


def wire_fields(packet: Packet) -> tuple[int, int, int]:
    """(TTL or hop limit, TOS or traffic class, DF bit or flow label present)."""
    if packet.family == 4:
        return packet.ttl, packet.data[1], packet.data[6] & 0x40
    tclass = ((packet.data[0] & 0x0F) << 4) | (packet.data[1] >> 4)
    return packet.ttl, tclass, int.from_bytes(packet.data[1:4], "big") & 0xFFFFF


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=section("M" if WIRE_CASES[case][0] == V6 else "L"))
        for case in WIRE_CASES
    ],
)
def test_what_goes_on_the_wire(case: str) -> None:
    family, options, cmsgs, destination, extra = WIRE_CASES[case]

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (lab, s):
            for option in options:
                s.setsockopt(*option)
            scope = tuple(lab.client.ifindex("c0") if x == -1 else x for x in extra)
            with Sniffer(lab.client, "c0") as sniffer:
                sent = attempt(s.sendmsg, [echo(family, 1)], cmsgs, 0, (destination, 0, *scope))
                seen = sniffed_requests(sniffer)
            s.settimeout(0.5)
            reply = attempt(s.recvfrom, 2048)
            if reply[0] == "ok" and family == V6 and reply[1][1][0].startswith("fe80:"):
                reply = ("ok", (reply[1][0][0], "fe80::(router)"))  # random MAC: normalised
            elif reply[0] == "ok":
                reply = ("ok", (reply[1][0][0], reply[1][1][0]))
            fields = [wire_fields(p) for p in seen]
            if family == V6:
                fields = [(hops, tclass, 0) for hops, tclass, _label in fields]  # auto labels
            return sent, fields, reply

    sent, fields, reply = both(scenario)  # type: ignore[misc]
    # A v6 socket bound to lo has no route to the server; a v4 one sends nowhere.
    assert sent == (("error", "ENETUNREACH") if case == "ipv6_so_bindtodevice-lo" else ("ok", 16))
    expected = {
        "ip_tos": [(64, 0xB8, 0x40)], "ip_tos-ecn": [(64, 3, 0x40)], "ip_ttl-1": [(1, 0, 0x40)],
        "ip_ttl-cmsg": [(7, 0, 0x40)], "ip_tos-cmsg": [(64, 0x28, 0x40)],
        "pmtudisc-dont": [(64, 0, 0)], "ipv6_tclass": [(64, 0xB8, 0)],
        "ipv6_unicast_hops-5": [(5, 0, 0)], "ipv6_unicast_hops-0": [(0, 0, 0)],
        "ipv6_hoplimit-cmsg": [(9, 0, 0)], "ipv6_tclass-cmsg": [(64, 0x20, 0)],
        "ipv6_multicast_hops": [(3, 0, 0)], "so_bindtodevice-c0": [(64, 0, 0x40)],
    }  # fmt: skip
    assert fields == expected.get(case, [])
    answered = not case.endswith(("ttl-1", "hops-0", "-lo"))
    assert (reply[0] == "ok") == answered


# -- Routing: SO_DONTROUTE, MSG_DONTROUTE ---------------------------------------------------


@section("E")
@pytest.mark.parametrize(
    ("how", "target"),
    [("sockopt", SERVER_V4), ("sockopt", ROUTER_CLIENT_SIDE_V4), ("msg_flag", SERVER_V4)],
    ids=["so_dontroute-off-link", "so_dontroute-on-link", "msg_dontroute-off-link"],
)
def test_dontroute(how: str, target: str) -> None:
    def scenario(backend: str) -> object:
        with on_client(backend, V4) as (_lab, s):
            flags = 0
            if how == "sockopt":
                s.setsockopt(linux.SOL_SOCKET, linux.SO_DONTROUTE, 1)
            else:
                flags = 4  # MSG_DONTROUTE
            sent = attempt(s.sendto, echo(V4, 1), flags, (target, 0))
            s.settimeout(0.5)
            return sent, attempt(lambda: s.recvfrom(2048)[1])

    on_link = target == ROUTER_CLIENT_SIDE_V4
    expected = (("ok", 16), ("ok", (target, 0))) if on_link else (
        ("error", "ENETUNREACH"), ("error", "timeout"))  # fmt: skip
    assert both(scenario) == expected


# -- IPv6 flow labels -----------------------------------------------------------------------


@section("M")
def test_flow_label_as_iputils_sets_it() -> None:
    # iputils -F: IPV6_FLOWLABEL_MGR (get, create, exclusive), IPV6_FLOWINFO_SEND, then the
    # label in sin6_flowinfo of every sendto().
    request = flow_label_request(0x12345)

    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            s.setsockopt(linux.SOL_IPV6, IPV6_FLOWLABEL_MGR, request)
            s.setsockopt(linux.SOL_IPV6, IPV6_FLOWINFO_SEND, 1)
            with Sniffer(lab.client, "c0") as sniffer:
                s.sendto(echo(V6, 1), (SERVER_V6, 0, 0x12345, 0))
                (packet,) = sniffed_requests(sniffer)
            _data, source = s.recvfrom(2048)
            return wire_fields(packet)[2], source[:2], source[2] != 0

    # G2: with IPV6_FLOWINFO_SEND the reply's address carries its flow information.
    assert both(scenario) == (0x12345, (SERVER_V6, 0), True)


@section("M")
def test_flow_label_of_a_connected_socket_and_of_its_errors() -> None:
    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            s.setsockopt(linux.SOL_IPV6, linux.IPV6_RECVERR, 1)
            s.setsockopt(linux.SOL_IPV6, IPV6_FLOWINFO_SEND, 1)
            s.connect((SERVER_V6, 7, 0x23456, 0))  # ip6_datagram_connect() keeps the label
            with Sniffer(lab.client, "c0") as sniffer:
                s.send(echo(V6, 1))
                labels = [wire_fields(p)[2] for p in sniffed_requests(sniffer)]
            s.recv(2048)
            s.sendto(echo(V6, 2), (V6_UNREACHABLE, 0, 0x12345, 0))
            wait_for_news(s)
            queued = read_error_queue(s)
            return labels, s.getpeername(), queued[1][4]

    # inet6_getname() and ipv6_recv_error() show the flow information with FLOWINFO_SEND.
    assert both(scenario) == (
        [0x23456],
        (SERVER_V6, 7, 0x23456, 0),
        (V6_UNREACHABLE, 0, 0x12345, 0),
    )


def flow_label_request(label: int) -> bytes:
    """struct in6_flowlabel_req: IPV6_FL_A_GET, IPV6_FL_S_EXCL, IPV6_FL_F_CREATE (iputils -F)."""
    return (
        socket.inet_pton(V6, SERVER_V6)
        + struct.pack("!I", label)
        + struct.pack("=BBHHH", 0, 1, 1, 0, 0)
        + bytes(4)
    )


def send_with_label(s: Any, lab: RoutedLab, label: int) -> tuple[tuple[str, Any], list[int]]:
    with Sniffer(lab.client, "c0") as sniffer:
        sent = attempt(s.sendto, echo(V6, 1), (SERVER_V6, 0, label, 0))
        return sent, [wire_fields(p)[2] for p in sniffed_requests(sniffer)]


@section("M")
def test_unregistered_flow_label_without_exclusive_labels() -> None:
    # fl6_sock_lookup() enforces label ownership only once the namespace holds an exclusive
    # label; until then any label goes out on both backends.
    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            s.setsockopt(linux.SOL_IPV6, IPV6_FLOWINFO_SEND, 1)
            return send_with_label(s, lab, 0x54321)

    assert both(scenario) == (("ok", 16), [0x54321])


@section("M")
@pytest.mark.deviation("M-flow-label-ownership")
def test_deviation_unregistered_flow_label_next_to_an_exclusive_one() -> None:
    """Deviation (raw.py docstring): once the namespace holds an exclusive flow label, a label
    the socket does not hold still goes out on the kernel socket (``ping_v6_sendmsg()`` never
    looks labels up) but is EINVAL on the raw backend (``rawv6_sendmsg()``)."""

    def scenario(backend: str) -> object:
        with on_client(backend, V6) as (lab, s):
            s.setsockopt(linux.SOL_IPV6, IPV6_FLOWLABEL_MGR, flow_label_request(0x12345))
            s.setsockopt(linux.SOL_IPV6, IPV6_FLOWINFO_SEND, 1)
            return send_with_label(s, lab, 0x12345), send_with_label(s, lab, 0x54321)

    held = (("ok", 16), [0x12345])
    deviates(
        scenario, kernel=(held, (("ok", 16), [0x54321])), raw=(held, (("error", "EINVAL"), []))
    )
