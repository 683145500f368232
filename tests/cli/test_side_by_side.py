"""``pingsock ping`` next to Debian 12's iputils ping 20221126: same text, same exit status.

Each case runs ``ping ARGS`` (iputils, see ``sidebyside``) and then ``pingsock ping ARGS`` as the
same user in the same lab namespace, and compares stdout, stderr and the exit status after
masking only what depends on the clock or the process id (the list is in ``sidebyside``); jc
and pingparsing must also read the two outputs alike. ``root`` runs with the default
``ping_group_range`` ``1 0`` and only CAP_NET_RAW (both programs use a raw socket); ``nobody``
(uid 65534) runs where the range includes 65534 (both use the ICMP datagram socket).

This module holds the basic matrix; ``test_side_by_side_options`` covers every option,
``test_side_by_side_validation`` every refused value, ``test_side_by_side_errors`` what goes
wrong on the way (routes, ICMP errors, local errors, names). Ids are ``<what>-<user>``.
"""

from __future__ import annotations

import pytest
from sidebyside import (
    UNPRIVILEGED,
    Case,
    case,
    check,
    compare,
    iputils_available,
    raw_twins,
    side_by_side,
)

from lab.netns import Netns
from lab.responder import RESPONDER_V4, RESPONDER_V6, ResponderLab
from lab.topology import (
    SERVER_V4,
    SERVER_V6,
    V4_BLACKHOLE,
    V4_PROHIBIT,
    V4_UNREACHABLE,
    V6_UNREACHABLE,
    RoutedLab,
)

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(not iputils_available(), reason="iputils-ping is not installed"),
]

FAST = "-i 0.2"

# -- loopback (a fresh namespace with only lo) ---------------------------------------------------

LOOPBACK = [
    case("root", f"-c 2 {FAST} 127.0.0.1", "v4"),
    case("nobody", f"-c 2 {FAST} 127.0.0.1", "v4"),
    case("root", f"-c 2 {FAST} ::1", "v6"),
    case("nobody", f"-6 -c 2 {FAST} ::1", "v6"),
    case("root", f"-q -c 2 {FAST} 127.0.0.1", "quiet"),
    case("nobody", f"-q -c 2 {FAST} ::1", "quiet-v6"),
    case("root", "-n -c 1 127.0.0.1", "numeric"),
    case("root", f"-s 0 -c 2 {FAST} 127.0.0.1", "s0"),
    case("root", f"-s 8 -c 2 {FAST} 127.0.0.1", "s8"),
    case("root", f"-s 15 -c 2 {FAST} 127.0.0.1", "s15"),
    case("root", f"-s 16 -c 2 {FAST} 127.0.0.1", "s16"),
    case("root", f"-s 100 -c 2 {FAST} 127.0.0.1", "s100"),
    case("nobody", f"-s 8 -c 2 {FAST} 127.0.0.1", "s8"),
    case("nobody", f"-s 100 -c 2 {FAST} ::1", "s100-v6"),
    case("root", f"-w 1 -c 2 {FAST} 127.0.0.1", "deadline-count-met"),
    case("nobody", "-w 1 -i 0.4 127.0.0.1", "deadline"),
    case("root", "-t 0 -c 1 127.0.0.1", "ttl0"),
    case("nobody", "-t 0 -c 1 127.0.0.1", "ttl0"),
    case("nobody", "-i 0.001 -c 1 127.0.0.1", "flood-interval"),
    case("root", "-4 -c 1 ::1", "v4-only-v6-target"),
    case("root", "-6 -c 1 127.0.0.1", "v6-only-v4-target"),
    case("root", "-i 0.2x -c 1 127.0.0.1", "interval-garbage"),
    case("nobody", "-v -c 1 127.0.0.1", "verbose"),
    case("root", "-6 -t 0 -c 1 ::1", "hoplimit0-v6"),
]


@pytest.mark.parametrize("item", raw_twins(LOOPBACK))
def test_loopback(item: Case, netns: Netns) -> None:
    check(netns, item)


@pytest.mark.xfail(
    strict=True,
    reason="deviation: outside ping_group_range both print iputils' three lines (`ping: socktype:"
    " SOCK_RAW`, `ping: socket: Operation not permitted`, `ping: => missing cap_net_raw+p"
    " capability or setuid?`) and exit 2; pingsock then explains the cause and the sysctl to run"
    " (test_ping_cli pins the text)",
)
def test_nobody_outside_the_ping_group_range(netns: Netns) -> None:
    compare(*side_by_side(netns, UNPRIVILEGED, ["-c", "1", "127.0.0.1"]))


# -- command-line errors (nothing is sent; more in test_side_by_side_validation) ---------------

USAGE = [
    case("root", "-c 0 127.0.0.1", "c0"),
    case("root", "-c abc 127.0.0.1", "c-abc"),
    case("root", "-t 256 127.0.0.1", "t256"),
    case("root", "-s abc 127.0.0.1", "s-abc"),
    case("root", "-i inf 127.0.0.1", "i-inf"),
    case("root", "-i 3000000 127.0.0.1", "i-huge"),
    case("root", "-W -1 127.0.0.1", "W-negative"),
    case("root", "-W 1e10 127.0.0.1", "W-huge"),
    case("root", "-w 0.1 127.0.0.1", "w-fraction"),
    case("root", "-4 -6 127.0.0.1", "4-and-6"),
    case("root", "-Z 127.0.0.1", "unknown-option"),
    case("root", "127.0.0.1 -c", "missing-argument"),
    case("root", "-c 1", "no-destination"),
    case("root", "-h", "help"),
]


@pytest.mark.parametrize("item", raw_twins(USAGE))
def test_usage_errors(item: Case, netns: Netns) -> None:
    check(netns, item)


# -- through the router (client -- router -- server) ------------------------------------------
# v4 route errors: 5 per fresh router and client address (lab.topology); each case uses <= 4.

ROUTED = [
    case("root", f"-c 2 {FAST} {SERVER_V4}", "server-v4"),
    case("nobody", f"-c 2 {FAST} {SERVER_V6}", "server-v6"),
    case("root", f"-c 2 {FAST} -t 1 {SERVER_V4}", "ttl1-v4"),
    case("nobody", f"-c 2 {FAST} -t 1 {SERVER_V4}", "ttl1-v4"),
    case("root", f"-c 2 {FAST} -t 1 {SERVER_V6}", "ttl1-v6"),
    case("root", f"-c 2 {FAST} {V4_UNREACHABLE}", "unreachable-v4"),
    case("nobody", f"-c 2 {FAST} {V4_PROHIBIT}", "prohibit-v4"),
    case("root", f"-c 2 {FAST} {V6_UNREACHABLE}", "unreachable-v6"),
    case("nobody", f"-c 2 {FAST} {V6_UNREACHABLE}", "unreachable-v6"),
    case("root", f"-w 2 {FAST} {V4_UNREACHABLE}", "deadline-first-error-ends"),
    case("nobody", f"-c 1 -W 0.3 {V4_BLACKHOLE}", "linger-blackhole"),
]


@pytest.mark.parametrize("item", raw_twins(ROUTED))
def test_routed(item: Case, routed_lab: RoutedLab) -> None:
    check(routed_lab.client, item)


# -- a scripted responder (client -- responder host) ------------------------------------------

RESPONDER = [
    case("root", f"-c 3 {FAST} {RESPONDER_V4}", "drop-one", behaviour={"drop_seqs": [2]}),
    case("nobody", f"-c 3 {FAST} {RESPONDER_V6}", "drop-v6", behaviour={"drop_seqs": [2]}),
    case("root", f"-c 2 {FAST} {RESPONDER_V4}", "duplicates", behaviour={"duplicates": 1}),
    case("root", f"-c 2 {FAST} {RESPONDER_V4}", "truncated", behaviour={"truncate": 8}),
    case("root", f"-c 2 {FAST} {RESPONDER_V4}", "other-addr", behaviour={"from_alt": True}),
    case("root", f"-c 2 {FAST} {RESPONDER_V4}", "icmp-error", behaviour={"error": (3, 3)}),
    case("nobody", f"-c 2 {FAST} {RESPONDER_V6}", "icmp-error-v6", behaviour={"error_v6": (1, 4)}),
    case("root", f"-c 1 {RESPONDER_V4}", "wrong-data", behaviour={"corrupt": "payload"}),
    case("root", f"-c 1 -W 0.5 {RESPONDER_V4}", "linger-no-reply", behaviour={"drop_all": True}),
    case("nobody", f"-w 1 -i 0.4 {RESPONDER_V4}", "deadline-silent", behaviour={"drop_all": True}),
]


@pytest.mark.parametrize("item", raw_twins(RESPONDER))
def test_responder(item: Case, responder_lab: ResponderLab) -> None:
    responder_lab.responder.configure(**item.behaviour)
    check(responder_lab.client, item)
