"""Tests of the broadcast lab (``lab.bridge``) against the real kernel (root and ``ip netns``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab.bridge import (
    BRIDGE_BROADCAST,
    BRIDGE_CLIENT,
    BRIDGE_HOSTS,
    BRIDGE_MULTICAST,
    BridgeLab,
    build_bridge_lab,
    mac_of,
)
from lab.netns import NETNS_DIR
from lab.probe import IcmpMessage, RawPinger

pytestmark = pytest.mark.netns

TESTS_DIR = Path(__file__).resolve().parent

IGNORE_BROADCASTS = "net.ipv4.icmp_echo_ignore_broadcasts"


def _ask(lab: BridgeLab, dst: str, *, seqs: tuple[int, ...], expect: int) -> list[IcmpMessage]:
    """One probe per sequence number from the client, each answered before the next."""
    got: list[IcmpMessage] = []
    with RawPinger(lab.client, dst) as pinger:
        pinger.tx.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        for seq in seqs:
            pinger.send(seq, b"bridge")
            got += pinger.receive(timeout=1.0, count=expect)
    return got


def test_wiring(bridge_lab: BridgeLab) -> None:
    lab = bridge_lab
    assert lab.client.read_sysctl(IGNORE_BROADCASTS) == "1"
    assert [host.read_sysctl(IGNORE_BROADCASTS) for host in lab.hosts] == ["0", "0", "0"]
    assert {(a.ifname, a.ip, a.prefixlen) for a in lab.client.addresses if a.version == 4} == {
        ("lo", "127.0.0.1", 8),
        ("c0", BRIDGE_CLIENT, 24),
    }
    for host, addr in zip(lab.hosts, BRIDGE_HOSTS, strict=True):
        assert addr in {a.ip for a in host.addresses}
        mac = host.run("cat", "/sys/class/net/h0/address").stdout.strip()
        assert mac == mac_of(addr)
    ports = lab.bridge.ip("-o", "link", "show", "master", "br0")
    assert sorted(line.split(":")[1].strip().split("@")[0] for line in ports.splitlines()) == [
        "p0",
        "p1",
        "p2",
        "p3",
    ]


def test_broadcast_is_answered_by_every_host_in_a_fixed_order(bridge_lab: BridgeLab) -> None:
    got = _ask(bridge_lab, BRIDGE_BROADCAST, seqs=(1, 2, 3), expect=3)
    assert [(m.seq, m.src, m.is_reply, m.checksum_ok) for m in got] == [
        (seq, src, True, True) for seq in (1, 2, 3) for src in reversed(BRIDGE_HOSTS)
    ]


def test_multicast_and_the_clients_own_answer(bridge_lab: BridgeLab) -> None:
    hosts = list(reversed(BRIDGE_HOSTS))
    assert [m.src for m in _ask(bridge_lab, BRIDGE_MULTICAST, seqs=(1,), expect=3)] == hosts
    bridge_lab.answer_own_broadcasts()
    got = _ask(bridge_lab, BRIDGE_MULTICAST, seqs=(2,), expect=4)
    assert [m.src for m in got] == [BRIDGE_CLIENT, *hosts]
    bridge_lab.answer_own_broadcasts(False)
    assert [m.src for m in _ask(bridge_lab, BRIDGE_MULTICAST, seqs=(3,), expect=4)] == hosts


def test_delete_removes_every_namespace() -> None:
    lab = build_bridge_lab()
    names = [ns.name for ns in lab.namespaces()]
    try:
        assert len(names) == 5 and all((NETNS_DIR / name).exists() for name in names)
        assert [name.rsplit("-", 1)[1] for name in names] == [
            "client",
            "bridge",
            "host10",
            "host11",
            "host12",
        ]
    finally:
        lab.delete()
    assert not any((NETNS_DIR / name).exists() for name in names)
    lab.delete()  # idempotent


def test_deleted_after_a_failing_test(tmp_path: Path) -> None:
    out = tmp_path / "names"
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            def test_fails(bridge_lab):
                Path({str(out)!r}).write_text(" ".join(n.name for n in bridge_lab.namespaces()))
                assert False, "deliberate"
            """
        )
    )
    argv = [
        sys.executable, "-m", "pytest", "-q", "-p", "lab.plugin", "-p", "no:cacheprovider",
        "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
        str(tmp_path / "test_inner.py"),
    ]  # fmt: skip
    proc = subprocess.run(
        argv,
        env={**os.environ, "PYTHONPATH": str(TESTS_DIR)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "deliberate" in proc.stdout
    names = out.read_text().split()
    assert len(names) == 5
    assert not any((NETNS_DIR / name).exists() for name in names)
