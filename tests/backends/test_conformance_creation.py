"""Who may create a ping socket, on the REAL kernel and on pingsock (spec sections A and B).

A: a socket created by a user the range admits (effective gid, a bound of the range, a
supplementary group, root) behaves the same on both backends, also after the caller drops its
capabilities and after the range is closed again (A8: only ``socket()`` is checked). The gates
themselves differ by design (the raw backend needs CAP_NET_RAW, not the range): that is the
deviation ``A-creation-gate``.

B: the kernel parses writes to ``net.ipv4.ping_group_range``; pingsock only reads the value (the
``auto`` backend's explanation of a refusal). Each case writes once, as in the spec's table,
and compares the kernel's actual gate for a set of gids with the range pingsock reads back.
"""

from __future__ import annotations

import errno
import json
import os
import re
import socket
from typing import Any, cast

import pytest
from contract_helpers import (
    V4,
    V6,
    as_user,
    attempt,
    deviates,
    on_loopback,
    run_as,
    section,
)
from test_contract import both, echo

import pingsock
from lab.netns import Netns, create_netns
from lab.users import User, python_as
from pingsock import linux
from pingsock.backends.auto import BackendName, permission_message

pytestmark = pytest.mark.netns

SO_PROTOCOL, SO_DOMAIN = 38, 39
LOOPBACK = {"v4": (V4, "127.0.0.1", 8), "v6": (V6, "::1", 128)}

# -- A1, A2, A3, A6, A8: a socket the range admits, as users meet it -----------------------

# The same steps as each user, on each backend (the raw run adds CAP_NET_RAW, which the
# kernel socket ignores, A3): create, drop every effective capability (A8, as iputils does),
# then use the socket.
CREATED_BODY = """
family, target, request = {family}, {target!r}, {request}
out = {{}}
with pingsock.socket(family, backend=BACKEND) as s:
    drop_effective_capabilities()
    s.settimeout(1.0)
    out["attributes"] = [int(s.family), int(s.type), s.proto]
    out["options"] = [s.getsockopt(socket.SOL_SOCKET, o) for o in (39, 3, 38, 2)]
    out["name"] = list(s.getsockname())
    out["peer"] = attempt(s.getpeername)
    out["sent"] = attempt(s.sendto, bytes([request]) + bytes(6) + b"\\x01pingsock", (target, 0))
    data, source = s.recvfrom(100)
    out["reply"] = [data[0], data[6:].hex(), list(source)]
    out["own_ident"] = int.from_bytes(data[4:6], "big") == s.getsockname()[1] != 0
print(json.dumps(out))
"""
RAW = ("net_raw",)
USERS: dict[str, tuple[User, tuple[int, int]]] = {
    # A2: the effective gid counts (the real one is 65534, outside the range).
    "egid": (User(65534, 65534, egid=150, ambient_caps=RAW), (150, 150)),
    "low-bound": (User(65534, 65534, ambient_caps=RAW), (65534, 65600)),  # A1: inclusive
    "high-bound": (User(65534, 65534, ambient_caps=RAW), (1000, 65534)),
    "supplementary": (User(65534, 65534, groups=(150,), ambient_caps=RAW), (150, 150)),
    "root": (User(0, 0, ambient_caps=RAW), (0, 0)),
}


@section("A")
@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize("fam", LOOPBACK)
def test_a_socket_the_range_admits(fam: str, who: str) -> None:
    family, target, request = LOOPBACK[fam]
    user, group_range = USERS[who]
    body = CREATED_BODY.format(family=int(family), target=target, request=request)
    got = as_user(user, body, group_range=group_range)
    unspecified = ["0.0.0.0", 0] if family == V4 else ["::", 0, 0, 0]
    proto = socket.IPPROTO_ICMP if family == V4 else socket.IPPROTO_ICMPV6
    assert got == {
        "attributes": [family, socket.SOCK_DGRAM, proto],
        "options": [family, socket.SOCK_DGRAM, proto, 1],  # ..., SO_REUSEADDR (C1)
        "name": unspecified,
        "peer": ["error", "ENOTCONN"],
        "sent": ["ok", 16],
        "reply": [0 if family == V4 else 129, "0001" + b"pingsock".hex(),
                  [target, 0] if family == V4 else [target, 0, 0, 0]],
        "own_ident": True,
    }  # fmt: skip


@section("A")
@pytest.mark.parametrize("fam", LOOPBACK)
def test_closing_the_range_leaves_created_sockets_working(fam: str) -> None:
    family, target, _request = LOOPBACK[fam]
    level = linux.SOL_IP if family == V4 else linux.SOL_IPV6
    hops = linux.IP_TTL if family == V4 else linux.IPV6_UNICAST_HOPS

    def scenario(backend: str) -> object:
        with on_loopback(backend, family) as (ns, s):
            ns.set_ping_group_range(1, 0)  # A8: new sockets are refused, this one works on
            steps: list[object] = [attempt(s.sendto, echo(family, 1), (target, 0))]
            steps.append(s.recv(100)[6:])
            steps.append(attempt(s.setsockopt, level, hops, 7))
            steps.append(attempt(s.getsockopt, level, hops))
            steps.append(attempt(s.connect, (target, 9)))
            steps.append(attempt(s.send, echo(family, 2)))
            steps.append(s.recv(100)[6:])
            steps.append(s.getpeername()[:2])
            return steps

    assert both(scenario) == [
        ("ok", 16), b"\x00\x01pingsock", ("ok", None), ("ok", 7),
        ("ok", None), ("ok", 16), b"\x00\x02pingsock", (target, 9),
    ]  # fmt: skip


@section("A")
def test_only_inet_families() -> None:
    # pingsock.socket() offers exactly the two ping socket kinds (A5); anything else is
    # EAFNOSUPPORT before any socket is made.
    families = (socket.AF_UNIX, socket.AF_PACKET, socket.AF_NETLINK, 0, 99)

    def scenario(backend: str) -> object:
        with on_loopback(backend):
            chosen = cast("BackendName", backend)
            return [attempt(lambda f: pingsock.socket(f, backend=chosen), f) for f in families]

    assert both(scenario) == [("error", "EAFNOSUPPORT")] * len(families)


GATE_BODY = """
try:
    pingsock.socket(socket.AF_INET, backend=BACKEND).close()
    print(json.dumps("ok"))
except OSError as exc:
    print(json.dumps(errno.errorcode[exc.errno]))
"""
GATE_USERS = {
    "egid-in-range": User(65534, 150),
    "outside-with-cap_net_raw": User(65534, 65534, ambient_caps=RAW),
    "root-outside": User(0, 0, ambient_caps=RAW),
    "rgid-in-range": User(150, 150, egid=65534),  # A2: only the effective gid counts
}


@section("A")
@pytest.mark.deviation("A-creation-gate")
def test_deviation_who_may_create_one() -> None:
    def scenario(backend: str) -> object:
        ns = create_netns("gate")
        try:
            ns.set_ping_group_range(150, 150)
            return [run_as(ns, user, backend, GATE_BODY) for user in GATE_USERS.values()]
        finally:
            ns.delete()

    # A1-A3: the kernel admits by group and ignores capabilities; the raw backend admits by
    # CAP_NET_RAW (socket(SOCK_RAW) is EPERM without it) and ignores the range.
    deviates(
        scenario,
        kernel=["ok", "EACCES", "EACCES", "EACCES"],
        raw=["EPERM", "ok", "ok", "EPERM"],
    )


# -- B: writing ping_group_range, and what pingsock reads back ------------------------------

PROBE_GIDS = (0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 20, 32, 33, 99, 100,
              150, 200, 201, 65534, 2147483647, 2147483648, 4294967294)  # fmt: skip
# Root with only CAP_SETGID: tries each gid as its effective gid, with no supplementary groups.
GATE_PROBE = """
import json, os, socket
os.setgroups([])
admitted = []
for gid in GIDS:
    os.setegid(gid)
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP).close()
        admitted.append(gid)
    except PermissionError:
        pass
    finally:
        os.setegid(0)
print(json.dumps(admitted))
"""
WRITES: dict[str, tuple[bytes, tuple[str, Any], str]] = {
    # name: what one write() sends (starting from "100 200"), its result, the value after.
    "B1-widest-signed": (b"0 2147483647\n", ("ok", 13), "0\t2147483647"),
    "B2-gid_t-max": (b"0 4294967294\n", ("ok", 13), "0\t4294967294"),
    "B2-single-max": (b"4294967294 4294967294\n", ("ok", 22), "4294967294\t4294967294"),
    "B3-too-big": (b"0 4294967295\n", ("error", "EINVAL"), "100\t200"),
    "B4-reversed": (b"10 5\n", ("ok", 5), "1\t0"),
    "B5-one-gid": (b"5 5\n", ("ok", 4), "5\t5"),
    "B6-one-number": (b"7\n", ("ok", 2), "7\t200"),
    "B7-three-numbers": (b"1 2 3\n", ("ok", 4), "1\t2"),
    "B8-hex": (b"0x10 0x20\n", ("ok", 10), "16\t32"),
    "B8-octal": (b"010 020\n", ("ok", 8), "8\t16"),
    "B9-negative": (b"-1 5", ("error", "EINVAL"), "100\t200"),
    "B9-letters": (b"a b", ("error", "EINVAL"), "100\t200"),
    "B9-empty-line": (b"\n", ("error", "EINVAL"), "100\t200"),
    "B9-comma": (b"15,16", ("error", "EINVAL"), "100\t200"),
    "B10-spaces": (b"  11   12  \n", ("ok", 12), "11\t12"),
    "B10-tab": (b"13\t14\n", ("ok", 6), "13\t14"),
    "B10-no-newline": (b"0 2147483647", ("ok", 12), "0\t2147483647"),
}
SHOWN = re.compile(r'net\.ipv4\.ping_group_range is "(\d+) (\d+)"')


def write_range(ns: Netns, data: bytes) -> tuple[str, Any]:
    """One write() to the namespace's ping_group_range: ("ok", bytes written) or the errno."""
    with ns.entered():
        fd = os.open("/proc/sys/net/ipv4/ping_group_range", os.O_WRONLY | os.O_CLOEXEC)
    try:
        return attempt(os.write, fd, data)
    finally:
        os.close(fd)


@section("B")
@pytest.mark.parametrize("case", WRITES)
def test_range_write_and_what_pingsock_reads(case: str) -> None:
    data, result, value = WRITES[case]
    ns = create_netns("range")
    try:
        ns.set_ping_group_range(100, 200)
        written = write_range(ns, data)
        stored = ns.read_sysctl("net.ipv4.ping_group_range")
        with ns.entered():
            shown = SHOWN.search(permission_message(V4, OSError(errno.EACCES, "denied")))
        probe = python_as(ns, User(0, 0, ambient_caps=("setgid",)),
                          f"GIDS = {PROBE_GIDS!r}\n{GATE_PROBE}", timeout=30)  # fmt: skip
        assert probe.returncode == 0, probe.stderr
        admitted = json.loads(probe.stdout)
    finally:
        ns.delete()
    assert (written, stored) == (result, value)
    # The kernel's gate is exactly the range pingsock reads (both bounds inclusive, and a
    # reversed range such as the default "1 0" admits nobody).
    assert shown is not None
    low, high = int(shown[1]), int(shown[2])
    assert admitted == [gid for gid in PROBE_GIDS if low <= gid <= high]
    assert f"{low}\t{high}" == stored
