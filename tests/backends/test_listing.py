"""``pingsock sockets``: the emulated sockets of every process, in /proc/net/icmp{,6} format,
side by side with the kernel's own rows (spec N; backends/listing.py)."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

import pingsock
from lab.netns import Netns
from lab.users import BASE_ENV, WORLD_PYTHON, User, pingsock_copy, python_as, setpriv_argv
from pingsock.backends import reserve
from pingsock.backends.base import PingSocket
from pingsock.backends.listing import inode_of, kernel_rows
from pingsock.backends.reserve import claim_ident
from pingsock.cli.sockets_main import USAGE, sockets_main
from pingsock.emulation.proc_table import (
    CLAIM_PREFIX,
    HEADER_V4,
    HEADER_V6,
    ST_CLOSE,
    ProcRow,
    parse_row,
    unix_names,
)

ECHO4 = b"\x08\x00\x00\x00\x00\x00\x00\x01"
ECHO6 = b"\x80\x00\x00\x00\x00\x00\x00\x01"
NOBODY_RAW = User(65534, 65534, ambient_caps=("net_raw",))


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = sockets_main(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


def listed(*argv: str) -> list[tuple[int, ProcRow, str]]:
    """``pingsock sockets argv`` in the calling thread's namespace: (sl, row, line) per row."""
    status, out, err = run_cli(*argv)
    assert status == 0 and err == ""
    lines = out.splitlines(keepends=True)
    assert lines[0] == (HEADER_V6 if "-6" in argv else HEADER_V4)
    return [(*parse_row(line), line) for line in lines[1:]]


def rows_by_inode(*argv: str) -> dict[int, ProcRow]:
    return {row.inode: row for _sl, row, _line in listed(*argv)}


def inode(sock: PingSocket) -> int:
    number = inode_of(sock)
    assert number == os.fstat(getattr(sock, "_raw", sock).fileno()).st_ino
    return number


def published() -> dict[str, int]:
    """pingsock's abstract names in the calling thread's namespace -> their inodes."""
    text = Path("/proc/thread-self/net/unix").read_text()
    return {name: number for number, name in unix_names(text)}


def test_claim_prefix_is_the_reserves() -> None:
    assert b"\0" + CLAIM_PREFIX.encode() == reserve._PREFIX


def test_usage() -> None:
    assert run_cli("--help") == (0, USAGE, "")
    status, out, err = run_cli("-x")
    assert (status, out) == (2, "")
    assert err.startswith("pingsock sockets: unknown argument '-x'\n")


# -- side by side with the kernel ------------------------------------------------------------

Step = tuple[Any, ...]
# Each scenario: the family, then the same steps on a kernel and on a raw socket. A port of
# "P" in a bind is an explicit ident, different for the two sockets so their rows differ.
SCENARIOS: dict[str, tuple[int, list[Step]]] = {
    "autobound by a send": (4, [("send", "127.0.0.1")]),
    "connected": (4, [("connect", ("127.0.0.1", 0xBEEF))]),
    "connected to port 0": (4, [("connect", ("127.0.0.1", 0))]),
    "bound to an address": (4, [("bind", ("127.0.0.2", 0))]),
    "bound to an ident": (4, [("bind", ("0.0.0.0", "P"))]),
    "bound, then connected": (4, [("bind", ("127.0.0.1", 0)), ("connect", ("127.0.0.3", 7))]),
    "connected, then disconnected": (4, [("connect", ("127.0.0.1", 7)), ("disconnect",)]),
    "reconnected": (4, [("connect", ("127.0.0.1", 7)), ("connect", ("127.0.0.2", 8))]),
    "bound to an address and ident, connected, disconnected": (
        4,
        [("bind", ("127.0.0.2", "P")), ("connect", ("127.0.0.1", 7)), ("disconnect",)],
    ),
    "bound to an ident, connected, disconnected": (
        4,
        [("bind", ("0.0.0.0", "P")), ("connect", ("127.0.0.1", 7)), ("disconnect",)],
    ),
    "v6 autobound by a send": (6, [("send", "::1")]),
    "v6 connected": (6, [("connect", ("::1", 0xBEEF, 0, 0))]),
    "v6 bound to an address": (6, [("bind", ("::1", 0, 0, 0))]),
    "v6 connected, then disconnected": (6, [("connect", ("::1", 7, 0, 0)), ("disconnect",)]),
}
# Scenarios where the emulated row is known to differ (none today).
KNOWN_DEVIATIONS: dict[str, str] = {}


def apply(sock: PingSocket, steps: Sequence[Step], explicit_ident: int) -> None:
    for step in steps:
        if step[0] == "send":
            echo = ECHO6 if sock.family == socket.AF_INET6 else ECHO4
            port_tail = (0, 0, 0) if sock.family == socket.AF_INET6 else (0,)
            sock.sendto(echo, (step[1], *port_tail))
        elif step[0] == "connect":
            sock.connect(step[1])
        elif step[0] == "bind":
            address = tuple(explicit_ident if part == "P" else part for part in step[1])
            sock.bind(address)
        else:
            sock.disconnect()


def comparable(row: ProcRow) -> tuple[object, ...]:
    # Not the ident, inode or pointer (the sockets differ), nor the queues (timing).
    return (row.local, row.remote, row.remote_port, row.state, row.uid, row.ref, row.drops)


@pytest.mark.parametrize(
    "scenario",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=KNOWN_DEVIATIONS[name], strict=True))
        if name in KNOWN_DEVIATIONS
        else name
        for name in SCENARIOS
    ],
)
def test_the_emulated_row_is_the_kernels_row(netns: Netns, scenario: str) -> None:
    version, steps = SCENARIOS[scenario]
    family = socket.AF_INET6 if version == 6 else socket.AF_INET
    args = ["--kernel", "-6"] if version == 6 else ["--kernel"]
    netns.set_ping_group_range(0, 0)
    with netns.entered():
        kernel = pingsock.socket(family, backend="kernel")
        raw = pingsock.socket(family, backend="raw")
        numbers = {inode(kernel), inode(raw)}
        try:
            apply(kernel, steps, 6001)
            apply(raw, steps, 6002)
            rows = rows_by_inode(*args)
            found = {name: rows.get(inode(sock)) for name, sock in (("k", kernel), ("r", raw))}
            for name, sock in (("k", kernel), ("r", raw)):
                ident = sock.getsockname()[1]
                row = found[name]
                if ident == 0:
                    assert row is None  # unhashed: not listed (N3)
                else:
                    assert row is not None
                    assert row.local_port == ident
            if found["k"] is not None and found["r"] is not None:
                assert comparable(found["r"]) == comparable(found["k"])
            assert (found["k"] is None) == (found["r"] is None)
        finally:
            kernel.close()
            raw.close()
        assert not numbers & set(rows_by_inode(*args))  # closed: gone from both tables


def test_a_closed_socket_is_no_longer_listed(netns: Netns) -> None:
    with netns.entered():
        sock = pingsock.socket(socket.AF_INET, backend="raw")
        sock.connect(("127.0.0.1", 9))
        number = inode(sock)
        assert number in rows_by_inode()
        sock.close()
        assert number not in rows_by_inode()
        assert not published()  # nothing left behind


# -- other processes and users ----------------------------------------------------------------

CHILD = """
import socket, sys
import pingsock
from pingsock.backends.listing import inode_of
sock = pingsock.socket(socket.AF_INET, backend="raw")
sock.connect(("127.0.0.1", 4242))
print(sock.getsockname()[1], inode_of(sock), flush=True)
sys.stdin.readline()
"""


def start_child(netns: Netns, user: User | None) -> tuple[subprocess.Popen[str], int, int]:
    env = {**BASE_ENV, "PYTHONPATH": str(pingsock_copy())}
    prefix = [] if user is None else setpriv_argv(user)
    proc = netns.popen(
        *prefix,
        WORLD_PYTHON,
        "-c",
        CHILD,
        env=env,
        cwd="/",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        _out, err = proc.communicate(timeout=10)
        pytest.fail(f"child failed: {err}")
    ident, number = (int(word) for word in line.split())
    return proc, ident, number


def test_sockets_of_other_processes_and_users_are_listed(netns: Netns) -> None:
    nobody, nobody_ident, nobody_inode = start_child(netns, NOBODY_RAW)
    root, root_ident, root_inode = start_child(netns, None)
    with netns.entered():
        rows = rows_by_inode()
    for number, ident, uid in ((nobody_inode, nobody_ident, 65534), (root_inode, root_ident, 0)):
        row = rows[number]
        assert (row.local_port, row.uid, row.state) == (ident, uid, 0x01)
        assert (str(row.local), str(row.remote), row.remote_port) == (
            "127.0.0.1",
            "127.0.0.1",
            4242,
        )
    assert nobody_ident != root_ident
    root.send_signal(signal.SIGKILL)  # the process dies: its row goes with it
    root.communicate(timeout=10)
    _out, err = nobody.communicate("\n", timeout=10)
    assert nobody.returncode == 0, err
    with netns.entered():
        rows = rows_by_inode()
    assert root_inode not in rows and nobody_inode not in rows


READER = """
import sys
from pingsock.cli.sockets_main import sockets_main
sys.exit(sockets_main(sys.argv[1:], sys.stdout, sys.stderr))
"""


def test_a_claim_without_a_row_is_listed_unconnected(netns: Netns) -> None:
    with netns.entered():
        claim = claim_ident(4321)
        assert claim is not None
        sock = pingsock.socket(socket.AF_INET, backend="raw")
        try:
            sock.bind(("0.0.0.0", 0))
            ident = sock.getsockname()[1]
            claim_inode = published()[f"{CLAIM_PREFIX}4321"]
            rows = [row for _sl, row, _line in listed()]
            by_ident = {row.local_port: row for row in rows}
            assert len(rows) == 2  # the socket's own claim is not listed on its own
            orphan = by_ident[4321]
            assert (str(orphan.local), str(orphan.remote), orphan.remote_port) == (
                "0.0.0.0",
                "0.0.0.0",
                0,
            )
            assert (orphan.state, orphan.uid, orphan.inode) == (ST_CLOSE, 0, claim_inode)
            assert by_ident[ident].inode == inode(sock)
            assert listed("-6") == []  # a claim has no family: listed once, as IPv4
            # A reader who may not look into our /proc/<pid>/fd: the raw socket's uid still
            # comes from /proc/net/raw; the claim's is the overflow uid.
            result = python_as(netns, User(65534, 65534), READER, timeout=20)
            assert result.returncode == 0, result.stderr
            seen = {
                row.local_port: row
                for row in (parse_row(line)[1] for line in result.stdout.splitlines()[1:])
            }
            assert (seen[ident].uid, seen[ident].inode) == (0, inode(sock))
            assert (seen[4321].uid, seen[4321].inode) == (65534, claim_inode)
        finally:
            sock.close()
            claim.release()


def test_kernel_rows_merged_and_the_icmp6_quirk_left_out(netns: Netns) -> None:
    netns.set_ping_group_range(0, 0)
    with netns.entered():
        k4 = pingsock.socket(socket.AF_INET, backend="kernel")
        k6 = pingsock.socket(socket.AF_INET6, backend="kernel")
        raw6 = pingsock.socket(socket.AF_INET6, backend="raw")
        raw4 = pingsock.socket(socket.AF_INET, backend="raw")
        try:
            # v4 first, then v6 on the same ident: the v4 socket sits behind the v6 one in the
            # bucket, and /proc/net/icmp6 lists it too (N5).
            k4.bind(("0.0.0.0", 7000))
            k6.bind(("::", 7000, 0, 0))
            raw6.connect(("::1", 9, 0, 0))
            raw4.connect(("127.0.0.1", 9))
            with open("/proc/thread-self/net/icmp6") as table:
                kernel_icmp6 = table.read()
            # Whether or not this kernel shows the quirk (6.18 does), the v4 socket is not in
            # the merged IPv6 table, and sl numbers the rows.
            quirk = f" {inode(k4)} " in kernel_icmp6
            merged = listed("-6", "--kernel")
            assert [sl for sl, _row, _line in merged] == list(range(len(merged)))
            assert {row.inode for _sl, row, _line in merged} == {inode(k6), inode(raw6)}, quirk
            assert inode(k4) not in {row.inode for row in kernel_rows(6)}
            # The kernel's own line is reproduced byte for byte but for sl.
            kernel_line = next(
                line for line in kernel_icmp6.splitlines(keepends=True) if f" {inode(k6)} " in line
            )
            ours = next(line for _sl, row, line in merged if row.inode == inode(k6))
            assert ours.split(":", 1)[1] == kernel_line.split(":", 1)[1]
            v4_rows = listed("--kernel")
            assert {row.inode for _sl, row, _line in v4_rows} == {inode(k4), inode(raw4)}
            assert [row.inode for _sl, row, _line in listed()] == [inode(raw4)]
        finally:
            for sock in (k4, k6, raw6, raw4):
                sock.close()


def test_published_only_in_the_sockets_own_namespace(
    netns_factory: Callable[[str], Netns],
) -> None:
    home, away = netns_factory("home"), netns_factory("away")
    with home.entered():
        sock = pingsock.socket(socket.AF_INET, backend="raw")
    try:
        with away.entered():
            sock.sendto(ECHO4, ("127.0.0.1", 0))  # autobinds from another namespace
            assert inode(sock) not in rows_by_inode()
        with home.entered():
            assert inode(sock) not in rows_by_inode()
            sock.sendto(ECHO4, ("127.0.0.1", 0))  # the next call from home publishes it
            row = rows_by_inode()[inode(sock)]
            assert row.local_port == sock.getsockname()[1]
    finally:
        sock.close()
