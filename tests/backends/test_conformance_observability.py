"""What the rest of the system sees of a ping socket, on the REAL kernel and the emulation (spec
section N): the ICMP counters of /proc/net/snmp and /proc/net/snmp6 move alike; the kernel's
own tables (/proc/net/icmp, /proc/net/icmp6, /proc/net/protocols, sock_diag) list only kernel
sockets, so an emulated one appears as a raw socket there instead (a deviation; pingsock's own
listing, ``backends/listing.py``, fills the gap and is tested in ``test_listing.py``), and the
kernel's /proc/net/icmp6 quirk (N5) is a kernel-only matter. The differential style is
described in ``contract_helpers``."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from contract_helpers import (
    V4,
    V6,
    deviates,
    icmp4,
    inject4,
    inject6,
    ip4,
    ip6,
    on_loopback,
    section,
    settle,
)
from test_contract import both, echo, open_in

from lab.netns import Netns
from pingsock.wire.checksum import internet_checksum

pytestmark = [pytest.mark.netns, section("N")]


def icmp_counters(ns: Netns) -> dict[str, int]:
    """The ICMP and ICMPv6 counters of the namespace."""
    with ns.entered():
        snmp = Path("/proc/net/snmp").read_text().splitlines()
        snmp6 = Path("/proc/net/snmp6").read_text().split()
    counters: dict[str, int] = {}
    for names, values in zip(snmp[::2], snmp[1::2], strict=True):
        kind, *keys = names.split()
        if kind in ("Icmp:", "IcmpMsg:"):
            numbers = values.split()[1:]
            counters.update({kind + k: int(v) for k, v in zip(keys, numbers, strict=True)})
    counters.update(
        {key: int(value) for key, value in zip(snmp6[::2], snmp6[1::2], strict=True)
         if key.startswith("Icmp6")}
    )  # fmt: skip
    return counters


def probe(family: int) -> bytes:
    """An RFC 8335 PROBE (42 / 160) for the interface named lo, L-bit set."""
    name = b"lo\0\0"
    extension = bytes([0x20, 0, 0, 0]) + struct.pack("!HBB", 4 + len(name), 3, 1) + name
    extension = extension[:2] + struct.pack("!H", internet_checksum(extension)) + extension[4:]
    return struct.pack("!BBHHBB", 42 if family == V4 else 160, 0, 0, 0, 1, 1) + extension


def traffic(s: Any, family: int, what: str) -> None:
    target = "127.0.0.1" if family == V4 else "::1"
    if what == "echo":
        for seq in range(3):
            s.sendto(echo(family, seq, payload=bytes(seq * 1000)), (target, 0))
            s.recv(5000)
    elif what == "probe":
        s.sendto(probe(family), (target, 0))
        s.recv(100)
    else:  # an error about our echo, and a reply with a bad checksum
        s.sendto(echo(family, 1), (target, 0))
        s.recv(100)
        ident = s.getsockname()[1]
        if family == V4:
            quoted = ip4("127.0.0.1", "192.0.2.9", echo(V4, 7, ident))
            inject4(ip4("192.0.2.254", "127.0.0.1", icmp4(3, 1, bytes(4), quoted)))
            bad = icmp4(0, 0, struct.pack("!HH", ident, 2), b"x", bad=True)
            inject4(ip4("192.0.2.254", "127.0.0.1", bad))
        else:
            quoted = ip6("::1", "2001:db8::9", echo(V6, 7, ident))
            inject6("2001:db8::fe", "::1", bytes([1, 3, 0, 0]) + bytes(4) + quoted)
            reply = bytes([129, 0, 0, 0]) + struct.pack("!HH", ident, 2) + b"x"
            inject6("2001:db8::fe", "::1", reply, bad=True)
        settle(s)


COUNTED = {  # a counter each case must move, as a check that it measured anything
    ("v4", "echo"): "IcmpMsg:OutType8", ("v6", "echo"): "Icmp6OutEchos",
    ("v4", "probe"): "IcmpMsg:OutType42", ("v6", "probe"): "Icmp6OutType160",
    ("v4", "errors"): "Icmp:InCsumErrors", ("v6", "errors"): "Icmp6InDestUnreachs",
}  # fmt: skip


@pytest.mark.parametrize(("fam", "what"), COUNTED)
def test_icmp_counters(fam: str, what: str) -> None:
    # N6: ping traffic is counted under Icmp/IcmpMsg (Icmp6) as for any sender.
    family = V4 if fam == "v4" else V6

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (ns, s):
            ns.sysctl("net.ipv4.icmp_echo_enable_probe", "1")
            before = icmp_counters(ns)
            traffic(s, family, what)
            after = icmp_counters(ns)
            return {key: after[key] - before.get(key, 0) for key in after
                    if after[key] != before.get(key, 0)}  # fmt: skip

    counters = both(scenario)
    assert isinstance(counters, dict) and counters.get(COUNTED[fam, what], 0) >= 1


def kernel_tables(ns: Netns) -> dict[str, list[list[str]]]:
    """The local address, remote address and state of each row of the kernel's tables, and
    the PING/RAW rows of /proc/net/protocols (name, object size, sockets)."""
    with ns.entered():
        tables = {
            name: [line.split()[1:4] for line in lines[1:]]
            for name in ("icmp", "icmp6")
            for lines in [Path(f"/proc/net/{name}").read_text().splitlines()]
        }
        protocols = Path("/proc/net/protocols").read_text().splitlines()
    tables["protocols"] = [line.split()[:3] for line in protocols
                           if line.split()[0] in ("PING", "PINGv6", "RAW", "RAWv6")]  # fmt: skip
    return tables


@pytest.mark.deviation("N-kernel-tables")
def test_deviation_the_kernels_tables() -> None:
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (ns, s4), open_in(ns, backend, V6) as s6:
            s4.bind(("0.0.0.0", 0x0ACE))
            s6.connect(("::1", 0xBEEF, 0, 0))  # autobound: its ident is shown as "*"
            tables = kernel_tables(ns)
            tables["icmp6"] = [[row[0].split(":")[0] + ":*", *row[1:]] for row in tables["icmp6"]]
            # sock_diag: ss shows no ping socket, but it shows raw sockets.
            tables["ss"] = [[str(len(ns.run("ss", "-H", "-a", "-w").stdout.splitlines()))]]
            return tables

    deviates(
        scenario,
        kernel={
            "icmp": [["00000000:0ACE", "00000000:0000", "07"]],
            "icmp6": [[f"{'0' * 24}01000000:*", f"{'0' * 24}01000000:BEEF", "01"]],
            "protocols": [["PINGv6", "1344", "1"], ["RAWv6", "1344", "0"], ["PING", "1016", "1"],
                          ["RAW", "1152", "0"]],
            "ss": [["0"]],
        },
        raw={
            "icmp": [],
            "icmp6": [],
            "protocols": [["PINGv6", "1344", "0"], ["RAWv6", "1344", "1"], ["PING", "1016", "0"],
                          ["RAW", "1152", "1"]],
            "ss": [["2"]],
        },
    )  # fmt: skip


@pytest.mark.deviation("N5-icmp6-lists-v4")
def test_deviation_the_icmp6_quirk_is_not_copied() -> None:
    # N5: a v4 socket sharing a hash bucket with a v6 socket shows up in /proc/net/icmp6 (as
    # "::"), ping_get_next() checking the netns but not the family. An emulated socket is not
    # in the kernel's tables at all, so the quirk cannot appear for it.
    def scenario(backend: str) -> object:
        with on_loopback(backend) as (ns, s4), open_in(ns, backend, V6) as s6:
            s4.bind(("0.0.0.0", 0x0ACE))
            s6.bind(("::1", 0x0ACE, 0, 0))  # after the v4 one: first in the bucket
            return kernel_tables(ns)["icmp6"]

    deviates(
        scenario,
        kernel=[[f"{'0' * 24}01000000:0ACE", f"{'0' * 32}:0000", "07"],
                [f"{'0' * 32}:0ACE", f"{'0' * 32}:0000", "07"]],
        raw=[],
    )  # fmt: skip
