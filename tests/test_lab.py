"""Tests of the test lab itself, against the real kernel (root and ``ip netns`` needed)."""

from __future__ import annotations

import errno
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lab.netns import NETNS_DIR, Netns, create_netns, sweep_stale
from lab.probe import IcmpMessage, RawPinger, checksum, ping_once
from lab.responder import Behaviour, Responder, ResponderLab, build_responder_lab
from lab.sniffer import Packet, Sniffer, sniff
from lab.topology import RoutedLab
from lab.users import (
    NOBODY,
    WORLD_PYTHON,
    User,
    pingsock_argv,
    pingsock_copy,
    python_as,
    run_as,
)

pytestmark = pytest.mark.netns

TESTS_DIR = Path(__file__).resolve().parent
HOST_PING_RANGE = Path("/proc/sys/net/ipv4/ping_group_range")
CAP_NET_RAW = 1 << 13
IP_RECVERR = 11
SO_EE_ORIGIN_ICMP = 2
_EXTENDED_ERR = struct.Struct("=IBBBBII")  # struct sock_extended_err


def _exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def _net_ns_inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def _caps(status: str) -> dict[str, int]:
    return {
        line.split(":")[0]: int(line.split()[1], 16)
        for line in status.splitlines()
        if line.startswith("Cap")
    }


# -- namespaces: creation, deletion, sweep ----------------------------------------------------


def test_create_and_delete() -> None:
    ns = create_netns("unit")
    try:
        assert ns.name.startswith(f"psk-{os.getpid()}-") and ns.name.endswith("-unit")
        assert _exists(ns.name)
        assert ns.read_sysctl("net.ipv4.ping_group_range").split() == ["1", "0"]
        assert ns.run("cat", "/sys/class/net/lo/operstate").stdout.strip() == "unknown"
        assert {a.ip for a in ns.addresses} == {"127.0.0.1", "::1"}
        assert ns.ifindex("lo") == 1
    finally:
        ns.delete()
    assert not _exists(ns.name)
    ns.delete()  # idempotent


def test_delete_kills_processes_inside(netns: Netns) -> None:
    sleeper = netns.popen("sleep", "30")
    other = subprocess.Popen(netns.exec_argv("sleep", "30"), stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not {sleeper.pid, other.pid} <= set(netns.pids()):
            assert time.monotonic() < deadline, "ip netns exec did not enter the namespace"
            time.sleep(0.01)
        netns.delete()
        assert other.wait(timeout=5) == -signal.SIGKILL
        assert sleeper.poll() is not None
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()


def _inner_pytest(tmp_path: Path, body: str) -> list[str]:
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(body))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return [
        sys.executable, "-m", "pytest", "-q", "-p", "lab.plugin", "-p", "no:cacheprovider",
        "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
        str(tmp_path / "test_inner.py"),
    ]  # fmt: skip


def _inner_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(TESTS_DIR)}


def test_namespace_deleted_after_failing_test(tmp_path: Path) -> None:
    out = tmp_path / "name"
    argv = _inner_pytest(
        tmp_path,
        f"""
        from pathlib import Path
        def test_fails(netns, routed_lab, responder_lab):
            names = [netns.name, routed_lab.server.name, responder_lab.host.name]
            Path({str(out)!r}).write_text(" ".join(names))
            assert False, "deliberate"
        """,
    )
    proc = subprocess.run(
        argv, env=_inner_env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "deliberate" in proc.stdout
    names = out.read_text().split()
    assert len(names) == 3
    assert not any(_exists(n) for n in names)


def test_sigterm_runs_finalizers(tmp_path: Path) -> None:
    out = tmp_path / "name"
    argv = _inner_pytest(
        tmp_path,
        f"""
        import time
        from pathlib import Path
        def test_hangs(netns):
            Path({str(out)!r}).write_text(netns.name)
            time.sleep(30)
        """,
    )
    proc = subprocess.Popen(argv, env=_inner_env(), stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not out.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        name = out.read_text()
        assert _exists(name)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
        assert not _exists(name)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_sweep_removes_namespaces_of_killed_run(tmp_path: Path) -> None:
    script = tmp_path / "orphan.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import subprocess, sys, time
            sys.path.insert(0, {str(TESTS_DIR)!r})
            from lab.netns import create_netns
            ns = create_netns("orphan")
            child = ns.popen("sleep", "30", stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 5
            while child.pid not in ns.pids() and time.monotonic() < deadline:
                time.sleep(0.01)  # until "ip netns exec" has entered the namespace
            print(ns.name, child.pid, flush=True)
            time.sleep(30)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        name, child = proc.stdout.readline().split()
    finally:
        proc.kill()  # SIGKILL: no finalizer, no atexit
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert _exists(name)
    assert name in sweep_stale()
    assert not _exists(name)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # reaped by init once killed
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text()


def test_sweep_leaves_live_runs_alone(netns: Netns) -> None:
    assert netns.name not in sweep_stale()
    assert _exists(netns.name)


# -- in-process entry, sysctls -------------------------------------------------------------


def test_entered_moves_the_thread_back(netns: Netns) -> None:
    home = _net_ns_inode()
    with netns.entered():
        assert _net_ns_inode() == os.stat(netns.path).st_ino
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    assert _net_ns_inode() == home
    with pytest.raises(RuntimeError), netns.entered():
        raise RuntimeError("inside")
    assert _net_ns_inode() == home
    # The socket stayed in the namespace: an address that exists only there can be bound.
    netns.ip("addr", "add", "203.0.113.77/32", "dev", "lo")
    with sock:
        sock.bind(("203.0.113.77", 0))


def test_ping_group_range_is_per_namespace(netns_factory: Callable[[str], Netns]) -> None:
    host_before = HOST_PING_RANGE.read_text()
    a, b = netns_factory("a"), netns_factory("b")
    a.set_ping_group_range(65534, 65534)
    assert a.read_sysctl("net.ipv4.ping_group_range") == "65534\t65534"
    assert b.read_sysctl("net/ipv4/ping_group_range") == "1\t0"
    assert HOST_PING_RANGE.read_text() == host_before
    with pytest.raises(OSError) as info:
        a.sysctl("net.ipv4.ping_group_range", "0 4294967295")  # spec B3
    assert info.value.errno == errno.EINVAL


# -- users and capabilities ------------------------------------------------------------------

_PING_CODE = """
import errno, socket
for fam, proto, dst in ((socket.AF_INET, socket.IPPROTO_ICMP, "127.0.0.1"),
                        (socket.AF_INET6, socket.IPPROTO_ICMPV6, "::1")):
    try:
        s = socket.socket(fam, socket.SOCK_DGRAM, proto)
    except OSError as e:
        print(errno.errorcode[e.errno]); continue
    s.settimeout(2)
    s.sendto(bytes([8 if fam == socket.AF_INET else 128]) + bytes(7) + b"lab", (dst, 0))
    reply = s.recv(100)
    print("ok", reply[0], reply[8:])
"""


def test_ping_socket_as_nobody_follows_the_range(netns: Netns) -> None:
    denied = python_as(netns, NOBODY, _PING_CODE, timeout=10)
    assert denied.stdout.split() == ["EACCES", "EACCES"], denied.stderr
    netns.set_ping_group_range(65534, 65534)
    allowed = python_as(netns, NOBODY, _PING_CODE, timeout=10)
    assert allowed.stdout.splitlines() == ["ok 0 b'lab'", "ok 129 b'lab'"], allowed.stderr
    # Spec A1: a supplementary group in the range is enough.
    grouped = python_as(netns, User(1000, 1000, groups=(65534,)), _PING_CODE, timeout=10)
    assert grouped.stdout.splitlines()[0] == "ok 0 b'lab'", grouped.stderr


def test_no_caps_means_none(netns: Netns) -> None:
    for user in (NOBODY, User(0, 0)):
        proc = run_as(netns, user, ["cat", "/proc/self/status"], timeout=10, check=True)
        assert set(_caps(proc.stdout).values()) == {0}, proc.stdout
    raw = python_as(
        netns, NOBODY, "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)",
        timeout=10,
    )  # fmt: skip
    assert "PermissionError" in raw.stderr  # spec A4: EPERM


def test_ambient_net_raw(netns: Netns) -> None:
    user = User(65534, 65534, ambient_caps=("net_raw",))
    proc = run_as(netns, user, ["cat", "/proc/self/status"], timeout=10, check=True)
    caps = _caps(proc.stdout)
    assert caps["CapEff"] == caps["CapPrm"] == caps["CapAmb"] == CAP_NET_RAW
    assert caps["CapBnd"] == CAP_NET_RAW
    code = "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, 1); print('ok')"
    raw = python_as(netns, user, code, timeout=10)
    assert raw.stdout.strip() == "ok", raw.stderr


def test_ids_and_pingsock_copy(netns: Netns) -> None:
    user = User(150, 151, groups=(7, 8), egid=65534)
    code = "import os, pingsock; print(os.getuid(), os.getgid(), os.getegid(), os.getgroups())"
    proc = python_as(netns, user, code, timeout=10)
    assert proc.stdout.strip().split(maxsplit=3) == ["150", "151", "65534", "[7, 8]"], proc.stderr
    assert pingsock_argv() == [WORLD_PYTHON, "-m", "pingsock"]
    copy = pingsock_copy()
    assert copy.stat().st_mode & 0o005 == 0o005
    assert (copy / "pingsock" / "wire" / "checksum.py").stat().st_mode & 0o004


# -- the routed lab ----------------------------------------------------------------------------


@pytest.mark.parametrize("family", [4, 6])
def test_routed_lab_reaches_server(routed_lab: RoutedLab, family: int) -> None:
    dst = routed_lab.server_v4 if family == 4 else routed_lab.server_v6
    reply = ping_once(routed_lab.client, dst)
    assert reply is not None and reply.is_reply and reply.src == dst and reply.checksum_ok


@pytest.mark.parametrize(
    ("dst", "expected"),
    [
        ("v4_unreachable", (3, 1)),
        ("v4_prohibit", (3, 13)),
        ("v4_blackhole", None),
        ("v6_unreachable", (1, 0)),
        ("v6_prohibit", (1, 1)),
        ("v6_blackhole", None),
    ],
)
def test_router_routes(routed_lab: RoutedLab, dst: str, expected: tuple[int, int] | None) -> None:
    addr = getattr(routed_lab, dst)
    got = ping_once(routed_lab.client, addr, timeout=0.3 if expected is None else 2)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert (got.type, got.code) == expected
        assert got.src == (routed_lab.router_v4 if dst.startswith("v4") else routed_lab.router_v6)


def test_route_error_via_ping_socket_recverr(routed_lab: RoutedLab) -> None:
    client = routed_lab.client
    client.set_ping_group_range(0, 0)
    with client.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP) as sock:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        sock.sendto(b"\x08\0\0\0\0\0\0\x01lab", (routed_lab.v4_unreachable, 0))
        deadline = time.monotonic() + 2
        while True:
            try:
                _, anc, _, _ = sock.recvmsg(100, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
                break
            except BlockingIOError:
                assert time.monotonic() < deadline, "no error queued"
                time.sleep(0.01)
    (level, kind, data) = anc[0]
    assert (level, kind) == (socket.IPPROTO_IP, IP_RECVERR)
    ee_errno, origin, ee_type, ee_code, _, _, _ = _EXTENDED_ERR.unpack(data[:16])
    assert (ee_errno, origin, ee_type, ee_code) == (errno.EHOSTUNREACH, SO_EE_ORIGIN_ICMP, 3, 1)
    assert socket.inet_ntoa(data[20:24]) == routed_lab.router_v4  # the offender


@pytest.mark.parametrize("family", [4, 6])
def test_ttl_one_gives_time_exceeded(routed_lab: RoutedLab, family: int) -> None:
    dst = routed_lab.server_v4 if family == 4 else routed_lab.server_v6
    got = ping_once(routed_lab.client, dst, ttl=1)
    assert got is not None
    assert (got.type, got.code) == ((11, 0) if family == 4 else (3, 0))
    assert got.src == (routed_lab.router_v4 if family == 4 else routed_lab.router_v6)


def test_server_reject(routed_lab: RoutedLab) -> None:
    lab = routed_lab
    lab.server.reject_echo("port-unreachable")
    for dst, expected in ((lab.server_v4, (3, 3)), (lab.server_v6, (1, 4))):
        got = ping_once(lab.client, dst)
        assert got is not None and (got.type, got.code) == expected and got.src == dst
    lab.server.reject_echo("host-prohibited", family=4)
    lab.server.reject_echo("admin-prohibited", family=6)
    for dst, expected in ((lab.server_v4, (3, 10)), (lab.server_v6, (1, 1))):
        got = ping_once(lab.client, dst)
        assert got is not None and (got.type, got.code) == expected
    lab.server.clear_rejects()
    got = ping_once(lab.client, lab.server_v4)
    assert got is not None and got.is_reply


@pytest.mark.parametrize("family", [4, 6])
def test_small_mtu_link(routed_lab: RoutedLab, family: int) -> None:
    routed_lab.set_server_link_mtu(1280)
    dst = routed_lab.server_v4 if family == 4 else routed_lab.server_v6
    got = ping_once(routed_lab.client, dst, payload=bytes(1400))
    assert got is not None
    assert (got.type, got.code) == ((3, 4) if family == 4 else (2, 0))
    assert struct.unpack("!I", got.data[4:8])[0] & 0xFFFF == 1280  # next-hop MTU
    assert ping_once(routed_lab.client, dst, payload=bytes(1000)) is not None


# -- the responder -----------------------------------------------------------------------------


def _ask(
    lab: ResponderLab,
    family: int,
    *,
    seqs: tuple[int, ...] = (1, 2, 3),
    payload: bytes = b"abcdefgh",
    wait: float = 0.3,
    count: int | None = None,
) -> tuple[float, list[IcmpMessage]]:
    """Send echo requests for ``seqs`` to the responder; (send time, everything about them)."""
    dst = lab.responder_v4 if family == 4 else lab.responder_v6
    with RawPinger(lab.client, dst) as pinger:
        start = time.monotonic()
        for seq in seqs:
            pinger.send(seq, payload)
        return start, pinger.receive(timeout=wait, count=count)


FAMILIES = pytest.mark.parametrize("family", [4, 6])


@FAMILIES
def test_responder_answers_instead_of_kernel(responder_lab: ResponderLab, family: int) -> None:
    lab = responder_lab
    key = "net.ipv4.icmp_echo_ignore_all" if family == 4 else "net.ipv6.icmp.echo_ignore_all"
    assert lab.host.read_sysctl(key) == "1"
    _, got = _ask(lab, family, count=3)
    src = lab.responder_v4 if family == 4 else lab.responder_v6
    assert [(m.seq, m.src, m.is_reply, m.checksum_ok, m.payload) for m in got] == [
        (seq, src, True, True, b"abcdefgh") for seq in (1, 2, 3)
    ]
    seen = lab.responder.wait_requests(3)
    assert [(s.family, s.src, s.dst, s.ident, s.seq, s.action) for s in seen] == [
        (family, lab.client_v4 if family == 4 else lab.client_v6, src, got[0].ident, seq, "reply")
        for seq in (1, 2, 3)
    ]
    lab.responder.configure(drop_all=True)
    assert _ask(lab, family, wait=0.2)[1] == []  # and the kernel does not answer either
    assert [s.action for s in lab.responder.wait_requests(6)[3:]] == ["drop"] * 3


@FAMILIES
def test_responder_delay(responder_lab: ResponderLab, family: int) -> None:
    responder_lab.responder.configure(delay_ms=150)
    start, got = _ask(responder_lab, family, wait=1.0, count=3)
    assert len(got) == 3
    assert all(0.15 <= m.t - start < 0.6 for m in got), [m.t - start for m in got]


@pytest.mark.parametrize(
    ("conf", "seqs", "answered"),
    [
        ({"drop_seqs": {2, 4}}, (1, 2, 3, 4, 5), [1, 3, 5]),
        ({"drop_every": 2}, (1, 2, 3, 4, 5), [1, 3, 5]),
        ({"drop_every": 3}, (7, 8, 9, 10), [7, 8, 10]),
        ({"drop_all": True}, (1, 2), []),
    ],
)
@FAMILIES
def test_responder_drops(
    responder_lab: ResponderLab,
    family: int,
    conf: dict[str, Any],
    seqs: tuple[int, ...],
    answered: list[int],
) -> None:
    responder_lab.responder.configure(**conf)
    _, got = _ask(responder_lab, family, seqs=seqs, wait=0.2)
    assert sorted(m.seq for m in got) == answered


@FAMILIES
def test_responder_duplicates(responder_lab: ResponderLab, family: int) -> None:
    responder_lab.responder.configure(duplicates=2)
    _, got = _ask(responder_lab, family, seqs=(1, 2), wait=0.3)
    assert sorted(m.seq for m in got) == [1, 1, 1, 2, 2, 2]


@FAMILIES
def test_responder_corrupt_checksum(responder_lab: ResponderLab, family: int) -> None:
    responder_lab.responder.configure(corrupt="checksum")
    _, got = _ask(responder_lab, family, count=3)
    assert [m.checksum_ok for m in got] == [False] * 3
    assert all(m.payload == b"abcdefgh" for m in got)


@FAMILIES
def test_responder_corrupt_payload(responder_lab: ResponderLab, family: int) -> None:
    responder_lab.responder.configure(corrupt="payload")
    _, got = _ask(responder_lab, family, count=3)
    assert [(m.checksum_ok, m.payload) for m in got] == [(True, b"abcdefg\x97")] * 3


@FAMILIES
def test_responder_truncate(responder_lab: ResponderLab, family: int) -> None:
    responder_lab.responder.configure(truncate=3)
    _, got = _ask(responder_lab, family, count=3)
    assert [(m.checksum_ok, m.payload) for m in got] == [(True, b"abcde")] * 3


@FAMILIES
def test_responder_from_alt(responder_lab: ResponderLab, family: int) -> None:
    lab = responder_lab
    lab.responder.configure(from_alt=True)
    _, got = _ask(lab, family, count=3)
    alt = lab.alt_v4 if family == 4 else lab.alt_v6
    assert [(m.src, m.is_reply) for m in got] == [(alt, True)] * 3


@FAMILIES
def test_responder_error_quotes_request(responder_lab: ResponderLab, family: int) -> None:
    lab = responder_lab
    lab.responder.configure(error=(3, 1), error_v6=(1, 3))
    _, got = _ask(lab, family, seqs=(5,), count=1, payload=bytes(2000))
    assert len(got) == 1
    msg = got[0]
    assert (msg.type, msg.code) == ((3, 1) if family == 4 else (1, 3))
    assert msg.checksum_ok and msg.seq == 5
    quote = msg.data[8:]
    if family == 4:
        assert len(msg.data) == 576 - 20  # RFC 1812: the error datagram is 576 bytes
        assert socket.inet_ntoa(quote[12:16]) == lab.client_v4
        assert socket.inet_ntoa(quote[16:20]) == lab.responder_v4
    else:
        assert len(msg.data) == 1280 - 40  # RFC 4443: fits the minimum MTU
        assert socket.inet_ntop(socket.AF_INET6, quote[8:24]) == lab.client_v6
        assert socket.inet_ntop(socket.AF_INET6, quote[24:40]) == lab.responder_v6
        assert struct.unpack("!H", quote[4:6])[0] == 8 + 2000  # payload length of the request
    assert [s.action for s in lab.responder.wait_requests(1)] == ["error"]


def test_responder_reconfigure_and_reset(responder_lab: ResponderLab) -> None:
    responder = responder_lab.responder
    responder.configure(drop_all=True)
    assert _ask(responder_lab, 4, wait=0.2)[1] == []
    responder.reset()
    assert len(_ask(responder_lab, 4, count=3)[1]) == 3
    with pytest.raises(TypeError):
        responder.configure(Behaviour(), delay_ms=1)


def test_responder_is_bounded(netns: Netns) -> None:
    netns.sysctl("net.ipv4.icmp_echo_ignore_all", "1")
    responder = Responder(netns, lifetime=0.5)
    responder.start()
    try:
        assert responder.alive
        assert responder.proc is not None
        assert responder.proc.wait(timeout=5) == 0  # exits by itself
    finally:
        responder.stop()
    lab = build_responder_lab()
    proc = lab.responder.proc
    lab.delete()
    assert proc is not None and proc.poll() is not None  # killed at teardown


# -- the sniffer ---------------------------------------------------------------------------------


def _is_request(family: int) -> Callable[[Packet], bool]:
    return lambda p: p.is_icmp and len(p.l4) >= 8 and p.l4[0] == (8 if family == 4 else 128)


@FAMILIES
def test_sniffer_sees_echo_request(routed_lab: RoutedLab, family: int) -> None:
    lab = routed_lab
    dst = lab.server_v4 if family == 4 else lab.server_v6
    with RawPinger(lab.client, dst) as pinger, Sniffer(lab.client, "c0") as sniffer:
        pinger.send(9, b"sniffed")
        packets = sniffer.collect(timeout=2, count=1, match=_is_request(family))
    assert len(packets) == 1
    pkt = packets[0]
    assert pkt.outgoing and pkt.family == family and pkt.dst == dst
    assert struct.unpack("!HH", pkt.l4[4:8]) == (pinger.ident, 9)
    assert pkt.l4[8:] == b"sniffed"
    if family == 4:
        assert checksum(pkt.l4) == 0 and checksum(pkt.data[:20]) == 0
    else:
        pseudo = pkt.data[8:40] + struct.pack("!I3xB", len(pkt.l4), 58)
        assert checksum(pseudo + pkt.l4) == 0


def test_sniffer_on_loopback_sees_each_packet_twice(netns: Netns) -> None:
    packets = sniff(
        netns, "lo", lambda: ping_once(netns, "127.0.0.1"), timeout=1, count=2,
        match=_is_request(4),
    )  # fmt: skip
    assert sorted(p.outgoing for p in packets) == [False, True]
    assert packets[0].data == packets[1].data
