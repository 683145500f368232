"""What goes wrong on the way, side by side with ``pingsock ping`` (see ``test_side_by_side``).

Routing failures at the probe ``connect()`` (a bare namespace, local ``unreachable`` /
``prohibit`` / ``blackhole`` / ``throw`` routes), names that do not resolve, local errors
(``EMSGSIZE`` with ``-M do`` or an oversized ``-s``, on both socket types), every ICMP error text
of spec section 3.5 that a Linux socket delivers (from the scripted responder, which quotes the
request as a router would), what the datagram socket never sees (bad checksums, source quench
as an error, redirects counted as errors), and path-MTU discovery through the router.
"""

from __future__ import annotations

import ipaddress

import pytest
from sidebyside import (
    Case,
    case,
    check,
    compare,
    iputils_available,
    prepare,
    raw_twins,
    run_iputils,
    run_pingsock,
)

from lab.netns import Netns
from lab.responder import RESPONDER_ALT_V4, RESPONDER_V4, RESPONDER_V6, ResponderLab
from lab.topology import SERVER_V4, SERVER_V6, V6_PROHIBIT, RoutedLab, build_routed_lab

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(not iputils_available(), reason="iputils-ping is not installed"),
]

FAST = "-i 0.2"
# Deliberate: root runs on pingsock's emulated ping socket, which behaves as the kernel's.
RAW_INFO = "emulated ping socket: iputils on raw prints it with a colon, uncounted (#555)"

# -- a bare namespace: only lo, plus the local routes below --------------------------------------

LOCAL_ROUTES = [
    "route add unreachable 203.0.113.0/25",  # 203.0.113.128/25: no route at all
    "route add prohibit 198.51.100.0/24",
    "route add blackhole 192.0.2.0/24",
    "route add unreachable 2001:db8:1::/64",
    "route add prohibit 2001:db8:2::/64",
    "route add blackhole 2001:db8:3::/64",
    "route add throw 2001:db8:4::/64",
]

BARE = [
    case("root", "-c 1 203.0.113.200", "no-route"),
    case("nobody", "-c 1 2001:db8:9::1", "no-route-v6"),
    case("root", "-c 1 203.0.113.1", "route-unreachable"),
    case("nobody", "-c 1 2001:db8:1::1", "route-unreachable-v6"),
    case("root", "-c 1 198.51.100.1", "route-prohibit-is-broadcast-question"),
    case("nobody", "-c 1 198.51.100.1", "route-prohibit-is-broadcast-question"),
    case("root", "-b -c 1 198.51.100.1", "route-prohibit-with-b"),
    case("nobody", "-c 1 2001:db8:2::1", "route-prohibit-v6"),
    case("root", "-c 1 192.0.2.1", "route-blackhole"),
    case("root", "-c 1 2001:db8:3::1", "route-blackhole-v6"),
    case("nobody", "-c 1 2001:db8:4::1", "route-throw-v6"),
    case("root", "-c 1 nosuch.invalid", "unknown-host"),
    case("nobody", "-c 1 a..b", "unknown-host-noname"),
    case("nobody", "-c 1 256.1.1.1", "unknown-host-numeric-looking"),
    case("nobody", "-c 1 -W 0.3 fe80::1", "link-local-without-scope"),
    case("root", "-c 1 -W 0.3 fe80::1", "link-local-without-scope"),
    case("root", "-s 65508 -c 1 -W 0.3 127.0.0.1", "s-above-max"),
    case("nobody", "-s 65508 -c 1 -W 0.3 127.0.0.1", "s-above-max"),
    case(
        "root",
        "-s 65528 -c 1 -W 0.3 ::1",
        "s-above-max-v6",
        deviation="a ping socket queues no local error for an oversized IPv6 send (as nobody)",
    ),
    case("nobody", "-s 65528 -c 1 -W 0.3 ::1", "s-above-max-v6"),
    case("nobody", "-s 70000 -c 1 -W 0.3 127.0.0.1", "s-above-64k"),
]


@pytest.mark.parametrize("item", raw_twins(BARE))
def test_bare_namespace(item: Case, netns: Netns) -> None:
    netns.ip_batch(LOCAL_ROUTES)
    check(netns, item)


# -- ICMP errors from the scripted responder ------------------------------------------------------


def _v4(addr: str) -> int:
    return int(ipaddress.IPv4Address(addr))


ERR = f"-c 2 {FAST}"
ERR_V4 = f"{ERR} {RESPONDER_V4}"
ERR_V6 = f"{ERR} {RESPONDER_V6}"
QUIET = f"{ERR} -W 0.3 {RESPONDER_V4}"  # nothing counts as an error: bound the linger

RESPONDER = [
    case("nobody", ERR_V4, "net-unreachable", behaviour={"error": (3, 0)}),
    case("root", ERR_V4, "protocol-unreachable", behaviour={"error": (3, 2)}),
    case("nobody", ERR_V4, "port-unreachable", behaviour={"error": (3, 3)}),
    case("root", ERR_V4, "frag-needed", behaviour={"error": (3, 4), "error_info": 1280}),
    case("nobody", ERR_V4, "frag-needed", behaviour={"error": (3, 4), "error_info": 1280}),
    case("root", ERR_V4, "source-route-failed", behaviour={"error": (3, 5)}),
    case("nobody", ERR_V4, "net-unknown", behaviour={"error": (3, 6)}),
    case("root", ERR_V4, "host-unknown", behaviour={"error": (3, 7)}),
    case("nobody", ERR_V4, "host-isolated", behaviour={"error": (3, 8)}),
    case("root", ERR_V4, "net-prohibited", behaviour={"error": (3, 9)}),
    case("nobody", ERR_V4, "host-prohibited", behaviour={"error": (3, 10)}),
    case("root", ERR_V4, "net-unreachable-tos", behaviour={"error": (3, 11)}),
    case("nobody", ERR_V4, "host-unreachable-tos", behaviour={"error": (3, 12)}),
    case("root", ERR_V4, "packet-filtered", behaviour={"error": (3, 13)}),
    case("nobody", ERR_V4, "precedence-violation", behaviour={"error": (3, 14)}),
    case("root", ERR_V4, "precedence-cutoff", behaviour={"error": (3, 15)}),
    case("root", ERR_V4, "ttl-exceeded", behaviour={"error": (11, 0)}),
    case("nobody", ERR_V4, "ttl-exceeded", behaviour={"error": (11, 0)}),
    case("root", ERR_V4, "parameter-problem", behaviour={"error": (12, 0), "error_info": 20 << 24}),
    case(
        "nobody", ERR_V4, "parameter-problem", behaviour={"error": (12, 0), "error_info": 20 << 24}
    ),
    # Redirect and source quench: information on a raw socket (``From X: icmp_seq=N ...``, not
    # counted), errors on a datagram socket (iputils #555).
    case(
        "root",
        QUIET,
        "redirect",
        behaviour={"error": (5, 1), "error_info": _v4(RESPONDER_ALT_V4)},
        deviation=RAW_INFO,
    ),
    case(
        "nobody",
        QUIET,
        "redirect",
        behaviour={"error": (5, 1), "error_info": _v4(RESPONDER_ALT_V4)},
    ),
    case(
        "root",
        QUIET,
        "redirect-net",
        behaviour={"error": (5, 0), "error_info": 1},
        deviation=RAW_INFO,
    ),
    case("root", QUIET, "source-quench", behaviour={"error": (4, 0)}, deviation=RAW_INFO),
    case("nobody", QUIET, "source-quench", behaviour={"error": (4, 0)}),
    case("root", QUIET, "frag-reassembly-exceeded", behaviour={"error": (11, 1)}),
    case("nobody", ERR_V6, "no-route-v6", behaviour={"error_v6": (1, 0)}),
    case("root", ERR_V6, "prohibited-v6", behaviour={"error_v6": (1, 1)}),
    case("nobody", ERR_V6, "beyond-scope-v6", behaviour={"error_v6": (1, 2)}),
    case("root", ERR_V6, "address-unreachable-v6", behaviour={"error_v6": (1, 3)}),
    case("nobody", ERR_V6, "port-unreachable-v6", behaviour={"error_v6": (1, 4)}),
    case("root", ERR_V6, "policy-fail-v6", behaviour={"error_v6": (1, 5)}),
    case("nobody", ERR_V6, "reject-route-v6", behaviour={"error_v6": (1, 6)}),
    case("root", ERR_V6, "packet-too-big-v6", behaviour={"error_v6": (2, 0), "error_info": 1280}),
    case("nobody", ERR_V6, "packet-too-big-v6", behaviour={"error_v6": (2, 0), "error_info": 1280}),
    case("root", ERR_V6, "hop-limit-v6", behaviour={"error_v6": (3, 0)}),
    case("nobody", ERR_V6, "defragmentation-v6", behaviour={"error_v6": (3, 1)}),
    case("root", ERR_V6, "bad-header-v6", behaviour={"error_v6": (4, 0), "error_info": 6}),
    case("nobody", ERR_V6, "unknown-header-v6", behaviour={"error_v6": (4, 1), "error_info": 40}),
    case("root", ERR_V6, "unknown-option-v6", behaviour={"error_v6": (4, 2), "error_info": 42}),
    # -w ends at the first error (iputils #565); -q prints none of them.
    case("nobody", f"-w 2 {FAST} {RESPONDER_V4}", "w-first-error", behaviour={"error": (3, 1)}),
    case("root", f"-w 2 {FAST} {RESPONDER_V6}", "w-first-error-v6", behaviour={"error_v6": (1, 3)}),
    case("nobody", f"-q {ERR_V6}", "q-errors-v6", behaviour={"error_v6": (1, 3)}),
    # What the datagram socket never sees, and how replies can be wrong.
    case(
        "root",
        QUIET,
        "bad-checksum",
        behaviour={"corrupt": "checksum"},
        deviation="a ping socket drops a reply with a bad checksum; 20221126 on raw counts it",
    ),
    case("nobody", QUIET, "bad-checksum", behaviour={"corrupt": "checksum"}),
    case("nobody", ERR_V4, "other-addr", behaviour={"from_alt": True}),
    case("root", ERR_V6, "other-addr-v6", behaviour={"from_alt": True}),
    case("nobody", ERR_V6, "truncated-v6", behaviour={"truncate": 8}),
    case("nobody", f"-c 1 {RESPONDER_V4}", "wrong-data", behaviour={"corrupt": "payload"}),
    case("root", f"-c 1 {RESPONDER_V6}", "wrong-data-v6", behaviour={"corrupt": "payload"}),
    case("nobody", ERR_V6, "duplicates-v6", behaviour={"duplicates": 2}),
    case("root", f"-c 2 {FAST} -W 0.3 {RESPONDER_V4}", "late-reply", behaviour={"delay_ms": 1000}),
]


@pytest.mark.parametrize("item", raw_twins(RESPONDER))
def test_responder(item: Case, responder_lab: ResponderLab) -> None:
    responder_lab.responder.configure(**item.behaviour)
    check(responder_lab.client, item)


# -- through the router -------------------------------------------------------------------------

ROUTED = [
    case("root", f"-c 2 {FAST} {V6_PROHIBIT}", "prohibit-v6"),
    case("nobody", f"-w 2 -t 1 {FAST} {SERVER_V4}", "w-ttl-exceeded"),
    case("root", f"-v -c 2 {FAST} -t 1 {SERVER_V6}", "v-hop-limit-v6"),
]


@pytest.mark.parametrize("item", raw_twins(ROUTED))
def test_routed(item: Case, routed_lab: RoutedLab) -> None:
    check(routed_lab.client, item)


PMTU = [
    case("root", f"-M do -s 1400 -c 3 {FAST} {SERVER_V4}", "pmtu"),
    case("nobody", f"-M do -s 1400 -c 3 {FAST} {SERVER_V4}", "pmtu"),
    case("root", f"-M do -s 1400 -c 3 {FAST} {SERVER_V6}", "pmtu-v6"),
    case("nobody", f"-M do -s 1400 -c 3 {FAST} {SERVER_V6}", "pmtu-v6"),
]


@pytest.mark.parametrize("item", raw_twins(PMTU))
def test_path_mtu(item: Case, routed_lab: RoutedLab) -> None:
    """The router -- server link has MTU 1280: the router answers the first probe with 3/4
    (Packet Too Big), after which the kernel knows the path MTU and refuses the next ones
    locally. That knowledge outlives the run, so pingsock runs in a second, fresh lab."""
    routed_lab.set_server_link_mtu(1280)
    user = prepare(routed_lab.client, item.who)
    iputils = run_iputils(routed_lab.client, user, item.args)
    fresh = build_routed_lab()
    try:
        fresh.set_server_link_mtu(1280)
        prepare(fresh.client, item.who)
        pingsock = run_pingsock(fresh.client, user, item.args)
    finally:
        fresh.delete()
    compare(iputils, pingsock)
