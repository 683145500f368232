"""getsockopt/setsockopt on the REAL kernel, both backends: the value tables of the options
iputils sets (spec K1, L1, L2, M8), and the options that need a capability, as ``nobody``
with and without CAP_NET_RAW (L5, L7, L9). The differential style is described in
``contract_helpers``."""

from __future__ import annotations

from typing import Any

import pytest
from contract_helpers import (
    IP,
    IP6,
    IPV6_FLOWINFO_SEND,
    NOBODY_RAW,
    SOL,
    V4,
    V6,
    as_user,
    attempt,
    on_client,
    section,
)
from test_contract import both

from lab.users import NOBODY
from pingsock import linux

pytestmark = pytest.mark.netns

IPV6_RECVFLOWINFO = 11
EINVAL, ENOPROTOOPT, ENODEV, ENOTCONN = "EINVAL", "ENOPROTOOPT", "ENODEV", "ENOTCONN"


def S(level: int, option: int, value: int | bytes, result: str = "ok") -> tuple[Any, ...]:
    """A setsockopt step and what it returns: "ok" or an errno name."""
    return ("set", (level, option, value), ("ok", None) if result == "ok" else ("error", result))


def G(level: int, option: int, result: int | bytes | str, *buflen: int) -> tuple[Any, ...]:
    """A getsockopt step and the value (or errno name) it returns."""
    return ("get", (level, option, *buflen), ("error", result) if isinstance(result, str) else (
        "ok", result))  # fmt: skip


# -- Values, set and read back --------------------------------------------------------------

OPTION_TABLE: dict[str, tuple[int, list[tuple[Any, ...]]]] = {
    # L1: -t; 0, 256 and -2 are EINVAL, -1 is the default; a 1-byte value is accepted.
    "ip_ttl": (V4, [S(IP, 2, 0, EINVAL), S(IP, 2, 256, EINVAL), S(IP, 2, -1), G(IP, 2, 64),
                    S(IP, 2, 1), G(IP, 2, 1), S(IP, 2, b"\x07"), G(IP, 2, 7)]),
    "ip_multicast_ttl": (V4, [G(IP, 33, 1), S(IP, 33, 0), G(IP, 33, 0), S(IP, 33, 256, EINVAL),
                              S(IP, 33, -1), G(IP, 33, 1), S(IP, 33, 7), G(IP, 33, 7)]),
    "ip_multicast_loop": (V4, [G(IP, 34, 1), S(IP, 34, 0), G(IP, 34, 0), S(IP, 34, 5),
                               G(IP, 34, 1)]),
    "ip_tos": (V4, [G(IP, 1, 0), S(IP, 1, 0xB8), G(IP, 1, 0xB8), S(IP, 1, 0x103), G(IP, 1, 3),
                    S(IP, 1, -1), G(IP, 1, 0xFF)]),  # L2: the low 8 bits, ECN kept
    "ip_mtu_discover": (V4, [G(IP, 10, 1), S(IP, 10, 2), G(IP, 10, 2), S(IP, 10, 6, EINVAL),
                             S(IP, 10, -1, EINVAL), S(IP, 10, 5), G(IP, 10, 5)]),  # K1
    "ip_mtu": (V4, [G(IP, linux.IP_MTU, ENOTCONN), S(IP, linux.IP_MTU, 1, ENOPROTOOPT)]),
    "ip_recv": (V4, [G(IP, 7, 0), S(IP, 7, 1), G(IP, 7, 1), G(IP, 6, 0), S(IP, 6, 1), G(IP, 6, 1),
                     G(IP, 12, 0), S(IP, 12, 1), G(IP, 12, 1), G(IP, 11, 0), S(IP, 11, 1),
                     G(IP, 11, 1)]),
    "ipv6_option_on_v4": (V4, [S(IP6, linux.IPV6_RECVERR, 1, ENOPROTOOPT),
                               G(IP6, linux.IPV6_RECVERR, "ENOTSUP"), G(IP, 11, 0)]),
    "so_buffers": (V4, [G(SOL, 7, 212992), G(SOL, 8, 212992), S(SOL, 7, 324), G(SOL, 7, 4608),
                        S(SOL, 8, 65536), G(SOL, 8, 131072), S(SOL, 8, 1), G(SOL, 8, 2304)]),
    "so_flags": (V4, [G(SOL, 5, 0), S(SOL, 5, 1), G(SOL, 5, 1), G(SOL, 6, 0), S(SOL, 6, 1),
                      G(SOL, 6, 1)]),
    "so_timestamps": (V4, [G(SOL, 29, 0), S(SOL, 29, 1), G(SOL, 29, 1), G(SOL, 35, 0),
                           S(SOL, 35, 1), G(SOL, 35, 1), G(SOL, 29, 0)]),
    "so_bindtodevice": (V4, [S(SOL, 25, b"nosuchdev", ENODEV), S(SOL, 25, b"c0"),
                             G(SOL, 25, b"c0\0", 16)]),
    "ipv6_unicast_hops": (V6, [G(IP6, 16, 64), S(IP6, 16, 0), G(IP6, 16, 0),
                               S(IP6, 16, 256, EINVAL), S(IP6, 16, -1), G(IP6, 16, 64),
                               S(IP6, 16, -2, EINVAL)]),  # M8
    "ipv6_multicast_hops": (V6, [G(IP6, 18, 1), S(IP6, 18, 0), G(IP6, 18, 0),
                                 S(IP6, 18, 256, EINVAL), S(IP6, 18, -1), G(IP6, 18, 1)]),
    "ipv6_tclass": (V6, [G(IP6, 67, 0), S(IP6, 67, 0xB8), G(IP6, 67, 0xB8),
                         S(IP6, 67, 256, EINVAL), S(IP6, 67, -1), G(IP6, 67, 0)]),
    "ipv6_flowinfo_send": (V6, [G(IP6, IPV6_FLOWINFO_SEND, 0), S(IP6, IPV6_FLOWINFO_SEND, 1),
                                G(IP6, IPV6_FLOWINFO_SEND, 1)]),
    "ipv6_mtu_discover": (V6, [G(IP6, 23, 1), S(IP6, 23, 2), G(IP6, 23, 2),
                               S(IP6, 23, 6, EINVAL)]),
    "ipv6_multicast_loop": (V6, [G(IP6, 19, 1), S(IP6, 19, 0), G(IP6, 19, 0),
                                 S(IP6, 19, 2, EINVAL)]),
    "ipv6_recv": (V6, [G(IP6, 25, 0), S(IP6, 25, 1), G(IP6, 25, 1), G(IP6, 51, 0),
                       S(IP6, 51, 1), G(IP6, 51, 1), G(IP6, 49, 0), S(IP6, 49, 1), G(IP6, 49, 1),
                       G(IP6, IPV6_RECVFLOWINFO, 0), S(IP6, IPV6_RECVFLOWINFO, 1),
                       G(IP6, IPV6_RECVFLOWINFO, 1)]),
    "ipv6_bindtodevice": (V6, [S(SOL, 25, b"nosuchdev", ENODEV), S(SOL, 25, b"c0"),
                               G(SOL, 25, b"c0\0", 16)]),
    # M8: SOL_IP options are accepted on an IPv6 ping socket (udp_prot.setsockopt()), and
    # IP_RECVERR there is not IPV6_RECVERR.
    "ip_options_on_v6": (V6, [S(IP, 2, 5), G(IP, 2, 5), S(IP, 1, 4), G(IP, 1, 4), S(IP, 11, 1),
                              G(IP, 11, 1), G(IP6, 25, 0), S(IP, 2, 0, EINVAL)]),
}  # fmt: skip


def option_section(case: str) -> str:
    """M for the IPv6 socket's options, K for path MTU discovery, L for the rest."""
    if OPTION_TABLE[case][0] == V6:
        return "M"
    return "K" if case.startswith("ip_mtu") else "L"


@pytest.mark.parametrize(
    "case", [pytest.param(case, marks=section(option_section(case))) for case in OPTION_TABLE]
)
def test_setsockopt_and_getsockopt(case: str) -> None:
    family, steps = OPTION_TABLE[case]

    def scenario(backend: str) -> object:
        with on_client(backend, family) as (_lab, s):
            return [
                attempt(s.setsockopt if kind == "set" else s.getsockopt, *args)
                for kind, args, _expected in steps
            ]

    assert both(scenario) == [expected for _kind, _args, expected in steps]


# -- Options that need a capability ---------------------------------------------------------

CAPABILITY_BODY = """
results = {}
with pingsock.socket(socket.AF_INET, backend=BACKEND) as s:
    results["so_mark"] = attempt(s.setsockopt, socket.SOL_SOCKET, 36, 7)
    results["so_mark-get"] = attempt(s.getsockopt, socket.SOL_SOCKET, 36)
    results["so_debug"] = attempt(s.setsockopt, socket.SOL_SOCKET, 1, 1)
    results["so_priority-7"] = attempt(s.setsockopt, socket.SOL_SOCKET, 12, 7)
    results["so_rcvbufforce"] = attempt(s.setsockopt, socket.SOL_SOCKET, 33, 100000)
    results["ip_transparent"] = attempt(s.setsockopt, socket.SOL_IP, 19, 1)
    results["bind-c0"] = attempt(s.setsockopt, socket.SOL_SOCKET, 25, b"c0")
    results["rebind-lo"] = attempt(s.setsockopt, socket.SOL_SOCKET, 25, b"lo")
    results["unbind"] = attempt(s.setsockopt, socket.SOL_SOCKET, 25, b"")
    mark = [(socket.SOL_SOCKET, 36, struct.pack("=I", 5))]
    message = b"\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x01"
    results["so_mark-cmsg"] = attempt(s.sendmsg, [message], mark, 0, ("198.51.100.254", 0))
print(json.dumps(results))
"""


def test_privileged_options_as_nobody_on_the_kernel_socket() -> None:
    # L5, L7, L9, iputils 1.2: -m warns, -d is silently EACCES, a device binds once.
    assert as_user(NOBODY, CAPABILITY_BODY, backends=("kernel",)) == {
        "so_mark": ["error", "EPERM"],
        "so_mark-get": ["ok", 0],
        "so_debug": ["error", "EACCES"],
        "so_priority-7": ["error", "EPERM"],
        "so_rcvbufforce": ["error", "EPERM"],
        "ip_transparent": ["error", "EPERM"],
        "bind-c0": ["ok", None],
        "rebind-lo": ["error", "EPERM"],
        "unbind": ["error", "EPERM"],
        "so_mark-cmsg": ["error", "EPERM"],
    }


@section("L")
def test_privileged_options_with_cap_net_raw_match() -> None:
    # Like for like: CAP_NET_RAW on both sides. Since Linux 5.17 it suffices for SO_MARK;
    # SO_DEBUG and SO_RCVBUFFORCE still need CAP_NET_ADMIN.
    assert as_user(NOBODY_RAW, CAPABILITY_BODY) == {
        "so_mark": ["ok", None],
        "so_mark-get": ["ok", 7],
        "so_debug": ["error", "EACCES"],
        "so_priority-7": ["ok", None],
        "so_rcvbufforce": ["error", "EPERM"],
        "ip_transparent": ["ok", None],
        "bind-c0": ["ok", None],
        "rebind-lo": ["ok", None],
        "unbind": ["ok", None],
        "so_mark-cmsg": ["ok", 8],
    }
