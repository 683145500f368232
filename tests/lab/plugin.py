"""The lab as a pytest plugin: fixtures, the ``netns`` marker, the stale sweep, SIGTERM handling.

``tests/conftest.py`` star-imports this module; an outside run can load it with
``-p lab.plugin`` (with ``tests/`` on ``PYTHONPATH``).

* Tests that use a lab fixture get the ``netns`` marker automatically, so ``-m "not netns"``
  deselects them.
* ``netns`` tests are skipped (with the reason) when not root or ``ip netns`` is unavailable,
  unless ``PSK_REQUIRE_NETNS=1`` is set: then they fail, so CI cannot silently skip them.
* At session start, namespaces and temp dirs ``psk-<pid>-*`` of dead processes are removed; at
  session end (and at exit) everything this process created is removed.
* SIGTERM is turned into KeyboardInterrupt (if nobody else handles it), so pytest stops the
  session and runs every finalizer.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

import pytest

from .bridge import BridgeLab, build_bridge_lab
from .netns import Netns, create_netns, delete_all, netns_available, sweep_stale
from .responder import ResponderLab, build_responder_lab
from .topology import RoutedLab, build_routed_lab

__all__ = [
    "LAB_FIXTURES",
    "bridge_lab",
    "netns",
    "netns_factory",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_setup",
    "pytest_sessionfinish",
    "pytest_sessionstart",
    "require_netns",
    "responder_lab",
    "routed_lab",
]

LAB_FIXTURES = frozenset({"netns", "netns_factory", "routed_lab", "responder_lab", "bridge_lab"})
REQUIRE_ENV = "PSK_REQUIRE_NETNS"


def require_netns() -> None:
    """Skip (or fail under ``PSK_REQUIRE_NETNS=1``) when namespaces cannot be used."""
    ok, reason = netns_available()
    if ok:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "netns: needs root and network namespaces (the real kernel)")
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _sigterm)


def pytest_sessionstart(session: pytest.Session) -> None:
    if netns_available()[0]:
        sweep_stale()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    delete_all()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if LAB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.netns)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("netns") is not None:
        require_netns()


@pytest.fixture
def netns() -> Iterator[Netns]:
    """A fresh namespace: ``lo`` up, ``ping_group_range`` at the default ``1 0``."""
    require_netns()
    ns = create_netns("test")
    try:
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def netns_factory() -> Iterator[Callable[[str], Netns]]:
    """``make(role)`` creates more namespaces; all are deleted after the test."""
    require_netns()
    made: list[Netns] = []

    def make(role: str) -> Netns:
        ns = create_netns(role)
        made.append(ns)
        return ns

    try:
        yield make
    finally:
        for ns in made:
            ns.delete()


@pytest.fixture
def routed_lab() -> Iterator[RoutedLab]:
    """client -- router -- server (see ``lab.topology``); fresh per test (about 30 ms)."""
    require_netns()
    lab = build_routed_lab()
    try:
        yield lab
    finally:
        lab.delete()


@pytest.fixture
def responder_lab() -> Iterator[ResponderLab]:
    """client -- responder host (see ``lab.responder``); fresh per test (about 60 ms)."""
    require_netns()
    lab = build_responder_lab()
    try:
        yield lab
    finally:
        lab.delete()


@pytest.fixture
def bridge_lab() -> Iterator[BridgeLab]:
    """client and three hosts on a bridge (see ``lab.bridge``); fresh per test."""
    require_netns()
    lab = build_bridge_lab()
    try:
        yield lab
    finally:
        lab.delete()
