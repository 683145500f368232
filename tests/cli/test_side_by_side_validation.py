"""Every value iputils refuses (or only warns about), side by side with ``pingsock ping``.

Spec section 2, option by option: the numeric options of ``strtol_or_err``/``strtoul_or_err``
(``invalid argument``, exit 1), the option-specific messages (exit 2), the ``ping_strtod``
garbage warnings (not fatal), getopt's own errors and usage, and the checks made after parsing
that depend on the user (flood, preload, broadcast interval), the target (family, broadcast) or
the other options (``-R`` with ``-T``, hops). Cases whose outcome depends on the user run as
both; the rest run as root. See ``test_side_by_side`` for the method.
"""

from __future__ import annotations

import pytest
from sidebyside import Case, case, check, iputils_available, raw_twins

from lab.bridge import BRIDGE_BROADCAST, BRIDGE_MULTICAST, BridgeLab
from lab.netns import Netns
from lab.topology import ROUTER_V4, SERVER_V4, SERVER_V6, RoutedLab

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(not iputils_available(), reason="iputils-ping is not installed"),
]

LO = "127.0.0.1"
HOPS_11 = " ".join(f"198.51.100.{n}" for n in range(10, 21))  # 11 hops: more than 10 is usage

# -- parsed before anything is opened (a bare namespace) ------------------------------------------

PARSE = [
    # -c: 1..LONG_MAX
    case("root", f"-c -1 {LO}", "c-negative"),
    case("root", f"-c 9223372036854775808 {LO}", "c-overflow"),
    case("root", ["-c", "", LO], "c-empty"),
    case("root", f"-c 2x {LO}", "c-trailing"),
    # -e: 0..65535
    case("root", f"-e 70000 {LO}", "e-range"),
    case("root", f"-e -1 {LO}", "e-negative"),
    case("root", f"-e abc {LO}", "e-abc"),
    # -l: 1..65536; users at most 3 (checked while parsing)
    case("root", f"-l 0 {LO}", "l0"),
    case("root", f"-l 70000 {LO}", "l-range"),
    case("root", f"-l abc {LO}", "l-abc"),
    case("nobody", f"-l 4 -c 1 {LO}", "l4"),
    # -m: 0..UINT_MAX
    case("root", f"-m abc {LO}", "m-abc"),
    case("root", f"-m -1 {LO}", "m-negative"),
    case("root", f"-m 4294967296 {LO}", "m-range"),
    # -s: 0..INT_MAX
    case("root", f"-s -1 {LO}", "s-negative"),
    case("root", f"-s 2147483648 {LO}", "s-range"),
    # -S: 1..INT_MAX
    case("root", f"-S 0 {LO}", "S0"),
    case("root", f"-S abc {LO}", "S-abc"),
    # -t: 0..255
    case("root", f"-t -1 {LO}", "t-negative"),
    case("root", f"-t abc {LO}", "t-abc"),
    # -w: 0..INT_MAX, whole seconds
    case("root", f"-w abc {LO}", "w-abc"),
    case("root", f"-w -1 {LO}", "w-negative"),
    # -i: ping_strtod; garbage is a warning, then the flood check (users)
    case("root", f"-i nan {LO}", "i-nan"),
    case("nobody", f"-i -1 -c 1 {LO}", "i-negative"),
    case("nobody", f"-i abc -c 1 {LO}", "i-garbage-flood"),
    case("nobody", f"-i 0.0019 -c 1 {LO}", "i-below-2ms"),
    case("nobody", f"-f -c 1 {LO}", "f-flood"),
    case("nobody", f"-f -i 0.001 -c 1 {LO}", "f-i-below-2ms"),
    case("root", f"-f -i 0.001 -c 2 {LO}", "f-i-below-2ms"),
    # -W: ping_strtod; negative, too large, NaN/inf are errors; garbage a warning
    case("root", f"-W inf {LO}", "W-inf"),
    case("root", f"-W nan {LO}", "W-nan"),
    case("root", f"-W abc -c 1 {LO}", "W-garbage-zero"),
    # -Q: decimal or 0x hex, <= 255 (negative accepted)
    case("root", f"-Q abc {LO}", "Q-abc"),
    case("root", f"-Q 300 {LO}", "Q-range"),
    case("root", f"-Q 0x100 {LO}", "Q-hex-range"),
    case("root", f"-Q 0xzz {LO}", "Q-hex-garbage"),
    # -p: hex digits
    case("root", f"-p 12xz -c 1 {LO}", "p-not-hex"),
    case("root", f"-p xyz -c 1 {LO}", "p-not-hex-first"),
    case("root", ["-p", "", "-c", "1", LO], "p-empty"),
    # -M, -T, -R
    case("root", f"-M foo {LO}", "M-foo"),
    case("root", f"-M probe {LO}", "M-probe"),
    case("root", f"-T foo {LO}", "T-foo"),
    case("root", f"-R -T tsonly {LO}", "R-then-T"),
    case("root", f"-T tsonly -R {LO}", "T-then-R"),
    # -F (IPv6 flow label)
    case("root", "-F xyz -c 1 ::1", "F-bad"),
    case("root", "-F 0x1fffff -c 1 ::1", "F-over-20-bits"),
    # -N (IPv6 node information query)
    case("root", "-N foo ::1", "N-foo"),
    case("nobody", "-N name -c 1 ::1", "N-forces-raw"),
    # -e 0 forces a raw socket
    case("nobody", f"-e 0 -c 1 {LO}", "e0-forces-raw"),
    # -4 / -6 and the target's family
    case("root", f"-6 -4 {LO}", "6-and-4"),
    case("nobody", "-4 -c 1 ::1", "4-v6-literal"),
    case("nobody", f"-6 -c 1 {LO}", "6-v4-literal"),
    case("root", "-6 -c 1 localhost", "6-v4-name"),
    # getopt and usage
    case("nobody", f"-Z {LO}", "unknown-option"),
    case("root", f"-3 {LO}", "head-only-option"),
    case("root", f"{LO} -W", "missing-argument-W"),
    case("nobody", "-c 1", "no-destination"),
    case("root", "", "no-arguments"),
    case("nobody", "-h", "help"),
    case("root", f"-? {LO}", "question-mark"),
    case("root", "-c 1 -6 ::1 ::1", "hop-v6"),
    case("root", f"-c 1 {HOPS_11} {LO}", "hops-too-many"),
]


@pytest.mark.parametrize("item", raw_twins(PARSE))
def test_parse(item: Case, netns: Netns) -> None:
    check(netns, item)


# -- checked against the route and the options (routed lab) --------------------------------------

ROUTED = [
    case("root", f"-R -c 1 {ROUTER_V4} {SERVER_V4}", "R-with-hops"),
    case("root", f"-T tsonly -c 1 {ROUTER_V4} {SERVER_V4}", "T-tsonly-with-hops"),
    case("root", f"-T tsprespec -c 1 {' '.join([ROUTER_V4] * 5)} {SERVER_V4}", "T-5-hops"),
    case("root", f"-I nosuchdev -c 1 {SERVER_V4}", "I-no-device"),
    case("nobody", f"-I nosuchdev -c 1 {SERVER_V6}", "I-no-device-v6"),
    case("root", f"-I 192.0.2.99 -c 1 {SERVER_V4}", "I-foreign-addr"),
    case("nobody", f"-I 2001:db8:9::9 -c 1 {SERVER_V6}", "I-foreign-addr-v6"),
    case("root", f"-I 2001:db8::zz -c 1 {SERVER_V6}", "I-bad-v6"),
]


@pytest.mark.parametrize("item", raw_twins(ROUTED))
def test_routed(item: Case, routed_lab: RoutedLab) -> None:
    check(routed_lab.client, item)


# -- broadcast and multicast (bridge lab) ---------------------------------------------------------

BRIDGE = [
    case("root", f"-c 1 {BRIDGE_BROADCAST}", "broadcast-without-b"),
    case("nobody", f"-c 1 {BRIDGE_BROADCAST}", "broadcast-without-b"),
    case("nobody", f"-b -i 0.5 -c 1 {BRIDGE_BROADCAST}", "b-interval"),
    case("nobody", f"-b -M want -c 1 {BRIDGE_BROADCAST}", "b-M-want"),
    case("nobody", f"-b -M dont -c 1 {BRIDGE_BROADCAST}", "b-M-dont"),
    case("nobody", f"-i 0.5 -c 1 {BRIDGE_MULTICAST}", "multicast-interval"),
    case("nobody", f"-f -c 1 {BRIDGE_BROADCAST} -b", "b-flood"),
    case("root", f"-b -M dont -c 2 -i 0.2 {BRIDGE_BROADCAST}", "b-M-dont"),
]


@pytest.mark.parametrize("item", raw_twins(BRIDGE))
def test_bridge(item: Case, bridge_lab: BridgeLab) -> None:
    check(bridge_lab.client, item)
