"""SO_BROADCAST and multicast on the REAL kernel, both backends, on a bridge (``lab.bridge``):
who answers a broadcast or multicast echo, with and without SO_BROADCAST, IP_MULTICAST_LOOP
and IP_MULTICAST_TTL (spec L3). The differential style is described in ``contract_helpers``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from contract_helpers import V4, attempt, section
from test_contract import both, echo, open_in

from lab.bridge import (
    BRIDGE_BROADCAST,
    BRIDGE_CLIENT,
    BRIDGE_HOSTS,
    BRIDGE_MULTICAST,
    BridgeLab,
    build_bridge_lab,
)
from pingsock import linux

pytestmark = [pytest.mark.netns, section("L")]

LIMITED_BROADCAST = "255.255.255.255"


@contextlib.contextmanager
def bridged() -> Iterator[BridgeLab]:
    """A fresh bridge lab for one run. The client answers its own broadcast and multicast
    echoes like every other host (``icmp_echo_ignore_broadcasts=0``, in its namespace only), and
    has a default route on the link so that the limited broadcast is routable."""
    lab = build_bridge_lab()
    try:
        lab.answer_own_broadcasts()
        lab.client.ip("route", "add", "default", "dev", "c0")
        yield lab
    finally:
        lab.delete()


def collect_replies(s: Any, expected: int, timeout: float = 1.5) -> list[tuple[str, int]]:
    """(source, ICMP type) of the replies that arrive within ``timeout``, at most ``expected``."""
    got: list[tuple[str, int]] = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and (left := deadline - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            data, source = s.recvfrom(2048)
        except TimeoutError:
            break
        got.append((source[0], data[0]))
    return sorted(got)


BROADCAST_CASES = {
    "subnet-without-so_broadcast": (BRIDGE_BROADCAST, {}),
    "subnet": (BRIDGE_BROADCAST, {linux.SO_BROADCAST: 1}),
    "limited-without-so_broadcast": (LIMITED_BROADCAST, {}),
    "limited": (LIMITED_BROADCAST, {linux.SO_BROADCAST: 1}),
    "multicast": (BRIDGE_MULTICAST, {}),  # L3: multicast needs no SO_BROADCAST
    "multicast-no-loop": (BRIDGE_MULTICAST, {linux.IP_MULTICAST_LOOP: 0}),
    "multicast-ttl-0": (BRIDGE_MULTICAST, {linux.IP_MULTICAST_TTL: 0}),
}


@pytest.mark.parametrize("case", BROADCAST_CASES)
def test_broadcast_and_multicast_replies(case: str) -> None:
    target, options = BROADCAST_CASES[case]
    own = [(BRIDGE_CLIENT, 0)]  # the looped copy, answered by the client itself
    others = [(address, 0) for address in BRIDGE_HOSTS]  # sources differ from the destination

    def scenario(backend: str) -> object:
        with bridged() as lab, lab.client.entered(), open_in(lab.client, backend, V4) as s:
            for option, value in options.items():
                level = linux.SOL_SOCKET if option == linux.SO_BROADCAST else linux.SOL_IP
                s.setsockopt(level, option, value)
            sent = attempt(s.sendto, echo(V4, 1), (target, 0))
            connected = attempt(s.connect, (target, 0))
            return sent, connected, collect_replies(s, len(own) + len(others))

    sent, connected, replies = both(scenario)  # type: ignore[misc]
    if case.endswith("without-so_broadcast"):
        assert (sent, connected, replies) == (("error", "EACCES"), ("error", "EACCES"), [])
        return
    assert sent == ("ok", 16) and connected == ("ok", None)
    expected = {"multicast-no-loop": others, "multicast-ttl-0": own}
    assert replies == sorted(expected.get(case, own + others))
