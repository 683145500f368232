"""Target specifications to target strings, lazily and without I/O.

A sweep of a /8 must not hold sixteen million strings: every function here is a generator,
and IPv4 addresses are formatted from integers directly (an ``ipaddress`` object costs more
than the probe itself). Names pass through unchanged; the driver resolves them when it
reaches them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

from pingsock.linux import AF_INET, AF_INET6

__all__ = [
    "canonical",
    "cidr_bounds",
    "expand",
    "block_bounds",
    "expand_all",
    "generate",
    "parse_literal",
]

_WIDTH: dict[int, int] = {AF_INET: 32, AF_INET6: 128}


def parse_literal(text: str) -> tuple[int, int] | None:
    """(family, integer value) of an address literal without a scope, or None."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return (AF_INET if address.version == 4 else AF_INET6), int(address)


def _dotted(value: int) -> str:
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def canonical(family: int, value: int) -> str:
    """The text ``recvfrom()`` reports for that address (glibc ``inet_ntop()``)."""
    if family == AF_INET:
        return _dotted(value)
    high = value >> 32
    # inet_ntop() writes the last 32 bits dotted for ::ffff:0:0/96 (v4-mapped) and for
    # ::/96 when the zero run is exactly six groups (v4-compatible); ipaddress does not.
    if high == 0xFFFF:
        return "::ffff:" + _dotted(value)
    if high == 0 and value >> 16:
        return "::" + _dotted(value)
    return str(ipaddress.IPv6Address(value))


def _block(family: int, first: int, last: int) -> Iterator[str]:
    for value in range(first, last + 1):
        yield canonical(family, value)


def generate(start: str, end: str) -> Iterator[str]:
    """fping ``-g start end``: every address from ``start`` to ``end`` inclusive."""
    first, last = parse_literal(start), parse_literal(end)
    if first is None or last is None:
        bad = start if first is None else end
        raise ValueError(f"{bad!r} is not an IP address")
    if first[0] != last[0]:
        raise ValueError(f"{start} and {end} are not of the same address family")
    return _block(first[0], first[1], last[1])


def cidr_bounds(spec: str) -> tuple[int, int, int]:
    """(family, first, last) of the hosts of ``address/length`` under fping ``-g`` rules: for
    IPv4 shorter than /31 the network and broadcast addresses are left out (fping
    ``add_cidr()``); /31, /32 and IPv6 blocks keep every address."""
    address, _, length_text = spec.partition("/")
    parsed = parse_literal(address)
    if parsed is None or not length_text.isdigit():
        raise ValueError(f"{spec!r} is not an address block")
    family, value = parsed
    width = _WIDTH[family]
    length = int(length_text)
    if length > width:
        raise ValueError(f"{spec!r}: prefix length over {width}")
    host_bits = width - length
    network = value >> host_bits << host_bits
    last = network | ((1 << host_bits) - 1)
    if family == AF_INET and length < 31:
        return family, network + 1, last - 1
    return family, network, last


def block_bounds(spec: str) -> tuple[int, int, int] | None:
    """(family, first, last) of the hosts of a block or a range, with nothing left to
    resolve; None when ``spec`` is a single address or a name."""
    if "/" in spec:
        return cidr_bounds(spec)
    if spec.count("-") != 1:  # names may hold a "-": only two literals make a range
        return None
    start, _, end = spec.partition("-")
    low, high = parse_literal(start), parse_literal(end)
    if low is None or high is None:
        return None
    if low[0] != high[0]:
        raise ValueError(f"{start} and {end} are not of the same address family")
    return low[0], low[1], high[1]


def expand(spec: str) -> Iterator[str]:
    """One specification to target strings: an address or a name yields itself, a block
    ``address/length`` its hosts (:func:`cidr_bounds`), ``first-last`` the inclusive range of
    two literals of one family."""
    bounds = block_bounds(spec)
    if bounds is None:
        return iter((spec,))
    return _block(*bounds)


def expand_all(specs: Iterable[str]) -> Iterator[str]:
    """:func:`expand` over many specifications, in order."""
    for spec in specs:
        yield from expand(spec)
