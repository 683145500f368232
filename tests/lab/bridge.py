"""A broadcast lab: one client and three hosts on a Linux bridge that lives in its own namespace.

::

                        bridge namespace: br0 (ports p0 p1 p2 p3)
    client (c0) --- p0 -+
    192.0.2.1/24        +- p1 --- (h0) host10  192.0.2.10/24
                        +- p2 --- (h0) host11  192.0.2.11/24
                        +- p3 --- (h0) host12  192.0.2.12/24

* The broadcast address is ``192.0.2.255``; the hosts answer echo requests sent to it (and to
  ``224.0.0.1``) because ``net.ipv4.icmp_echo_ignore_broadcasts`` is ``0`` in their namespaces
  (only there: the client keeps the default ``1``, so it never answers its own broadcast).
* The client routes ``224.0.0.0/4`` to ``c0`` so that multicast pings need no ``-I``.
* Every interface has a fixed, locally administered MAC (``02:00:00:00:02:NN``, NN = the host
  part of its address) and every neighbour entry between the client and the hosts is
  ``permanent``: no ARP happens during a test, so replies are never held back waiting for
  address resolution and their order is the order in which the hosts are reached.
* STP and multicast snooping are off on ``br0``: ports forward at once and multicast is flooded.
* ICMP rate limits are off in every namespace (as in :mod:`lab.topology`).

The three hosts answer one broadcast within microseconds of each other, but in a fixed order:
the bridge floods the ports in a fixed order and the whole exchange runs in one softirq, so the
replies come back from ``.12``, ``.11``, ``.10`` (measured stable over hundreds of runs, also
under load). :meth:`BridgeLab.answer_own_broadcasts` makes the client answer too (its own looped
copy of a broadcast or multicast probe), which is what ``-L`` turns off for multicast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from .netns import Netns, create_netns
from .topology import disable_icmp_ratelimits

__all__ = [
    "BRIDGE_BROADCAST",
    "BRIDGE_CLIENT",
    "BRIDGE_HOSTS",
    "BRIDGE_MULTICAST",
    "BRIDGE_PREFIX",
    "BridgeLab",
    "build_bridge_lab",
    "mac_of",
]

BRIDGE_PREFIX = "192.0.2.0/24"
BRIDGE_CLIENT = "192.0.2.1"
BRIDGE_HOSTS = ("192.0.2.10", "192.0.2.11", "192.0.2.12")
BRIDGE_BROADCAST = "192.0.2.255"
BRIDGE_MULTICAST = "224.0.0.1"  # all-hosts: every host has joined it on h0


def mac_of(address: str) -> str:
    """The fixed MAC of the interface holding ``address``: ``192.0.2.N`` -> ``02:..:02:<N hex>``."""
    last = int(address.rsplit(".", 1)[1])
    return f"02:00:00:00:02:{last:02x}"


@dataclass(slots=True)
class BridgeLab:
    """The five namespaces; ``hosts`` are in ``BRIDGE_HOSTS`` order."""

    client: Netns
    bridge: Netns
    hosts: tuple[Netns, ...] = field(default_factory=tuple)

    client_v4: ClassVar[str] = BRIDGE_CLIENT
    host_v4: ClassVar[tuple[str, ...]] = BRIDGE_HOSTS
    broadcast_v4: ClassVar[str] = BRIDGE_BROADCAST
    multicast_v4: ClassVar[str] = BRIDGE_MULTICAST

    def answer_own_broadcasts(self, on: bool = True) -> None:
        """Let the client answer echo requests sent to a broadcast or multicast address
        (``icmp_echo_ignore_broadcasts`` in the client's namespace only)."""
        self.client.sysctl("net.ipv4.icmp_echo_ignore_broadcasts", "0" if on else "1")

    def namespaces(self) -> tuple[Netns, ...]:
        return (self.client, self.bridge, *self.hosts)

    def delete(self) -> None:
        errors: list[Exception] = []
        for ns in self.namespaces():
            try:
                ns.delete()
            except Exception as exc:  # keep going: delete the others
                errors.append(exc)
        if errors:
            raise errors[0]


def build_bridge_lab() -> BridgeLab:
    """Create and wire the namespaces. The caller must :meth:`BridgeLab.delete` the result."""
    created: list[Netns] = []
    try:
        client = create_netns("client")
        created.append(client)
        bridge = create_netns("bridge")
        created.append(bridge)
        hosts: list[Netns] = []
        for addr in BRIDGE_HOSTS:
            host = create_netns(f"host{addr.rsplit('.', 1)[1]}")
            created.append(host)
            hosts.append(host)
        for ns in (client, *hosts):
            disable_icmp_ratelimits(ns)
        # Each veth pair is created directly in its two namespaces: nothing appears on the host.
        bridge.ip("link", "add", "br0", "type", "bridge", "stp_state", "0", "mcast_snooping", "0")
        client.ip("link", "add", "c0", "type", "veth", "peer", "name", "p0", "netns", bridge.name)
        for index, host in enumerate(hosts, start=1):
            host.ip(
                "link", "add", "h0", "type", "veth", "peer", "name", f"p{index}",
                "netns", bridge.name,
            )  # fmt: skip
        bridge.ip_batch(
            [
                *(f"link set p{i} master br0" for i in range(len(hosts) + 1)),
                *(f"link set p{i} up" for i in range(len(hosts) + 1)),
                "link set br0 up",
            ]
        )
        client.ip_batch(
            [
                f"link set c0 address {mac_of(BRIDGE_CLIENT)}",
                "link set c0 up",
                f"addr add {BRIDGE_CLIENT}/24 brd + dev c0",
                "route add 224.0.0.0/4 dev c0",
                *(
                    f"neigh replace {addr} lladdr {mac_of(addr)} dev c0 nud permanent"
                    for addr in BRIDGE_HOSTS
                ),
            ]
        )
        for host, addr in zip(hosts, BRIDGE_HOSTS, strict=True):
            host.sysctl("net.ipv4.icmp_echo_ignore_broadcasts", "0")
            host.ip_batch(
                [
                    f"link set h0 address {mac_of(addr)}",
                    "link set h0 up",
                    f"addr add {addr}/24 brd + dev h0",
                    *(
                        f"neigh replace {other} lladdr {mac_of(other)} dev h0 nud permanent"
                        for other in (BRIDGE_CLIENT, *BRIDGE_HOSTS)
                        if other != addr
                    ),
                ]
            )
        return BridgeLab(client, bridge, tuple(hosts))
    except BaseException:
        for ns in created:
            ns.delete()
        raise
