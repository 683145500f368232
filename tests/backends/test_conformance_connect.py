"""connect(), getpeername() and the other socket calls on the REAL kernel and the emulation
(spec section D): the stored peer port, the errors of local route types, connecting to the
unspecified address, re-connecting, and a connected socket that still talks to others. The
differential style is described in ``contract_helpers``."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from contract_helpers import (
    V4,
    V6,
    attempt,
    deviates,
    on_client,
    on_loopback,
    section,
    sniffed_requests,
)
from test_contract import both, echo, open_in

from lab.sniffer import Sniffer
from lab.topology import CLIENT_V4, CLIENT_V6, ROUTER_V4, ROUTER_V6, SERVER_V4, SERVER_V6

pytestmark = [pytest.mark.netns, section("D")]

ROUTED = {"v4": (V4, SERVER_V4, CLIENT_V4, ROUTER_V4), "v6": (V6, SERVER_V6, CLIENT_V6, ROUTER_V6)}


def address(family: int, host: str, port: int = 0) -> tuple[object, ...]:
    return (host, port) if family == V4 else (host, port, 0, 0)


@pytest.mark.parametrize("fam", ROUTED)
def test_connect_stores_the_peer_port(fam: str) -> None:
    family, server, client, _router = ROUTED[fam]

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            steps: list[object] = [attempt(s.connect, address(family, server, 999))]
            local, ident = s.getsockname()[:2]
            steps += [local, ident != 0, s.getpeername()]
            steps.append(attempt(s.send, echo(family, 1)))
            data, source = s.recvfrom(100)
            steps += [data[4:6] == ident.to_bytes(2, "big"), data[6:8], source]
            steps.append(attempt(s.connect, address(family, server, 0)))
            steps.append(attempt(s.getpeername))  # inet_getname(): peer port 0 is "no peer"
            return steps

    assert both(scenario) == [
        ("ok", None), client, True, address(family, server, 999), ("ok", 16), True,
        b"\x00\x01", address(family, server), ("ok", None), ("error", "ENOTCONN"),
    ]  # fmt: skip


LOCAL_ROUTES = {
    "v4": (V4, ("192.0.2.50", "192.0.2.51", "192.0.2.52", "192.0.2.53")),
    "v6": (V6, ("2001:db8:f0::50", "2001:db8:f0::51", "2001:db8:f0::52", "2001:db8:f0::53")),
}


@pytest.mark.parametrize("fam", LOCAL_ROUTES)
def test_local_route_types(fam: str) -> None:
    family, (unreachable, prohibit, blackhole, throw) = LOCAL_ROUTES[fam]
    prefix = "32" if family == V4 else "128"

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (lab, _s):
            lab.client.ip_batch(
                [f"route add {kind} {host}/{prefix}" for kind, host in
                 (("unreachable", unreachable), ("prohibit", prohibit),
                  ("blackhole", blackhole), ("throw", throw))]
            )  # fmt: skip
            got = []
            for host in (unreachable, prohibit, blackhole, throw):
                with open_in(lab.client, backend, family) as s:
                    connected = attempt(s.connect, address(family, host, 1))
                    sent = attempt(s.sendto, echo(family, 1), address(family, host))
                    got.append((connected, sent, s.getsockname()[1] != 0))
            return got

    # D2 and E1 step 8: the same errno from connect() and sendto(); connect autobinds first.
    assert both(scenario) == [
        (("error", name), ("error", name), True)
        for name in ("EHOSTUNREACH", "EACCES", "EINVAL", "ENETUNREACH")
    ]


@pytest.mark.parametrize("fam", ROUTED)
def test_connect_to_the_unspecified_address_and_again(fam: str) -> None:
    family = ROUTED[fam][0]
    loopback, unspecified = ("127.0.0.1", "0.0.0.0") if family == V4 else ("::1", "::")
    server, client = ROUTED[fam][1], ROUTED[fam][2]

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (lab, s):
            steps: list[object] = [attempt(s.connect, address(family, unspecified, 9))]
            steps += [s.getpeername(), s.getsockname()[0]]
            steps.append(attempt(s.send, echo(family, 1)))
            steps.append(s.recvfrom(100)[1])
            with open_in(lab.client, backend, family) as t:
                t.connect(address(family, server, 5))
                steps.append(t.getsockname()[0])
                steps.append(attempt(t.connect, address(family, loopback, 6)))  # re-connect
                steps += [t.getsockname()[0], t.getpeername()]  # D2: the local address stays
                steps.append(attempt(t.send, echo(family, 2)))
            with open_in(lab.client, backend, family) as u:
                u.bind(address(family, loopback))
                # v4: a socket bound to loopback cannot reach the server (EINVAL); v6 can.
                steps.append(attempt(u.connect, address(family, server, 5)))
            return steps

    assert both(scenario) == [
        ("ok", None), address(family, loopback, 9), loopback, ("ok", 16),
        address(family, loopback), client, ("ok", None), client, address(family, loopback, 6),
        ("ok", 16), ("error", "EINVAL") if family == V4 else ("ok", None),
    ]  # fmt: skip


@pytest.mark.parametrize("fam", ROUTED)
def test_the_source_address_after_a_reconnect(fam: str) -> None:
    family, server, client, _router = ROUTED[fam]
    loopback = "127.0.0.1" if family == V4 else "::1"

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (lab, s):
            s.connect(address(family, server, 5))
            s.connect(address(family, loopback, 6))  # the local address stays the client's
            with Sniffer(lab.client, "lo") as sniffer:
                s.send(echo(family, 2))
                (request, *_) = sniffed_requests(sniffer)
            s.settimeout(0.5)
            return s.getsockname()[0], request.src, attempt(lambda: s.recvfrom(100)[1])

    # Sends leave from the address the first connect() chose and kept.
    assert both(scenario) == (client, client, ("ok", address(family, loopback)))


@pytest.mark.parametrize("fam", ROUTED)
def test_a_connected_socket_still_talks_to_others(fam: str) -> None:
    family, server, _client, router = ROUTED[fam]

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            s.connect(address(family, router, 5))
            sent = attempt(s.sendto, echo(family, 3), address(family, server))  # D3
            data, source = s.recvfrom(100)
            return sent, data[6:8], source, s.getpeername()

    assert both(scenario) == (
        ("ok", 16),
        b"\x00\x03",
        address(family, server),
        address(family, router, 5),
    )


@pytest.mark.deviation("D4-listen-accept-shutdown")
def test_deviation_listen_accept_and_shutdown() -> None:
    # D4: the kernel's socket has the stdlib's listen/accept/shutdown (EOPNOTSUPP, EOPNOTSUPP,
    # ENOTCONN unconnected; shutdown(SHUT_WR) then send is EPIPE). The PingSocket interface
    # (backends/base.py) has none of them, and the raw backend does not offer them.
    def call(s: Any, name: str, *args: Any) -> tuple[str, Any]:
        method = getattr(s, name, None)
        return ("missing", name) if method is None else attempt(method, *args)

    def scenario(backend: str) -> object:
        with on_loopback(backend) as (_ns, s):
            s.setblocking(False)
            steps = [call(s, "listen", 1), call(s, "accept"), call(s, "shutdown", socket.SHUT_RDWR)]
            s.connect(("127.0.0.1", 0))
            steps.append(call(s, "shutdown", socket.SHUT_WR))
            steps.append(attempt(s.send, echo(V4, 1)))
            return steps

    deviates(
        scenario,
        kernel=[("error", "ENOTSUP"), ("error", "ENOTSUP"), ("error", "ENOTCONN"), ("ok", None),
                ("error", "EPIPE")],
        raw=[("missing", "listen"), ("missing", "accept"), ("missing", "shutdown"),
             ("missing", "shutdown"), ("ok", 16)],
    )  # fmt: skip
