"""The description of an ICMP error: iputils ``pr_icmph`` and ``print_icmp``.

``pr_icmph`` (ping/ping.c) words IPv4 errors and ``print_icmp`` (ping/ping6_common.c) IPv6
ones, as iputils 20221126 prints them after ``From <offender> icmp_seq=N`` (spec section 3).
Pure formatting; :mod:`pingsock.cli.render` re-exports :func:`icmp_error_text` and builds
the whole line with ``icmp_error_line``.
"""

from __future__ import annotations

import ipaddress

__all__ = ["icmp_error_text"]

_V4_UNREACH = (
    "Destination Net Unreachable",
    "Destination Host Unreachable",
    "Destination Protocol Unreachable",
    "Destination Port Unreachable",
    "Frag needed and DF set (mtu = {info})",
    "Source Route Failed",
    "Destination Net Unknown",
    "Destination Host Unknown",
    "Source Host Isolated",
    "Destination Net Prohibited",
    "Destination Host Prohibited",
    "Destination Net Unreachable for Type of Service",
    "Destination Host Unreachable for Type of Service",
    "Packet filtered",
    "Precedence Violation",
    "Precedence Cutoff",
)
_V4_REDIRECT = (
    "Redirect Network",
    "Redirect Host",
    "Redirect Type of Service and Network",
    "Redirect Type of Service and Host",
)
_V4_SIMPLE = {
    0: "Echo Reply",
    4: "Source Quench",
    8: "Echo Request",
    13: "Timestamp",
    14: "Timestamp Reply",
    15: "Information Request",
    16: "Information Reply",
    17: "Address Mask Request",
    18: "Address Mask Reply",
}
# 20221126 knows codes 0-4; "Source address failed ingress/egress policy" (5) and "Reject
# route to destination" (6) arrived in 20231222, so Debian 12 prints "Unknown code 5/6".
_V6_UNREACH = (
    "No route",
    "Administratively prohibited",
    "Beyond scope of source address",
    "Address unreachable",
    "Port unreachable",
)
_V6_PARAM = ("Wrong header field ", "Unknown header ", "Unknown option ")
_V6_SIMPLE = {
    128: "Echo request",
    129: "Echo reply",
    130: "MLD Query",
    131: "MLD Report",
    132: "MLD Reduction",
}


def _pr_icmph(icmp_type: int, code: int, info: int, nexthop: str | None) -> str:
    # pr_icmph (ping/ping.c) for an error from the queue: info is ee_info.
    if icmp_type == 3:
        if code < len(_V4_UNREACH):
            return _V4_UNREACH[code].format(info=info)
        return f"Dest Unreachable, Bad Code: {code}"
    if icmp_type == 5:
        kind = _V4_REDIRECT[code] if code < len(_V4_REDIRECT) else f"Redirect, Bad Code: {code}"
        gateway = nexthop if nexthop is not None else str(ipaddress.IPv4Address(info))
        return f"{kind}(New nexthop: {gateway})"  # no space before "(" in iputils
    if icmp_type == 11:
        if code == 0:
            return "Time to live exceeded"
        if code == 1:
            return "Frag reassembly time exceeded"
        return f"Time exceeded, Bad Code: {code}"
    if icmp_type == 12:
        return f"Parameter problem: pointer = {info}"
    if icmp_type in _V4_SIMPLE:
        return _V4_SIMPLE[icmp_type]
    return f"Bad ICMP type: {icmp_type}"


def _print_icmp(icmp_type: int, code: int, info: int) -> str:
    # print_icmp (ping/ping6_common.c).
    if icmp_type == 1:
        reason = _V6_UNREACH[code] if code < len(_V6_UNREACH) else f"Unknown code {code}"
        return f"Destination unreachable: {reason}"
    if icmp_type == 2:
        return f"Packet too big: mtu={info}" + (f", code={code}" if code else "")
    if icmp_type == 3:
        if code == 0:
            return "Time exceeded: Hop limit"
        if code == 1:
            return "Time exceeded: Defragmentation failure"
        return f"Time exceeded: code {code}"
    if icmp_type == 4:
        field = _V6_PARAM[code] if code < len(_V6_PARAM) else f"code {code} "
        return f"Parameter problem: {field}at {info}"
    if icmp_type in _V6_SIMPLE:
        return _V6_SIMPLE[icmp_type]
    return f"unknown icmp type: {icmp_type}"


def icmp_error_text(
    family: int, icmp_type: int, icmp_code: int, info: int, *, nexthop: str | None = None
) -> str:
    """The description of an ICMP error (``pr_icmph`` for IPv4, ``print_icmp`` for IPv6).

    ``info`` is ee_info (MTU, parameter-problem pointer, redirect gateway as a u32).
    ``nexthop`` is :func:`pr_addr` of the redirect gateway; it defaults to the numeric one.
    """
    info &= 0xFFFFFFFF  # %u
    if family == 6:
        return _print_icmp(icmp_type, icmp_code, info)
    return _pr_icmph(icmp_type, icmp_code, info, nexthop)
