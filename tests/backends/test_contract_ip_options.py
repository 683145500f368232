"""IP_OPTIONS on the REAL kernel, both backends: Record Route and Timestamp options as iputils
-R and -T set them, and source routes, which need CAP_NET_RAW (spec I4). The differential style
and its normalisation are described in ``contract_helpers``."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from contract_helpers import (
    NOBODY_RAW,
    V4,
    as_user,
    attempt,
    comparable,
    normalised_options,
    on_client,
    run_as,
    section,
    sniffed_requests,
    v4,
)
from test_contract import both, echo, open_in

from lab.netns import Netns
from lab.sniffer import Sniffer
from lab.topology import (
    CLIENT_V4,
    ROUTER_CLIENT_SIDE_V4,
    ROUTER_SERVER_SIDE_V4,
    SERVER_V4,
    RoutedLab,
)
from lab.users import NOBODY
from pingsock import linux

pytestmark = pytest.mark.netns

# -- IP_OPTIONS: record route and timestamps ------------------------------------------------

RR = b"\x01\x07\x27\x04" + bytes(36)  # iputils -R: NOP, then a 39-byte Record Route
TS_ONLY = bytes([68, 40, 5, 0]) + bytes(36)  # -T tsonly
TS_AND_ADDR = bytes([68, 36, 5, 1]) + bytes(32)  # -T tsandaddr
TS_PRESPEC = bytes([68, 20, 5, 3]) + v4(ROUTER_CLIENT_SIDE_V4) + bytes(4) + v4(SERVER_V4) + bytes(4)
OPTION_CASES = {
    "rr-retopts": (RR, (linux.IP_RETOPTS,)),
    "rr-recvopts": (RR, (linux.IP_RECVOPTS,)),
    "rr-both": (RR, (linux.IP_RECVOPTS, linux.IP_RETOPTS)),
    "tsonly": (TS_ONLY, (linux.IP_RECVOPTS, linux.IP_RETOPTS)),
    "tsandaddr": (TS_AND_ADDR, (linux.IP_RECVOPTS, linux.IP_RETOPTS)),
    "tsprespec": (TS_PRESPEC, (linux.IP_RECVOPTS, linux.IP_RETOPTS)),
}


@section("I")
@pytest.mark.parametrize("case", OPTION_CASES)
def test_ip_options_come_back_as_the_kernel_gives_them(case: str) -> None:
    option, cmsgs = OPTION_CASES[case]

    def scenario(backend: str) -> object:
        with on_client(backend, V4) as (lab, s):
            s.setsockopt(linux.SOL_IP, linux.IP_OPTIONS, option)
            for kind in cmsgs:
                s.setsockopt(linux.SOL_IP, kind, 1)
            with Sniffer(lab.client, "c0") as sniffer:
                s.sendto(echo(V4, 1, payload=bytes(56)), (SERVER_V4, 0))
                (request,) = sniffed_requests(sniffer)
            data, anc, flags, source = s.recvmsg(2048, 1024)
            return (
                s.getsockopt(linux.SOL_IP, linux.IP_OPTIONS, 40).hex(),
                normalised_options(request.data[20 : request.header_len]).hex(),
                len(data),
                comparable(anc),
                flags,
                source,
            )

    readback, wire, length, anc, _flags, source = both(scenario)  # type: ignore[misc]
    assert readback == option.hex() and length == 64 and source == (SERVER_V4, 0)
    assert [kind for _level, kind, _ in anc] == sorted(cmsgs)
    if case.startswith("rr"):
        # The sender records its own address first.
        assert wire == (RR[:3] + b"\x08" + v4(CLIENT_V4) + bytes(32)).hex()
        # Every hop out and back: iputils prints these as the RR: block (spec 3.4).
        area = bytes.fromhex(anc[0][2])
        hops = [socket.inet_ntoa(area[i : i + 4]) for i in range(3, 27, 4)]
        assert hops == [
            CLIENT_V4,
            ROUTER_SERVER_SIDE_V4,
            SERVER_V4,
            SERVER_V4,
            ROUTER_CLIENT_SIDE_V4,
            CLIENT_V4,
        ]


@section("L")
def test_per_packet_ip_retopts_cmsg_sets_the_options() -> None:
    def scenario(backend: str) -> object:
        with on_client(backend, V4) as (_lab, s):
            s.setsockopt(linux.SOL_IP, linux.IP_RETOPTS, 1)
            s.sendmsg([echo(V4, 1)], [(linux.SOL_IP, linux.IP_RETOPTS, RR)], 0, (SERVER_V4, 0))
            return comparable(s.recvmsg(2048, 1024)[1])

    ((_level, kind, area),) = both(scenario)  # type: ignore[misc]
    assert kind == linux.IP_RETOPTS and bytes.fromhex(area)[:3] == b"\x07\x27\x1c"


@section("F")
def test_size_limit_shrinks_by_the_options(netns_factory: Any) -> None:
    def scenario(backend: str) -> object:
        ns = netns_factory("optsize")
        with ns.entered(), open_in(ns, backend, V4) as s:
            s.setsockopt(linux.SOL_IP, linux.IP_OPTIONS, RR)
            fits = attempt(s.sendto, echo(V4, 1, payload=bytes(65475 - 8)), ("127.0.0.1", 0))
            too_big = attempt(s.sendto, echo(V4, 2, payload=bytes(65476 - 8)), ("127.0.0.1", 0))
            return fits, too_big, len(s.recv(70000))

    assert both(scenario) == (("ok", 65475), ("error", "EMSGSIZE"), 65475)  # F1


# -- IP_OPTIONS: source routes need CAP_NET_RAW ---------------------------------------------


def source_routes(*, drop_capabilities: bool) -> str:
    """Code that sets each kind of IP_OPTIONS once, optionally after dropping CAP_NET_RAW
    from the effective set, and prints the results."""
    return f"DROP = {drop_capabilities}\n" + _SOURCE_ROUTES


_SOURCE_ROUTES = """
lsrr = bytes([1, 131, 7, 4]) + socket.inet_aton("203.0.113.254")  # iputils: NOP, then LSRR
ssrr = bytes([1, 137, 7, 4]) + socket.inet_aton("203.0.113.254")
others = {
    "rr": bytes([1, 7, 39, 4]) + bytes(36),
    "ts": bytes([68, 40, 5, 0]) + bytes(36),
    "router-alert": bytes([148, 4, 0, 0]),
    "security": bytes([130, 11]) + bytes(9),
    "unknown": bytes([200, 4, 0, 0]),
}
with pingsock.socket(socket.AF_INET, backend=BACKEND) as s:
    if DROP:
        drop_effective_capabilities()
    results = {name: attempt(s.setsockopt, 0, 4, value) for name, value in others.items()}
    results["lsrr"] = attempt(s.setsockopt, 0, 4, lsrr)
    results["ssrr"] = attempt(s.setsockopt, 0, 4, ssrr)
print(json.dumps(results))
"""
UNPRIVILEGED = {
    "rr": ["ok", None],
    "ts": ["ok", None],
    "router-alert": ["ok", None],
    "security": ["error", "EINVAL"],  # I4: non-whitelisted options need CAP_NET_RAW
    "unknown": ["error", "EINVAL"],
    "lsrr": ["error", "EPERM"],  # I4 / iputils "record route: Operation not permitted"
    "ssrr": ["error", "EPERM"],
}


def test_source_route_as_nobody_is_eperm_and_nobody_has_no_raw_backend(
    netns_factory: Callable[[str], Netns],
) -> None:
    assert (
        as_user(NOBODY, source_routes(drop_capabilities=False), backends=("kernel",))
        == UNPRIVILEGED
    )
    raw = run_as(
        netns_factory("nocap"),
        NOBODY,
        "raw",
        """
        try:
            pingsock.socket(socket.AF_INET, backend="raw")
        except OSError as exc:
            print(json.dumps(errno.errorcode[exc.errno]))
        """,
    )
    assert raw == "EPERM"  # A4: the raw backend cannot serve a caller without CAP_NET_RAW


@section("I")
def test_source_route_with_cap_net_raw_is_allowed_on_both() -> None:
    allowed = as_user(NOBODY_RAW, source_routes(drop_capabilities=False))
    assert allowed == {key: ["ok", None] for key in UNPRIVILEGED}


@section("I")
def test_source_route_after_dropping_cap_net_raw_is_eperm_on_both() -> None:
    # iputils keeps CAP_NET_RAW only in the permitted set after socket(): it sees EPERM.
    assert as_user(NOBODY_RAW, source_routes(drop_capabilities=True)) == UNPRIVILEGED


def accept_source_routes(lab: RoutedLab) -> None:
    for ns, devices in ((lab.client, ("c0",)), (lab.router, ("r0", "r1")), (lab.server, ("s0",))):
        for device in ("all", "default", *devices):
            ns.sysctl(f"net.ipv4.conf.{device}.accept_source_route", "1")


@section("I")
@pytest.mark.parametrize(
    ("kind", "hop", "connect"),
    [(131, ROUTER_SERVER_SIDE_V4, False), (137, ROUTER_CLIENT_SIDE_V4, False),
     (131, ROUTER_SERVER_SIDE_V4, True)],
    ids=["lsrr", "ssrr", "lsrr-connected"],
)  # fmt: skip
def test_source_route_on_the_wire_and_back(kind: int, hop: str, connect: bool) -> None:
    option = bytes([1, kind, 7, 4]) + v4(hop)

    def scenario(backend: str) -> object:
        with on_client(backend, V4) as (lab, s):
            accept_source_routes(lab)
            s.setsockopt(linux.SOL_IP, linux.IP_OPTIONS, option)
            s.setsockopt(linux.SOL_IP, linux.IP_RECVOPTS, 1)
            s.setsockopt(linux.SOL_IP, linux.IP_RETOPTS, 1)
            if connect:
                s.connect((SERVER_V4, 0))  # the route lookup goes to the first hop
            with Sniffer(lab.client, "c0") as sniffer:
                s.sendto(echo(V4, 1), (SERVER_V4, 0))
                (request,) = sniffed_requests(sniffer)
            data, anc, _flags, source = s.recvmsg(2048, 1024)
            peer = attempt(s.getpeername)  # inet_getname(): no peer, or peer port 0
            wire = request.data[20 : request.header_len]
            return request.dst, wire.hex(), data[0], comparable(anc), source, peer

    destination, wire, reply_type, anc, source, peer = both(scenario)  # type: ignore[misc]
    assert destination == hop and reply_type == 0 and source == (SERVER_V4, 0)
    assert peer == ("error", "ENOTCONN")
    # ip_options_compile(): the first hop is the destination, the final one is in the option.
    assert bytes.fromhex(wire)[:4] == bytes([1, kind, 7, 4]) and wire.endswith(v4(SERVER_V4).hex())
    assert [k for _l, k, _d in anc] == [linux.IP_RECVOPTS, linux.IP_RETOPTS]
