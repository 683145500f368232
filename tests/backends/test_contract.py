"""The ping-socket contract on the REAL kernel, the same steps on both backends.

Each scenario runs once on the kernel's ping socket (group range opened for root in the test
namespace) and once on the raw-socket emulation, and the observations must be equal as well
as right. Everything happens inside namespaces the tests create. Each case is tagged with the
spec section it checks (``section``; see ``contract_helpers``).
"""

from __future__ import annotations

import errno
import socket
import struct
from collections.abc import Callable
from typing import Any

import pytest

import pingsock
from lab.netns import Netns
from lab.sniffer import Sniffer
from lab.topology import (
    ROUTER_V4,
    ROUTER_V6,
    SERVER_V4,
    SERVER_V6,
    V4_PROHIBIT,
    V4_UNREACHABLE,
    V6_UNREACHABLE,
    RoutedLab,
)
from pingsock import linux
from pingsock.cmsg import parse_extended_error
from pingsock.wire.checksum import icmp6_checksum, internet_checksum

pytestmark = pytest.mark.netns

BACKENDS = ("kernel", "raw")
FAMILIES = {
    "v4": (socket.AF_INET, "127.0.0.1", 8, 0),
    "v6": (socket.AF_INET6, "::1", 128, 129),
}


def by_family(v4: str, v6: str) -> list[Any]:
    """The ``fam`` parameters, tagged with their spec sections (``contract_helpers.per_family``,
    which this module cannot import: that module imports this one)."""
    return [
        pytest.param("v4", marks=pytest.mark.section(v4)),
        pytest.param("v6", marks=pytest.mark.section(v6)),
    ]


def echo(
    family: int, seq: int, ident: int = 0xBEEF, checksum: int = 0xDEAD, payload: bytes = b"pingsock"
) -> bytes:
    request = 8 if family == socket.AF_INET else 128
    return struct.pack("!BBHHH", request, 0, checksum, ident, seq) + payload


def open_in(ns: Netns, backend: str, family: int) -> Any:
    """A socket of ``backend`` inside ``ns``; the kernel one needs root's gid in the range."""
    if backend == "kernel":
        ns.set_ping_group_range(0, 0)
    with ns.entered():
        sock = pingsock.socket(family, backend=backend)  # type: ignore[arg-type]
    sock.settimeout(1.0)
    return sock


def both(run: Callable[[str], object]) -> object:
    """Run a scenario on both backends and insist they observed the same thing."""
    kernel, raw = run("kernel"), run("raw")
    assert kernel == raw, f"kernel saw {kernel!r}, the emulation saw {raw!r}"
    return kernel


@pytest.mark.section("H")
@pytest.mark.parametrize("fam", FAMILIES)
def test_reply_reaches_only_the_socket_that_owns_the_id(fam: str, netns_factory: Any) -> None:
    family, target, _request, reply_type = FAMILIES[fam]

    def scenario(backend: str) -> object:
        ns = netns_factory("own")
        first, second = open_in(ns, backend, family), open_in(ns, backend, family)
        with ns.entered(), first, second:
            first.sendto(echo(family, 1), (target, 0))
            second.sendto(echo(family, 2), (target, 0))
            ids = first.getsockname()[1], second.getsockname()[1]
            assert ids[0] != ids[1] and 0 not in ids
            got = []
            for sock, ident in zip((first, second), ids, strict=True):
                data, source = sock.recvfrom(1500)
                assert struct.unpack("!H", data[4:6])[0] == ident
                got.append((data[0], struct.unpack("!H", data[6:8])[0], data[8:], source[0]))
                sock.setblocking(False)
                with pytest.raises(BlockingIOError):
                    sock.recv(1500)  # nothing else arrived: not the other socket's reply
            return got

    got = both(scenario)
    assert got == [(reply_type, 1, b"pingsock", target), (reply_type, 2, b"pingsock", target)]


@pytest.mark.parametrize("fam", by_family("E", "M"))
@pytest.mark.parametrize(
    "message",
    [b"\x0d\x00" + bytes(18), b"\x00\x00" + bytes(6), b"\x08\x01" + bytes(6), bytes(7)],
    ids=["timestamp", "reply", "code1", "short"],
)
def test_sending_anything_but_echo_fails_with_einval(
    fam: str, message: bytes, netns_factory: Any
) -> None:
    family, target, _request, _reply = FAMILIES[fam]
    if family == socket.AF_INET6 and message[0] == 0:
        message = b"\x81" + message[1:]  # the v6 Echo Reply

    def scenario(backend: str) -> object:
        ns = netns_factory("inval")
        with ns.entered(), open_in(ns, backend, family) as sock:
            with pytest.raises(OSError) as info:
                sock.sendto(message, (target, 0))
            # C2: the send autobound the socket before failing validation.
            return info.value.errno, sock.getsockname()[1] != 0

    assert both(scenario) == (errno.EINVAL, True)


@pytest.mark.parametrize("fam", by_family("E", "M"))
def test_id_and_checksum_are_rewritten_on_the_wire(fam: str, netns_factory: Any) -> None:
    family, target, request, _reply = FAMILIES[fam]

    def scenario(backend: str) -> object:
        ns = netns_factory("wire")
        with Sniffer(ns, "lo") as sniffer:
            with ns.entered(), open_in(ns, backend, family) as sock:
                sock.sendto(echo(family, 77, ident=0x1234, checksum=0xDEAD), (target, 0))
                ident = sock.getsockname()[1]
                sock.recv(1500)
            packets = sniffer.collect(
                timeout=1.0, count=1, match=lambda p: p.is_icmp and p.l4[0] == request
            )
        assert packets, "the sniffer saw no echo request"
        message = packets[0].l4
        wire_id, wire_seq = struct.unpack("!HH", message[4:8])
        assert wire_id == ident != 0x1234
        if family == socket.AF_INET:
            assert internet_checksum(message) == 0
        else:
            src = socket.inet_pton(family, packets[0].src)
            dst = socket.inet_pton(family, packets[0].dst)
            assert icmp6_checksum(src, dst, message) == 0
        assert struct.unpack("!H", message[2:4])[0] != 0xDEAD
        return wire_seq, message[8:]

    assert both(scenario) == (77, b"pingsock")


def _router_error(
    lab: RoutedLab, backend: str, family: int, destination: str, hops: int | None
) -> tuple[int, int, int, int, str, str, int]:
    """Send one echo from the client and return what the error queue says about it."""
    v6 = family == socket.AF_INET6
    level = linux.SOL_IPV6 if v6 else linux.SOL_IP
    with lab.client.entered(), open_in(lab.client, backend, family) as sock:
        sock.setsockopt(level, linux.IPV6_RECVERR if v6 else linux.IP_RECVERR, 1)
        if hops is not None:
            sock.setsockopt(level, linux.IPV6_UNICAST_HOPS if v6 else linux.IP_TTL, hops)
        sock.sendto(echo(family, 5, payload=bytes(56)), (destination, 0))
        with pytest.raises(OSError) as pending:
            sock.recv(1500)  # J3: sk_err is set, and recv reports it first (G5)
        data, anc, flags, address = sock.recvmsg(1500, 512, linux.MSG_ERRQUEUE)
        assert flags & linux.MSG_ERRQUEUE
        ((level_seen, kind, payload),) = anc
        assert kind == (linux.IPV6_RECVERR if v6 else linux.IP_RECVERR)
        assert level_seen == level
        error = parse_extended_error(payload)
        assert error is not None and error.offender is not None
        assert struct.unpack("!H", data[6:8])[0] == 5  # the quoted echo carries our seq
        assert struct.unpack("!H", data[4:6])[0] == sock.getsockname()[1]
        assert sock.getsockopt(linux.SOL_SOCKET, linux.SO_ERROR) == 0  # consumed by the read
        return (
            pending.value.errno or 0,
            error.errno,
            error.icmp_type,
            error.icmp_code,
            error.offender,
            address[0],
            error.origin,
        )


@pytest.mark.parametrize(
    ("family", "destination", "hops", "expected"),
    [
        pytest.param(
            socket.AF_INET,
            V4_UNREACHABLE,
            None,
            (errno.EHOSTUNREACH, errno.EHOSTUNREACH, 3, 1, ROUTER_V4, V4_UNREACHABLE, 2),
            id="v4-unreachable",
            marks=pytest.mark.section("J"),
        ),
        pytest.param(
            socket.AF_INET,
            V4_PROHIBIT,
            None,
            (errno.EHOSTUNREACH, errno.EHOSTUNREACH, 3, 13, ROUTER_V4, V4_PROHIBIT, 2),
            id="v4-prohibit",
            marks=pytest.mark.section("J"),
        ),
        pytest.param(
            socket.AF_INET,
            SERVER_V4,
            1,
            (errno.EHOSTUNREACH, errno.EHOSTUNREACH, 11, 0, ROUTER_V4, SERVER_V4, 2),
            id="v4-ttl",
            marks=pytest.mark.section("J"),
        ),
        pytest.param(
            socket.AF_INET6,
            V6_UNREACHABLE,
            None,
            (errno.ENETUNREACH, errno.ENETUNREACH, 1, 0, ROUTER_V6, V6_UNREACHABLE, 3),
            id="v6-unreachable",
            marks=pytest.mark.section("M"),
        ),
        pytest.param(
            socket.AF_INET6,
            SERVER_V6,
            1,
            (errno.EHOSTUNREACH, errno.EHOSTUNREACH, 3, 0, ROUTER_V6, SERVER_V6, 3),
            id="v6-hoplimit",
            marks=pytest.mark.section("M"),
        ),
    ],
)
def test_router_errors_arrive_with_the_offender(
    family: int,
    destination: str,
    hops: int | None,
    expected: tuple[object, ...],
    routed_lab: RoutedLab,
) -> None:
    def scenario(backend: str) -> object:
        return _router_error(routed_lab, backend, family, destination, hops)

    assert both(scenario) == expected


@pytest.mark.section("J")
def test_server_reject_is_reported_from_the_server(routed_lab: RoutedLab) -> None:
    routed_lab.server.reject_echo("port-unreachable", family=4)

    def scenario(backend: str) -> object:
        return _router_error(routed_lab, backend, socket.AF_INET, SERVER_V4, None)

    assert both(scenario) == (errno.ECONNREFUSED, errno.ECONNREFUSED, 3, 3, SERVER_V4, SERVER_V4, 2)


@pytest.mark.section("J")
def test_without_recverr_an_unconnected_socket_sees_no_error(routed_lab: RoutedLab) -> None:
    def scenario(backend: str) -> object:
        with (
            routed_lab.client.entered(),
            open_in(routed_lab.client, backend, socket.AF_INET) as sock,
        ):
            sock.sendto(echo(socket.AF_INET, 1), (V4_UNREACHABLE, 0))
            sock.settimeout(0.5)
            with pytest.raises(TimeoutError):
                sock.recv(1500)
            return sock.getsockopt(linux.SOL_SOCKET, linux.SO_ERROR)

    assert both(scenario) == 0


@pytest.mark.section("D")
def test_connect_route_errors_match(routed_lab: RoutedLab, netns_factory: Any) -> None:
    def scenario(backend: str) -> object:
        results = []
        ns = netns_factory("route")  # only lo: no route anywhere else
        for where, target in ((ns, "192.0.2.77"), (routed_lab.client, SERVER_V4)):
            with where.entered(), open_in(where, backend, socket.AF_INET) as sock:
                try:
                    sock.connect((target, 999))
                except OSError as exc:
                    results.append(("error", exc.errno))
                else:
                    results.append(("ok", sock.getsockname()[0], sock.getpeername()))
        return results

    assert both(scenario) == [
        ("error", errno.ENETUNREACH),
        ("ok", "198.51.100.1", (SERVER_V4, 999)),
    ]


@pytest.mark.section("C")
def test_bind_sets_the_ident_and_a_second_bind_fails(netns_factory: Any) -> None:
    def scenario(backend: str) -> object:
        ns = netns_factory("bind")
        with ns.entered(), open_in(ns, backend, socket.AF_INET) as sock:
            sock.bind(("127.0.0.1", 4242))
            name = sock.getsockname()
            with pytest.raises(OSError) as again:
                sock.bind(("127.0.0.1", 4243))
            sock.sendto(echo(socket.AF_INET, 1), ("127.0.0.1", 0))
            data = sock.recv(1500)
            return name, again.value.errno, struct.unpack("!H", data[4:6])[0]

    assert both(scenario) == (("127.0.0.1", 4242), errno.EINVAL, 4242)


@pytest.mark.section("C")
def test_fresh_socket_names_and_options(netns_factory: Any) -> None:
    def scenario(backend: str) -> object:
        ns = netns_factory("fresh")
        with ns.entered(), open_in(ns, backend, socket.AF_INET) as sock:
            with pytest.raises(OSError) as peer:
                sock.getpeername()
            return (
                sock.getsockname(),
                peer.value.errno,
                sock.getsockopt(linux.SOL_SOCKET, linux.SO_TYPE),
                sock.getsockopt(linux.SOL_SOCKET, linux.SO_REUSEADDR),
                sock.getsockopt(linux.SOL_IP, linux.IP_TTL),
            )

    assert both(scenario) == (("0.0.0.0", 0), errno.ENOTCONN, socket.SOCK_DGRAM, 1, 64)


@pytest.mark.section("C")
def test_disconnect_twice_is_harmless(netns_factory: Any) -> None:
    def scenario(backend: str) -> object:
        ns = netns_factory("disc")
        with ns.entered(), open_in(ns, backend, socket.AF_INET) as sock:
            sock.connect(("127.0.0.1", 7))
            sock.disconnect()
            sock.disconnect()  # CVE-2015-3636: a second disconnect returns 0
            released = sock.getsockname()  # C10: the auto-allocated ident is released
            with pytest.raises(OSError) as send:
                sock.send(echo(socket.AF_INET, 1))
            with pytest.raises(OSError) as peer:
                sock.getpeername()
            # C2: the failed send autobound the socket again before validating.
            return released, send.value.errno, peer.value.errno, sock.getsockname()[1] != 0

    assert both(scenario) == (("0.0.0.0", 0), errno.EDESTADDRREQ, errno.ENOTCONN, True)


@pytest.mark.section("G")
def test_truncated_receive(netns_factory: Any) -> None:
    def scenario(backend: str) -> object:
        ns = netns_factory("trunc")
        with ns.entered(), open_in(ns, backend, socket.AF_INET) as sock:
            sock.sendto(echo(socket.AF_INET, 1, payload=bytes(10)), ("127.0.0.1", 0))
            data, _anc, flags, _addr = sock.recvmsg(4)
            return len(data), bool(flags & linux.MSG_TRUNC)

    assert both(scenario) == (4, True)  # G3: the truncated length, MSG_TRUNC set
