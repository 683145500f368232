"""Stress: threads racing connect and disconnect on one socket (LTP cve-2017-2671, spec P),
ident exhaustion (C9), and two raw-backend processes pinging a live and a silent range at once.

Every loop is bounded in count and time; every thread is joined with a timeout (a deadlock is a
failure, not a hang: the threads are daemons).
"""

from __future__ import annotations

import collections
import errno
import json
import resource
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pingsock
from lab.netns import Netns
from lab.topology import RoutedLab
from pingsock.backends.base import PingSocket
from pingsock.backends.listing import emulated_rows, inode_of, kernel_rows
from pingsock.emulation.idents import IDENT_SPACE, IdentAllocator, IdentsExhausted
from pingsock.emulation.proc_table import BEACON_PREFIX, CLAIM_PREFIX, ST_ESTABLISHED, unix_names

# -- the allocator alone (pure) --------------------------------------------------------------


def test_exhaustion_tries_every_ident_once_and_never_zero() -> None:
    allocator = IdentAllocator(12345)
    tried: list[int] = []

    def refuse(ident: int) -> bool:
        tried.append(ident)
        return False

    with pytest.raises(IdentsExhausted):
        allocator.allocate(refuse)
    assert sorted(tried) == list(range(1, IDENT_SPACE + 1))
    assert tried[0] == 12346 and tried[-1] == 12345  # from rover + 1, round to the rover


@given(st.integers(0, 0xFFFF), st.integers(1, 0xFFFF))
def test_the_last_free_ident_is_found_from_any_rover(start: int, free: int) -> None:
    allocator = IdentAllocator(start)
    assert allocator.allocate(lambda ident: ident == free) == free
    assert allocator.allocate(lambda _ident: True) == (free % 0xFFFF) + 1  # the rover moved


# -- threads racing connect and disconnect -------------------------------------------------------

RACE_SECONDS = 2.0
RACE_MAX_OPS = 100_000  # per thread
JOIN_TIMEOUT = 15.0
ECHO4 = b"\x08\x00\x00\x00\x00\x00\x00\x01pingsock-race"
# What the kernel's socket can answer in this race (C10, D2, E1 (6c), G4); nothing else.
KERNEL_ERRNOS = {
    "connect": set(),
    "disconnect": set(),
    "send": {errno.EDESTADDRREQ},  # not connected at that moment
    "sendto": set(),
    "recv": {errno.EAGAIN},
}
WORKERS = ("connect", "connect", "disconnect", "disconnect", "send", "sendto", "recv")
MIN_CALLS = 20  # per kind: the race did happen


def published(text: str) -> tuple[int, int]:
    names = [name for _inode, name in unix_names(text)]
    return (
        sum(name.startswith(CLAIM_PREFIX) for name in names),
        sum(name.startswith(BEACON_PREFIX) for name in names),
    )


@dataclass
class RaceResult:
    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    errors: collections.Counter[tuple[str, int]] = field(default_factory=collections.Counter)
    unexpected: list[BaseException] = field(default_factory=list)
    most_entries: int = 0  # the most table entries for the socket seen at one time


def race(netns: Netns, sock: PingSocket) -> RaceResult:
    """LTP cve-2017-2671's pattern, widened: connect, connect(AF_UNSPEC), send, sendto and
    recv from several threads at once, while a checker reads the namespace's tables."""
    deadline = time.monotonic() + RACE_SECONDS
    result = RaceResult()
    lock = threading.Lock()
    number = inode_of(sock)

    def operation(kind: str, i: int) -> None:
        if kind == "connect":
            sock.connect(("127.0.0.1", i & 0xFFFF))
        elif kind == "disconnect":
            sock.disconnect()
        elif kind == "send":
            sock.send(ECHO4)
        elif kind == "sendto":
            sock.sendto(ECHO4, ("127.0.0.1", 0))
        else:
            sock.recv(2048, socket.MSG_DONTWAIT)

    def entries() -> int:
        if sock.backend == "raw":  # its ident claims and its published rows
            return max(published(Path("/proc/thread-self/net/unix").read_text()))
        return sum(row.inode == number for row in kernel_rows(4))

    def worker(kind: str) -> None:
        try:
            with netns.entered():
                for i in range(RACE_MAX_OPS):
                    if time.monotonic() > deadline:
                        return
                    if kind == "checker":
                        seen = entries()
                        with lock:
                            result.most_entries = max(result.most_entries, seen)
                        continue
                    try:
                        operation(kind, i)
                    except OSError as exc:
                        with lock:
                            result.errors[(kind, exc.errno or 0)] += 1
                    with lock:
                        result.calls[kind] += 1
        except BaseException as exc:
            result.unexpected.append(exc)

    kinds = (*WORKERS, "checker")
    threads = [threading.Thread(target=worker, args=(kind,), daemon=True) for kind in kinds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not [thread for thread in threads if thread.is_alive()], "deadlock: threads stuck"
    return result


def ping_once(sock: PingSocket, ident: int) -> None:
    """A connected send and its reply. The race's replies are drained first: the receive
    buffer may be full of them, and a reply arriving then would be dropped."""
    for _ in range(100_000):
        try:
            sock.recv(2048, socket.MSG_DONTWAIT)
        except BlockingIOError:
            break
    sock.settimeout(2)
    sock.send(b"\x08\x00\x00\x00\x00\x00\x5e\xedafter the race")
    deadline = time.monotonic() + 5
    for _ in range(10_000):
        assert time.monotonic() < deadline, "no reply after the race"
        reply = sock.recv(2048)
        kind, _code, _sum, reply_ident, seq = struct.unpack("!BBHHH", reply[:8])
        if (kind, seq) == (0, 0x5EED):
            assert reply_ident == ident
            return
    pytest.fail("no reply after the race")


@pytest.mark.parametrize("backend", ["kernel", "raw"])
def test_connect_and_disconnect_race(netns: Netns, backend: str) -> None:
    netns.set_ping_group_range(0, 0)
    with netns.entered():
        sock = pingsock.socket(socket.AF_INET, backend=backend)  # type: ignore[arg-type]
    try:
        result = race(netns, sock)
        assert not result.unexpected, result.unexpected
        for (kind, code), _count in result.errors.items():
            assert code in KERNEL_ERRNOS[kind], (kind, errno.errorcode.get(code), result)
        assert all(result.calls[kind] >= MIN_CALLS for kind in WORKERS), result.calls
        assert result.most_entries <= 1  # one claim, one row: check-and-modify was atomic
        with netns.entered():
            # Consistent afterwards: disconnect is idempotent (CVE-2015-3636) and leaves
            # nothing behind; the socket works again.
            sock.disconnect()
            sock.disconnect()
            assert sock.getsockname() == ("0.0.0.0", 0)
            with pytest.raises(OSError) as info:
                sock.getpeername()
            assert info.value.errno == errno.ENOTCONN
            if backend == "raw":
                assert published(Path("/proc/thread-self/net/unix").read_text()) == (0, 0)
                assert emulated_rows(4) == []
            else:
                assert inode_of(sock) not in {row.inode for row in kernel_rows(4)}
            sock.connect(("127.0.0.1", 7))
            ident = sock.getsockname()[1]
            assert sock.getsockname() == ("127.0.0.1", ident) and ident != 0
            assert sock.getpeername() == ("127.0.0.1", 7)
            rows = emulated_rows(4) if backend == "raw" else kernel_rows(4)
            (row,) = [row for row in rows if row.inode == inode_of(sock)]
            assert (str(row.local), row.local_port, str(row.remote), row.remote_port) == (
                "127.0.0.1",
                ident,
                "127.0.0.1",
                7,
            )
            assert row.state == ST_ESTABLISHED
            ping_once(sock, ident)
    finally:
        sock.close()


# -- ident exhaustion -------------------------------------------------------------------------

# No process may hold 65535 descriptors here (RLIMIT_NOFILE's hard limit, which raising needs
# CAP_SYS_RESOURCE): holder processes share the ident space, as other processes would.
HOLDER = r"""
import resource, socket, sys
import pingsock
from pingsock.backends.reserve import claim_ident

mode, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
_soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
held = []
for ident in range(first, last + 1):
    if ident == int(sys.argv[4]):
        continue  # the prober's own
    if mode == "kernel":
        holder = pingsock.socket(socket.AF_INET, backend="kernel")
        holder.bind(("0.0.0.0", ident))
    else:
        holder = claim_ident(ident)
        assert holder is not None, ident
    held.append(holder)
print(len(held), flush=True)
sys.stdin.readline()
"""
PROBER = r"""
import json, socket, sys
import pingsock
from pingsock.backends.reserve import claim_ident

mode, last_free, plan = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
if mode == "kernel":
    mine = pingsock.socket(socket.AF_INET, backend="kernel")
    mine.bind(("0.0.0.0", last_free))
else:
    mine = claim_ident(last_free)
FAMILIES = {
    4: (socket.AF_INET, b"\x08\0\0\0\0\0\0\1", ("127.0.0.1", 0), ("0.0.0.0", 0)),
    6: (socket.AF_INET6, b"\x80\0\0\0\0\0\0\1", ("::1", 0, 0, 0), ("::", 0, 0, 0)),
}

def attempt(backend, version, op):
    family, echo, destination, wildcard = FAMILIES[version]
    sock = pingsock.socket(family, backend=backend)
    try:
        if op == "sendto":
            sock.sendto(echo, destination)
        elif op == "connect":
            sock.connect(destination)
        else:
            sock.bind(wildcard)
        code = 0
    except OSError as exc:
        code = exc.errno
    ident = sock.getsockname()[1]
    sock.close()
    return [code, ident]

results = {}
for backend, version, op in plan["full"]:
    results[f"{backend} v{version} {op}"] = attempt(backend, version, op)
mine.close() if mode == "kernel" else mine.release()
for backend in plan["freed"]:
    results[f"{backend} freed"] = attempt(backend, 4, "sendto")
print(json.dumps(results))
"""
LAST_FREE = 40000
SLICE = 16384  # idents per holder: 4 holders
# Each attempt with the space full costs seconds: the kernel walks all 65535 candidates through
# its hash chains, and the raw backend reads a 65535-row /proc/net/icmp (seq_file restarts its
# walk at each 4 KiB read: quadratic) or tries 65535 claims. So each operation is tried once
# per backend, on one family (v4 and v6 share the space, C3): the kernel's connect (its
# autobind is send's too, inet_autobind()) and bind, the raw backend's send, connect and bind;
# and the two namespaces run at the same time.
PLANS = {
    "kernel": {  # filled by kernel ping sockets: the kernel's errnos, and the raw backend's
        "full": [["kernel", 6, "connect"], ["kernel", 4, "bind"], ["raw", 4, "sendto"]],
        "freed": ["kernel"],
    },
    "claims": {  # filled by other processes' claims: the raw backend's other errnos
        "full": [["raw", 6, "connect"], ["raw", 4, "bind"]],
        # Not "freed": from a random rover that costs seconds of claim tries; the search
        # from any rover is test_the_last_free_ident_is_found_from_any_rover.
        "freed": [],
    },
}  # fmt: skip


def fill(netns: Netns, mode: str) -> list[subprocess.Popen[str]]:
    return [
        netns.popen(
            sys.executable,
            "-c",
            HOLDER,
            mode,
            str(first),
            str(min(first + SLICE - 1, 0xFFFF)),
            str(LAST_FREE),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for first in range(1, 0x10000, SLICE)
    ]


def wait_filled(holders: list[subprocess.Popen[str]]) -> None:
    held = 0
    for holder in holders:
        assert holder.stdout is not None
        line = holder.stdout.readline()
        assert line, holder.communicate(timeout=10)[1]
        held += int(line)
    assert held == IDENT_SPACE - 1  # all but LAST_FREE, which the prober holds


def test_ident_exhaustion(netns_factory: Callable[[str], Netns]) -> None:
    """C9 with every ident held, by kernel ping sockets in one namespace and by pingsock
    claims (other raw-backend processes) in another: autobind by sendto or connect fails with
    EAGAIN, bind(port 0) with EADDRINUSE, and the socket stays unbound; the raw backend skips
    the kernel's idents too; the one ident freed is found again."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < SLICE + 256:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {SLICE + 256}")
    spaces = {mode: netns_factory(mode) for mode in PLANS}
    spaces["kernel"].set_ping_group_range(0, 0)
    holders = {mode: fill(netns, mode) for mode, netns in spaces.items()}
    try:
        for mode in PLANS:
            wait_filled(holders[mode])
        probers = {
            mode: spaces[mode].popen(
                sys.executable,
                "-c",
                PROBER,
                mode,
                str(LAST_FREE),
                json.dumps(PLANS[mode]),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for mode in PLANS
        }
        results: dict[str, list[int]] = {}
        for mode, prober in probers.items():
            out, err = prober.communicate(timeout=90)
            assert prober.returncode == 0, err
            results.update({f"{mode}: {key}": value for key, value in json.loads(out).items()})
    finally:
        for group in holders.values():
            for holder in group:
                if holder.poll() is None:
                    holder.communicate("\n", timeout=30)
    expected = {}
    for mode, plan in PLANS.items():
        for backend, version, op in plan["full"]:
            code = errno.EADDRINUSE if op == "bind" else errno.EAGAIN
            expected[f"{mode}: {backend} v{version} {op}"] = [code, 0]
        for backend in plan["freed"]:
            expected[f"{mode}: {backend} freed"] = [0, LAST_FREE]
    assert results == expected


# -- a live and a silent range, two processes at once --------------------------------------------

PINGER = r"""
import json, socket, struct, sys, time
import pingsock

targets, rounds, linger, expect_all = json.loads(sys.argv[1])
socks = {}
for version, family, wildcard in ((4, socket.AF_INET, ("0.0.0.0", 0)),
                                  (6, socket.AF_INET6, ("::", 0, 0, 0))):
    socks[version] = pingsock.socket(family, backend="raw")
    socks[version].bind(wildcard)
print(json.dumps({v: s.getsockname()[1] for v, s in socks.items()}), flush=True)
sys.stdin.readline()
sent, received = [], []

def drain():
    for version, sock in socks.items():
        for _ in range(10000):
            try:
                data, address = sock.recvfrom(65535, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            kind, code, _sum, ident, seq = struct.unpack("!BBHHH", data[:8])
            received.append([version, address[0], kind, code, ident, seq])

seq = 0
for _ in range(rounds):
    for version, sock in socks.items():
        for target in targets[str(version)]:
            seq += 1
            echo = struct.pack("!BBHHH", 8 if version == 4 else 128, 0, 0, 0, seq) + b"stress"
            sock.sendto(echo, (target, 0) if version == 4 else (target, 0, 0, 0))
            sent.append([version, target, seq])
    drain()
    time.sleep(0.002)
deadline = time.monotonic() + linger
while time.monotonic() < deadline and not (expect_all and len(received) >= len(sent)):
    drain()
    time.sleep(0.01)
time.sleep(0.1)
drain()  # anything late, duplicates included
print(json.dumps({"sent": sent, "received": received}), flush=True)
"""
ROUNDS = 50
LIVE = {
    "4": [f"203.0.113.{host}" for host in range(1, 9)],
    "6": [f"2001:db8:2::{host}" for host in range(1, 9)],
}
SILENT = {  # blackholed by the router: no reply, no error
    "4": [f"192.0.2.{host}" for host in range(65, 73)],
    "6": [f"2001:db8:f:1::{host}" for host in range(1, 9)],
}


def start_pinger(
    lab: RoutedLab, targets: dict[str, list[str]], *, linger: float, expect_all: bool
) -> tuple[subprocess.Popen[str], dict[str, int]]:
    config = json.dumps([targets, ROUNDS, linger, expect_all])
    proc = lab.client.popen(
        sys.executable,
        "-c",
        PINGER,
        config,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        _out, err = proc.communicate(timeout=10)
        pytest.fail(f"pinger failed: {err}")
    idents: dict[str, int] = json.loads(line)
    return proc, idents


def finish(proc: subprocess.Popen[str]) -> dict[str, list[list[object]]]:
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    report: dict[str, list[list[object]]] = json.loads(out)
    return report


def test_a_silent_and_a_live_range_pinged_at_once(routed_lab: RoutedLab) -> None:
    lab = routed_lab
    lab.server.ip_batch(
        [f"addr add {a}/24 dev s0" for a in LIVE["4"][1:]]
        + [f"addr add {a}/64 dev s0 nodad" for a in LIVE["6"][1:]]
    )
    lab.router.ip_batch(
        ["route add blackhole 192.0.2.64/26", "route add blackhole 2001:db8:f:1::/64"]
    )
    live, live_idents = start_pinger(lab, LIVE, linger=5.0, expect_all=True)
    silent, silent_idents = start_pinger(lab, SILENT, linger=1.5, expect_all=False)
    try:
        # Four sockets in two processes share one ident space (C3): four idents.
        idents = [*live_idents.values(), *silent_idents.values()]
        assert len(set(idents)) == 4
        # `pingsock sockets` in the namespace lists both processes' sockets.
        with lab.client.entered():
            for version in ("4", "6"):
                listed = {row.local_port: row for row in emulated_rows(int(version))}
                for ident in (live_idents[version], silent_idents[version]):
                    assert listed[ident].uid == 0
        for proc in (live, silent):
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        live_report, silent_report = finish(live), finish(silent)
    finally:
        for proc in (live, silent):
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
    assert silent_report["received"] == []
    assert len(silent_report["sent"]) == ROUNDS * 16
    sent = sorted((v, target, seq) for v, target, seq in live_report["sent"])
    assert len(sent) == ROUNDS * 16
    replies = live_report["received"]
    for version, _source, kind, code, ident, _seq in replies:
        assert (kind, code) == ((0, 0) if version == 4 else (129, 0))
        assert ident == live_idents[str(version)]
    assert sorted((v, source, seq) for v, source, _k, _c, _i, seq in replies) == sent
