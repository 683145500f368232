"""Target specifications: fping -g rules for blocks, ranges, literals and names."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pingsock.sweep.driver import _addresses
from pingsock.sweep.targets import (
    block_bounds,
    canonical,
    cidr_bounds,
    expand,
    expand_all,
    generate,
    parse_literal,
)


@pytest.mark.parametrize(
    ("spec", "first", "last", "count"),
    [
        ("192.0.2.0/24", "192.0.2.1", "192.0.2.254", 254),  # network and broadcast left out
        ("192.0.2.77/24", "192.0.2.1", "192.0.2.254", 254),  # host bits ignored
        ("192.0.2.0/30", "192.0.2.1", "192.0.2.2", 2),
        ("192.0.2.0/31", "192.0.2.0", "192.0.2.1", 2),  # RFC 3021: both are hosts
        ("192.0.2.5/32", "192.0.2.5", "192.0.2.5", 1),
        ("127.1.0.0/16", "127.1.0.1", "127.1.255.254", 65534),
        ("2001:db8::/126", "2001:db8::", "2001:db8::3", 4),
    ],
)
def test_blocks(spec: str, first: str, last: str, count: int) -> None:
    hosts = list(expand(spec))
    assert (hosts[0], hosts[-1], len(hosts)) == (first, last, count)
    bounds = block_bounds(spec)
    assert bounds is not None
    family, first, last = bounds
    assert [canonical(family, v) for v in range(first, last + 1)] == hosts


def test_ranges_and_generate() -> None:
    assert list(expand("192.0.2.254-192.0.3.1")) == [
        "192.0.2.254",
        "192.0.2.255",
        "192.0.3.0",
        "192.0.3.1",
    ]
    assert list(generate("2001:db8::ff", "2001:db8::101")) == [
        "2001:db8::ff",
        "2001:db8::100",
        "2001:db8::101",
    ]
    assert list(generate("192.0.2.9", "192.0.2.1")) == []
    with pytest.raises(ValueError, match="same address family"):
        list(generate("192.0.2.1", "2001:db8::1"))
    with pytest.raises(ValueError, match="not an IP address"):
        list(generate("example", "192.0.2.1"))


def test_single_targets_pass_through() -> None:
    assert list(expand("192.0.2.1")) == ["192.0.2.1"]
    assert list(expand("my-host.example")) == ["my-host.example"]  # a "-" in a name
    assert list(expand("::1")) == ["::1"]
    assert block_bounds("192.0.2.1") is None
    assert block_bounds("my-host") is None
    assert list(expand_all(["192.0.2.0/31", "x"])) == ["192.0.2.0", "192.0.2.1", "x"]


@pytest.mark.parametrize("spec", ["192.0.2.0/33", "192.0.2.0/x", "example/24", "::/129"])
def test_bad_blocks(spec: str) -> None:
    with pytest.raises(ValueError):
        cidr_bounds(spec)


def test_a_huge_block_is_lazy() -> None:
    hosts = expand("10.0.0.0/8")
    assert next(hosts) == "10.0.0.1"  # nothing of the other 16 million was made


@given(st.ip_addresses(v=4), st.integers(20, 32))
def test_v4_blocks_agree_with_ipaddress(address: ipaddress.IPv4Address, length: int) -> None:
    network = ipaddress.IPv4Network(f"{address}/{length}", strict=False)
    expected = [str(h) for h in network.hosts()]  # the same rule: /31 and /32 are all hosts
    assert list(expand(f"{address}/{length}")) == expected


@given(st.ip_addresses(v=6))
def test_literals_are_canonical(address: ipaddress.IPv6Address) -> None:
    parsed = parse_literal(address.exploded)
    assert parsed == (socket.AF_INET6, int(address))


@given(st.ip_addresses())
def test_the_pure_text_is_inet_ntop(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    value = int(address)
    (((target, packed),),) = list(_addresses(family, value, value))  # the driver's formatter
    text = target.address
    assert text == canonical(family, value) == socket.inet_ntop(family, address.packed)
    assert target == (text, text, family, 0) and packed == address.packed
