"""Every iputils option, side by side with ``pingsock ping`` (see ``test_side_by_side``).

One section per lab. Each option appears at least once, as ``root`` (raw socket) and as
``nobody`` (ICMP datagram socket) where the two differ or where the option is said to work
unprivileged (``-R``, ``-T``, ``-b``, ``-I``, ``-Q``, ``-e N``...). Refused values are in
``test_side_by_side_validation``. Signals (SIGQUIT, SIGINT) are sent at the same point of both
runs (``sidebyside.Interrupt``).
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
from sidebyside import Case, Interrupt, case, check, iputils_available, raw_twins

from lab.bridge import BRIDGE_BROADCAST, BRIDGE_HOSTS, BRIDGE_MULTICAST, BridgeLab
from lab.netns import Netns
from lab.responder import RESPONDER_V4, RESPONDER_V6, ResponderLab
from lab.topology import (
    CLIENT_V4,
    CLIENT_V6,
    ROUTER_V4,
    SERVER_V4,
    SERVER_V6,
    V4_BLACKHOLE,
    V6_UNREACHABLE,
    RoutedLab,
)

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(not iputils_available(), reason="iputils-ping is not installed"),
]

FAST = "-i 0.2"
PATTERN_34 = "0123456789abcdef0123456789abcdef99"  # more than 16 bytes: the rest is ignored

# -- loopback ---------------------------------------------------------------------------------

LOOPBACK = [
    case("root", "-V", "V", deviation="-V names pingsock, not iputils"),
    case("root", f"-a -c 2 {FAST} 127.0.0.1", "a"),
    case("nobody", f"-a -c 2 {FAST} ::1", "a-v6"),
    case("root", "-A -c 3 127.0.0.1", "A"),
    case("nobody", "-A -c 3 ::1", "A-v6"),
    case("root", f"-C -c 2 {FAST} 127.0.0.1", "C"),
    case("nobody", f"-C -c 2 {FAST} ::1", "C-v6"),
    case("root", "-d -c 1 127.0.0.1", "d"),
    case("nobody", "-d -c 1 127.0.0.1", "d"),
    case("root", f"-D -c 2 {FAST} 127.0.0.1", "D"),
    case("nobody", f"-D -c 2 {FAST} ::1", "D-v6"),
    case("root", f"-e 1234 -v -c 2 {FAST} 127.0.0.1", "e"),
    case("nobody", f"-e 1234 -v -c 2 {FAST} 127.0.0.1", "e"),
    case("nobody", "-e 4321 -v -c 1 ::1", "e-v6"),
    case(
        "root",
        "-e 0 -v -c 1 127.0.0.1",
        "e0",
        deviation="an emulated ping socket cannot use identifier 0: ident= differs",
    ),
    case("root", "-f -c 5 127.0.0.1", "f"),
    case("root", "-f -c 20 ::1", "f-v6"),
    # -l: bursts of the preload, then the replies are read until none is in flight.
    case("root", "-f -l 8 -c 40 127.0.0.1", "f-l"),
    case("root", "-f -q -l 16 -c 300 ::1", "f-q-l-v6"),
    case("root", "-f -q -c 500 127.0.0.1", "f-q"),
    case("nobody", "-f -i 0.002 -c 5 127.0.0.1", "f-i"),
    case("root", "-F 0x12345 -c 1 ::1", "F", fresh=True),
    case("nobody", "-F 0x12345 -c 1 ::1", "F", fresh=True),
    case("root", "-F 0x12345 -c 1 127.0.0.1", "F-v4-ignored"),
    case("root", "-l 3 -c 3 127.0.0.1", "l3"),
    case("nobody", "-l 3 -c 3 ::1", "l3-v6"),
    case("root", "-l 5 -c 5 127.0.0.1", "l5"),
    case("root", "-m 7 -c 1 127.0.0.1", "m"),
    case("nobody", "-m 7 -c 1 ::1", "m-v6"),
    case("root", "-c 1 localhost", "name"),
    case("root", "-n -c 1 localhost", "n-name"),
    case("nobody", "-4 -c 1 localhost", "4-name"),
    case(
        "root",
        "-N name -c 1 -W 0.3 ::1",
        "N",
        deviation="RFC 4620 node information queries are refused (a ping socket sends echoes)",
    ),
    case("root", "-N help", "N-help"),
    case("root", "-p ff -c 1 127.0.0.1", "p"),
    case("nobody", "-p abc -c 1 ::1", "p-odd-v6"),
    case("root", f"-p {PATTERN_34} -c 1 127.0.0.1", "p-long"),
    case("root", "-p ff -q -c 1 127.0.0.1", "p-q"),
    case("root", "-Q 0x10 -c 1 127.0.0.1", "Q-hex"),
    case("nobody", "-Q 184 -c 1 ::1", "Q-v6"),
    case("root", "-Q -1 -c 1 127.0.0.1", "Q-negative"),
    case("root", "-S 2048 -c 1 127.0.0.1", "S"),
    case("nobody", "-S 2048 -c 1 ::1", "S-v6"),
    case("root", f"-U -c 2 {FAST} 127.0.0.1", "U"),
    case("nobody", f"-U -c 2 {FAST} ::1", "U-v6"),
    case("root", f"-v -c 2 {FAST} 127.0.0.1", "v"),
    case("root", "-v -c 1 ::1", "v-v6"),
    case("nobody", "-v -c 1 ::1", "v-v6"),
    case("root", "-s 65507 -c 1 127.0.0.1", "s-max"),
    case("root", "-i -1 -c 2 127.0.0.1", "i-negative"),
    case("root", "-i abc -c 2 127.0.0.1", "i-garbage-zero"),
    case("root", "-W 1x -c 1 127.0.0.1", "W-garbage"),
    case("nobody", "-4 -c 1 127.0.0.1 -i 0.2", "options-after-target"),
]


@pytest.mark.parametrize("item", raw_twins(LOOPBACK))
def test_loopback(item: Case, netns: Netns, netns_factory: Callable[[str], Netns]) -> None:
    # A flow label lingers in the namespace for seconds after its socket closes (exclusive:
    # a second owner gets EPERM), so -F runs pingsock in a fresh namespace.
    check(netns, item, fresh_ns=netns_factory("fresh") if item.fresh else None)


# -- through the router -----------------------------------------------------------------------

ROUTED = [
    case("root", f"-I c0 -c 2 {FAST} {SERVER_V4}", "I-dev"),
    case("nobody", f"-I c0 -c 2 {FAST} {SERVER_V6}", "I-dev-v6"),
    case("nobody", f"-I {CLIENT_V4} -c 2 {FAST} {SERVER_V4}", "I-addr"),
    case("root", f"-I {CLIENT_V6} -c 1 {SERVER_V6}", "I-addr-v6"),
    case("root", f"-I lo -c 1 -W 0.3 {SERVER_V4}", "I-other-dev"),
    case("root", f"-B -c 2 {FAST} {SERVER_V4}", "B"),
    case("nobody", f"-B -c 1 {SERVER_V6}", "B-v6"),
    case("root", f"-M do -s 1600 -c 2 {FAST} {SERVER_V4}", "M-do"),
    case("nobody", f"-M do -s 1600 -c 2 {FAST} {SERVER_V4}", "M-do"),
    case("root", f"-M do -s 1600 -c 2 {FAST} {SERVER_V6}", "M-do-v6"),
    case("nobody", f"-M do -s 1600 -c 2 {FAST} {SERVER_V6}", "M-do-v6"),
    case("root", f"-M dont -s 1600 -c 2 {FAST} {SERVER_V4}", "M-dont"),
    case("nobody", f"-M want -s 1600 -c 1 {SERVER_V4}", "M-want"),
    case("root", f"-r -c 1 -W 0.3 {SERVER_V4}", "r-off-link"),
    case("nobody", f"-r -c 1 -W 0.3 {SERVER_V4}", "r-off-link"),
    case("nobody", f"-r -c 1 {SERVER_V6}", "r-v6-ignored"),
    case("nobody", f"-r -c 2 {FAST} {ROUTER_V4}", "r-on-link"),
    case("root", f"-R -c 2 {FAST} {SERVER_V4}", "R"),
    case("nobody", f"-R -c 2 {FAST} {SERVER_V4}", "R"),
    case("root", f"-R -c 1 {SERVER_V6}", "R-v6-ignored"),
    case("root", f"-T tsonly -c 2 {FAST} {SERVER_V4}", "T-tsonly"),
    case("nobody", f"-T tsonly -c 2 {FAST} {SERVER_V4}", "T-tsonly"),
    case("root", f"-T tsandaddr -c 2 {FAST} {SERVER_V4}", "T-tsandaddr"),
    case("nobody", f"-T tsandaddr -c 2 {FAST} {SERVER_V4}", "T-tsandaddr"),
    case("root", f"-T tsprespec {ROUTER_V4} {SERVER_V4} -c 2 {FAST} {SERVER_V4}", "T-tsprespec"),
    case("nobody", f"-T tsprespec {ROUTER_V4} -c 1 {SERVER_V4}", "T-tsprespec-one"),
    case("root", f"-c 1 -W 0.3 {ROUTER_V4} {SERVER_V4}", "hops"),
    case("nobody", f"-c 1 -W 0.3 {ROUTER_V4} {SERVER_V4}", "hops"),
    case("nobody", f"-t 1 -c 2 {FAST} {SERVER_V6}", "t1-v6"),
    case("root", f"-Q 0x10 -c 1 {SERVER_V4}", "Q"),
    case(
        "root",
        f"-c 3 -i 0.4 -W 0.3 {V4_BLACKHOLE}",
        "SIGQUIT-blackhole",
        interrupt=Interrupt(signal.SIGQUIT, probes=2, delay=0.1),
    ),
]


@pytest.mark.parametrize("item", raw_twins(ROUTED))
def test_routed(item: Case, routed_lab: RoutedLab) -> None:
    check(routed_lab.client, item)


# Flood output depends on whether each answer is back before the next probe (a flood sends on
# each reply, else every 10 ms): the answers must come from a kernel, never from the user-space
# responder. The server drops request 2 (nftables), the router answers V6_UNREACHABLE.
DROP_SEQUENCE_2 = """table inet psk_drop {
 chain input {
  type filter hook input priority 0; policy accept;
  icmp type echo-request icmp sequence 2 drop
  icmpv6 type echo-request icmpv6 sequence 2 drop
 }
}
"""

FLOOD = [
    case("root", f"-f -c 5 -W 0.3 {SERVER_V4}", "f-loss"),
    case("nobody", f"-f -i 0.002 -c 5 -W 0.3 {SERVER_V6}", "f-i-loss-v6"),
    case("root", f"-f -c 3 {V6_UNREACHABLE}", "f-errors-v6"),
    case("nobody", f"-f -i 0.002 -c 3 {V6_UNREACHABLE}", "f-i-errors-v6"),
    case("root", f"-f -q -c 5 -W 0.3 {SERVER_V4}", "f-q-loss"),
    case("nobody", f"-O -c 3 {FAST} {SERVER_V4}", "O-kernel"),
]


@pytest.mark.parametrize("item", raw_twins(FLOOD))
def test_flood(item: Case, routed_lab: RoutedLab) -> None:
    routed_lab.server.nft(DROP_SEQUENCE_2)
    check(routed_lab.client, item)


# -- the scripted responder -------------------------------------------------------------------

DROP2 = {"drop_seqs": [2]}
SLOW = {"delay_ms": 300}

RESPONDER = [
    case("root", f"-O -c 3 {FAST} {RESPONDER_V4}", "O", behaviour=DROP2),
    case("nobody", f"-O -D -c 3 {FAST} {RESPONDER_V6}", "O-D-v6", behaviour=DROP2),
    case("root", f"-D -c 2 {FAST} {RESPONDER_V4}", "D-errors", behaviour={"error": (3, 1)}),
    case("root", f"-a -c 2 {FAST} {RESPONDER_V4}", "a-duplicates", behaviour={"duplicates": 1}),
    case("nobody", f"-a -c 2 {FAST} {RESPONDER_V4}", "a-errors", behaviour={"error": (3, 1)}),
    case("nobody", f"-U -c 2 {FAST} {RESPONDER_V4}", "U"),
    case("root", "-A -c 3 " + RESPONDER_V4, "A"),
    case("root", f"-l 3 -c 3 {FAST} {RESPONDER_V4}", "l3-pipe", behaviour=SLOW),
    case("nobody", f"-l 2 -c 3 {FAST} {RESPONDER_V6}", "l2-pipe-v6", behaviour=SLOW),
    case("nobody", f"-c 2 {FAST} {RESPONDER_V4}", "slow-pipe", behaviour=SLOW),
    case("root", f"-v -c 2 {FAST} {RESPONDER_V4}", "v-errors", behaviour={"error": (3, 1)}),
    case("root", f"-v -c 2 {FAST} {RESPONDER_V4}", "v-duplicates", behaviour={"duplicates": 1}),
    case("nobody", f"-v -c 2 {FAST} {RESPONDER_V6}", "v-other-addr", behaviour={"from_alt": True}),
    case("root", f"-q -c 2 {FAST} {RESPONDER_V4}", "q-errors", behaviour={"error": (3, 1)}),
    case("root", f"-p ff -c 1 {RESPONDER_V4}", "p-wrong-data", behaviour={"corrupt": "payload"}),
    # Signals: SIGQUIT prints the status line on stderr and goes on; SIGINT ends the run.
    case(
        "root",
        f"-c 3 -i 0.4 {RESPONDER_V4}",
        "SIGQUIT",
        interrupt=Interrupt(signal.SIGQUIT, line=r"icmp_seq=2 "),
    ),
    case(
        "nobody",
        f"-c 3 -i 0.4 {RESPONDER_V6}",
        "SIGQUIT-v6",
        interrupt=Interrupt(signal.SIGQUIT, line=r"icmp_seq=2 "),
    ),
    case(
        "root",
        f"-c 3 -i 0.4 -W 0.3 {RESPONDER_V4}",
        "SIGQUIT-no-reply",
        behaviour={"drop_all": True},
        interrupt=Interrupt(signal.SIGQUIT, probes=2, delay=0.1),
    ),
    case(
        "nobody",
        f"-c 5 -i 0.4 {RESPONDER_V4}",
        "SIGINT",
        interrupt=Interrupt(signal.SIGINT, line=r"icmp_seq=2 "),
    ),
    case(
        "root",
        f"-c 5 -i 0.4 {RESPONDER_V6}",
        "SIGINT-v6",
        interrupt=Interrupt(signal.SIGINT, line=r"icmp_seq=2 "),
    ),
    case(
        "nobody",
        f"-c 5 -i 0.4 {RESPONDER_V4}",
        "SIGINT-no-reply",
        behaviour={"drop_all": True},
        interrupt=Interrupt(signal.SIGINT, probes=2, delay=0.1),
    ),
    case(
        "root",
        f"-c 5 -i 0.4 {RESPONDER_V4}",
        "SIGINT-errors",
        behaviour={"error": (3, 1)},
        interrupt=Interrupt(signal.SIGINT, probes=2, delay=0.1),
    ),
]


@pytest.mark.parametrize("item", raw_twins(RESPONDER))
def test_responder(item: Case, responder_lab: ResponderLab) -> None:
    responder_lab.responder.configure(**item.behaviour)
    check(responder_lab.client, item)


# -- broadcast and multicast on the bridge ------------------------------------------------------
# Three hosts answer each probe: the first reply counts, the others are duplicates (DUP! shown
# only with -v). Users need -i >= 1 for broadcast (so their cases send each second).

BRIDGE = [
    case("root", f"-b -c 2 {FAST} {BRIDGE_BROADCAST}", "b"),
    case("nobody", f"-b -c 2 {BRIDGE_BROADCAST}", "b"),
    case("root", f"-b -v -c 2 {FAST} {BRIDGE_BROADCAST}", "b-v"),
    case("nobody", f"-b -v -c 2 {BRIDGE_BROADCAST}", "b-v"),
    case("root", f"-b -q -c 3 {FAST} {BRIDGE_BROADCAST}", "b-q"),
    case("root", f"-b -c 2 {FAST} {BRIDGE_HOSTS[0]}", "b-unicast"),
    case("root", f"-c 2 {FAST} {BRIDGE_MULTICAST}", "multicast"),
    case("nobody", f"-c 2 {BRIDGE_MULTICAST}", "multicast"),
    case("root", f"-t 1 -c 2 {FAST} {BRIDGE_MULTICAST}", "multicast-t"),
]


@pytest.mark.parametrize("item", raw_twins(BRIDGE))
def test_bridge(item: Case, bridge_lab: BridgeLab) -> None:
    check(bridge_lab.client, item)


LOOP = [
    case("root", f"-c 2 {FAST} {BRIDGE_MULTICAST}", "multicast-looped"),
    case("root", f"-L -c 2 {FAST} {BRIDGE_MULTICAST}", "L"),
    case("nobody", f"-L -c 2 {BRIDGE_MULTICAST}", "L"),
    case("root", f"-L -b -c 2 {FAST} {BRIDGE_BROADCAST}", "L-broadcast"),
]


@pytest.mark.parametrize("item", raw_twins(LOOP))
def test_multicast_loopback(item: Case, bridge_lab: BridgeLab) -> None:
    """The client answers its own multicast (and broadcast) here, so -L shows: the looped copy
    of the probe, and so the client's own reply, disappears (not for broadcast)."""
    bridge_lab.answer_own_broadcasts()
    check(bridge_lab.client, item)
