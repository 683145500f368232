"""A client -- router -- server topology over two veth pairs, IPv4 and IPv6.

::

    client (c0) ---------------- (r0) router (r1) ---------------- (s0) server
    198.51.100.1/24      198.51.100.254/24  203.0.113.254/24      203.0.113.1/24
    2001:db8:1::1/64     2001:db8:1::fe/64  2001:db8:2::fe/64     2001:db8:2::1/64

* Default routes point at the router; the router forwards (v4 and v6).
* IPv6 DAD is off (``accept_dad=0`` and ``nodad``): addresses are usable at once.
* ICMP rate limits are off in every namespace (``icmp_ratelimit=0``, ``ratemask=0``, v6
  ``icmp.ratelimit=0``).
* The router holds ``unreachable``, ``prohibit`` and ``blackhole`` routes for the ``*_UNREACHABLE``,
  ``*_PROHIBIT`` and ``*_BLACKHOLE`` constants below. IPv4 answers 3/1 (host unreachable) and
  3/13 (administratively prohibited); IPv6 answers 1/0 (no route) and 1/1 (prohibited); blackhole
  is silent.
* Time exceeded: send to the server with TTL / hop limit 1; the router answers 11/0 (v6 3/0)
  from ``ROUTER_V4`` / ``ROUTER_V6``.
* The server rejects echo requests on demand: ``lab.server.reject_echo("port-unreachable")``,
  removed with ``lab.server.clear_rejects()``; ``lab.set_server_link_mtu(1280)`` makes the
  router -- server link small for PMTU tests (the router then sends 3/4 / Packet Too Big).

**Route errors are rate limited (spec J11).** ``ip_error()`` (the v4 unreachable/prohibit
routes) uses an inetpeer token bucket governed by ``net.ipv4.route.error_cost`` /
``error_burst``. On this kernel (6.18) those two sysctls exist only in the init namespace (they
are global), so the lab cannot and must not change them. A fresh router namespace starts with a
full bucket of ``error_burst / error_cost`` = 5 errors per client source address (shared by the
unreachable and prohibit routes), then one per second (measured). The fixture builds a fresh
router for every test, so each test gets 5 back-to-back v4 route errors; for more, send from
another source address (:meth:`RoutedLab.add_client_v4`), or space them by more than a second.
IPv6 route errors go through ``icmpv6_send`` and are unlimited (measured: 20 of 20).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from .netns import Netns, create_netns

__all__ = [
    "CLIENT_V4",
    "CLIENT_V6",
    "RoutedLab",
    "ROUTER_CLIENT_SIDE_V4",
    "ROUTER_CLIENT_SIDE_V6",
    "ROUTER_SERVER_SIDE_V4",
    "ROUTER_SERVER_SIDE_V6",
    "ROUTER_V4",
    "ROUTER_V6",
    "SERVER_V4",
    "SERVER_V6",
    "V4_BLACKHOLE",
    "V4_PROHIBIT",
    "V4_UNREACHABLE",
    "V6_BLACKHOLE",
    "V6_PROHIBIT",
    "V6_UNREACHABLE",
    "build_routed_lab",
    "disable_icmp_ratelimits",
    "wait_no_tentative",
]

CLIENT_V4 = "198.51.100.1"
CLIENT_V6 = "2001:db8:1::1"
ROUTER_CLIENT_SIDE_V4 = "198.51.100.254"
ROUTER_CLIENT_SIDE_V6 = "2001:db8:1::fe"
ROUTER_SERVER_SIDE_V4 = "203.0.113.254"
ROUTER_SERVER_SIDE_V6 = "2001:db8:2::fe"
ROUTER_V4 = ROUTER_CLIENT_SIDE_V4  # the source of the router's errors as the client sees them
ROUTER_V6 = ROUTER_CLIENT_SIDE_V6
SERVER_V4 = "203.0.113.1"
SERVER_V6 = "2001:db8:2::1"

V4_UNREACHABLE = "192.0.2.1"  # router: 3/1 host unreachable (ip_error, RTN_UNREACHABLE)
V4_PROHIBIT = "192.0.2.2"  # router: 3/13 communication administratively prohibited
V4_BLACKHOLE = "192.0.2.3"  # router: silently dropped
V6_UNREACHABLE = "2001:db8:f::1"  # router: 1/0 no route to destination
V6_PROHIBIT = "2001:db8:f::2"  # router: 1/1 administratively prohibited
V6_BLACKHOLE = "2001:db8:f::3"  # router: silently dropped

_SETTLE_TIMEOUT = 3.0


def disable_icmp_ratelimits(ns: Netns) -> None:
    """Turn off this namespace's own ICMP rate limits (the per-netns ones only)."""
    ns.sysctl("net.ipv4.icmp_ratelimit", "0")
    ns.sysctl("net.ipv4.icmp_ratemask", "0")
    ns.sysctl("net.ipv4.icmp_msgs_per_sec", "100000")
    ns.sysctl("net.ipv4.icmp_msgs_burst", "100000")
    ns.sysctl("net.ipv6.icmp.ratelimit", "0")


def _no_dad(ns: Netns) -> None:
    ns.sysctl("net.ipv6.conf.all.accept_dad", "0")
    ns.sysctl("net.ipv6.conf.default.accept_dad", "0")


def wait_no_tentative(*namespaces: Netns, timeout: float = _SETTLE_TIMEOUT) -> None:
    """Wait (bounded) until no namespace has a tentative IPv6 address."""
    deadline = time.monotonic() + timeout
    pending = list(namespaces)
    while pending:
        pending = [ns for ns in pending if ns.ip("-6", "addr", "show", "tentative").strip()]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"IPv6 addresses still tentative in {pending}")
        time.sleep(0.02)


@dataclass(slots=True)
class RoutedLab:
    """The three namespaces; addresses are the module constants (also as attributes)."""

    client: Netns
    router: Netns
    server: Netns

    client_v4: ClassVar[str] = CLIENT_V4
    client_v6: ClassVar[str] = CLIENT_V6
    router_v4: ClassVar[str] = ROUTER_V4
    router_v6: ClassVar[str] = ROUTER_V6
    server_v4: ClassVar[str] = SERVER_V4
    server_v6: ClassVar[str] = SERVER_V6
    v4_unreachable: ClassVar[str] = V4_UNREACHABLE
    v4_prohibit: ClassVar[str] = V4_PROHIBIT
    v4_blackhole: ClassVar[str] = V4_BLACKHOLE
    v6_unreachable: ClassVar[str] = V6_UNREACHABLE
    v6_prohibit: ClassVar[str] = V6_PROHIBIT
    v6_blackhole: ClassVar[str] = V6_BLACKHOLE

    def set_server_link_mtu(self, mtu: int) -> None:
        """Set the MTU of the router -- server link (both ends: r1 and s0)."""
        self.router.set_mtu("r1", mtu)
        self.server.set_mtu("s0", mtu)

    def add_client_v4(self, host: int) -> str:
        """Add ``198.51.100.<host>/24`` on ``c0`` and return it: a source address with its own
        fresh route-error bucket at the router (see the module docstring)."""
        if not 2 <= host <= 253:
            raise ValueError(f"host must be in 2..253: {host}")
        addr = f"198.51.100.{host}"
        self.client.ip("addr", "add", f"{addr}/24", "dev", "c0")
        return addr

    def delete(self) -> None:
        errors: list[Exception] = []
        for ns in (self.client, self.router, self.server):
            try:
                ns.delete()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]


def build_routed_lab() -> RoutedLab:
    """Create and wire the three namespaces. The caller must :meth:`RoutedLab.delete` it."""
    created: list[Netns] = []
    try:
        for role in ("client", "router", "server"):
            created.append(create_netns(role))
        client, router, server = created
        for ns in created:
            _no_dad(ns)
            disable_icmp_ratelimits(ns)
        # Create each veth pair directly in its namespaces: nothing appears in the host netns.
        client.ip("link", "add", "c0", "type", "veth", "peer", "name", "r0", "netns", router.name)
        router.ip("link", "add", "r1", "type", "veth", "peer", "name", "s0", "netns", server.name)
        router.sysctl("net.ipv4.ip_forward", "1")
        router.sysctl("net.ipv6.conf.all.forwarding", "1")
        client.ip_batch(
            [
                "link set c0 up",
                f"addr add {CLIENT_V4}/24 dev c0",
                f"addr add {CLIENT_V6}/64 dev c0 nodad",
                f"route add default via {ROUTER_CLIENT_SIDE_V4}",
                f"route add default via {ROUTER_CLIENT_SIDE_V6}",
            ]
        )
        router.ip_batch(
            [
                "link set r0 up",
                "link set r1 up",
                f"addr add {ROUTER_CLIENT_SIDE_V4}/24 dev r0",
                f"addr add {ROUTER_CLIENT_SIDE_V6}/64 dev r0 nodad",
                f"addr add {ROUTER_SERVER_SIDE_V4}/24 dev r1",
                f"addr add {ROUTER_SERVER_SIDE_V6}/64 dev r1 nodad",
                f"route add unreachable {V4_UNREACHABLE}/32",
                f"route add prohibit {V4_PROHIBIT}/32",
                f"route add blackhole {V4_BLACKHOLE}/32",
                f"route add unreachable {V6_UNREACHABLE}/128",
                f"route add prohibit {V6_PROHIBIT}/128",
                f"route add blackhole {V6_BLACKHOLE}/128",
            ]
        )
        server.ip_batch(
            [
                "link set s0 up",
                f"addr add {SERVER_V4}/24 dev s0",
                f"addr add {SERVER_V6}/64 dev s0 nodad",
                f"route add default via {ROUTER_SERVER_SIDE_V4}",
                f"route add default via {ROUTER_SERVER_SIDE_V6}",
            ]
        )
        wait_no_tentative(client, router, server)
        return RoutedLab(client, router, server)
    except BaseException:
        for ns in created:
            ns.delete()
        raise
