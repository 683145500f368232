"""Idents claimed across processes and seen from the kernel's table (raw backend)."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

import pingsock
from lab.netns import Netns
from pingsock.backends.reserve import claim_ident, kernel_held_idents

pytestmark = pytest.mark.netns

PROBE = """
import sys
from pingsock.backends.reserve import claim_ident
claim = claim_ident(int(sys.argv[1]))
print("free" if claim is not None else "held")
"""


def other_process_sees(ns: Netns, ident: int) -> str:
    result = subprocess.run(
        ns.exec_argv(sys.executable, "-c", PROBE, str(ident)),
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    return result.stdout.strip()


def test_a_raw_socket_ident_is_held_for_other_processes(netns: Netns) -> None:
    with netns.entered():
        sock = pingsock.socket(socket.AF_INET, backend="raw")
        sock.sendto(b"\x08\x00\x00\x00\x00\x00\x00\x01", ("127.0.0.1", 0))
        ident = sock.getsockname()[1]
    try:
        assert other_process_sees(netns, ident) == "held"
    finally:
        sock.close()
    assert other_process_sees(netns, ident) == "free"  # released with the socket


def test_claims_are_per_namespace(netns_factory: object) -> None:
    make = netns_factory  # type: ignore[assignment]
    first, second = make("claim1"), make("claim2")  # type: ignore[operator]
    with first.entered():
        claim = claim_ident(4321)
    assert claim is not None
    try:
        assert other_process_sees(second, 4321) == "free"
        assert other_process_sees(first, 4321) == "held"
    finally:
        claim.release()


def test_kernel_ping_sockets_are_seen_and_skipped(netns: Netns) -> None:
    netns.set_ping_group_range(0, 0)
    with netns.entered():
        kernel = pingsock.socket(socket.AF_INET6, backend="kernel")
        kernel.bind(("::", 5555, 0, 0))
        assert 5555 in kernel_held_idents()
        kernel.close()
        assert 5555 not in kernel_held_idents()
