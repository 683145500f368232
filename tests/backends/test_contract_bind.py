"""bind() and connect() on the REAL kernel, both backends: a source address and ident as
iputils -I addr, -B and -e set them (spec C8), the address checks of bind(), and connect() to
port 0 as iputils -C does it. The differential style is described in ``contract_helpers``."""

from __future__ import annotations

import struct

import pytest
from contract_helpers import (
    FAMILY,
    V4,
    V6,
    attempt,
    nonblocking,
    on_client,
    routed,
    section,
    sniffed_requests,
)
from test_contract import both, echo, open_in

from lab.sniffer import Sniffer
from lab.topology import CLIENT_V4, CLIENT_V6
from pingsock import linux

pytestmark = pytest.mark.netns

SECOND = {"v4": "198.51.100.7", "v6": "2001:db8:1::7"}
CLIENT = {"v4": CLIENT_V4, "v6": CLIENT_V6}


@section("C")
@pytest.mark.parametrize("fam", FAMILY)
def test_bound_address_and_ident_get_only_their_replies(fam: str) -> None:
    family, server, _level = FAMILY[fam]
    prefix = 24 if family == V4 else 64

    def scenario(backend: str) -> object:
        with routed(backend) as lab, lab.client.entered():
            lab.client.ip("addr", "add", f"{SECOND[fam]}/{prefix}", "dev", "c0", "nodad")
            with (
                open_in(lab.client, backend, family) as a,
                open_in(lab.client, backend, family) as b,
            ):
                a.bind((CLIENT[fam], 4711))
                b.bind((SECOND[fam], 4711))  # C8: the same ident, another address
                with Sniffer(lab.client, "c0") as sniffer:
                    a.sendto(echo(family, 1), (server, 0))
                    b.sendto(echo(family, 2), (server, 0))
                    wire = [(p.src, p.l4[4:8].hex()) for p in sniffed_requests(sniffer, 2)]
                got = []
                for s in (a, b):
                    data, source = s.recvfrom(2048)
                    got.append((struct.unpack("!HH", data[4:8]), source[0], s.getsockname()[:2]))
                    got.append(nonblocking(s, s.recv, 2048))
                return sorted(wire), got

    wire, got = both(scenario)  # type: ignore[misc]
    assert wire == sorted([(CLIENT[fam], "12670001"), (SECOND[fam], "12670002")])
    assert got == [
        ((4711, 1), server, (CLIENT[fam], 4711)), ("error", "EAGAIN"),
        ((4711, 2), server, (SECOND[fam], 4711)), ("error", "EAGAIN"),
    ]  # fmt: skip


BIND_CASES = {
    "v4-foreign": (V4, "198.51.100.9", False, "EADDRNOTAVAIL"),
    "v4-subnet-broadcast": (V4, "198.51.100.255", False, "EADDRNOTAVAIL"),
    "v4-multicast": (V4, "224.0.0.1", False, "EADDRNOTAVAIL"),
    "v4-freebind-foreign": (V4, "198.51.100.9", True, None),
    "v4-freebind-broadcast": (V4, "198.51.100.255", True, "EADDRNOTAVAIL"),
    "v6-foreign": (V6, "2001:db8:1::9", False, "EADDRNOTAVAIL"),
    "v6-multicast": (V6, "ff02::1", False, "EINVAL"),
}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(case, marks=section("M" if case.startswith("v6") else "C"))
        for case in BIND_CASES
    ],
)
def test_bind_address_checks(case: str) -> None:
    family, address, freebind, error = BIND_CASES[case]

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            if freebind:
                s.setsockopt(linux.SOL_IP, linux.IP_FREEBIND, 1)
            return attempt(s.bind, (address, 4712)), s.getsockname()[:2]

    bound, name = both(scenario)  # type: ignore[misc]
    assert bound == (("ok", None) if error is None else ("error", error))
    assert name == ((address, 4712) if error is None else ("0.0.0.0" if family == V4 else "::", 0))


@section("D")
@pytest.mark.parametrize("fam", FAMILY)
def test_connect_to_port_zero_as_iputils_does(fam: str) -> None:
    family, server, _level = FAMILY[fam]

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            s.connect((server, 0))  # iputils -C connects to the destination with port 0
            peer = attempt(s.getpeername)  # inet_getname(): no peer port, ENOTCONN
            s.send(echo(family, 3))
            data, source = s.recvfrom(2048)
            return peer, s.getsockname()[0], data[6:8], source[:2]

    assert both(scenario) == (("error", "ENOTCONN"), CLIENT[fam], b"\x00\x03", (server, 0))
