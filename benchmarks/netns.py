"""Network namespaces for the benchmarks: created here, always deleted.

Each namespace has only ``lo`` (up), ``net.ipv4.ping_group_range`` opened to every group so
the kernel's ping socket and raw sockets both work, and an nftables rule that drops echo
requests to the silent block on input: those addresses never answer, yet stay on loopback.
Nothing in the host namespace is changed.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from types import FrameType

LIVE_BLOCK = "127.1.0.0/16"  # all of 127/8 answers on lo
SILENT_BLOCK = "127.2.0.0/16"  # echo requests dropped by nftables on input
SILENT_WIDE = "127.16.0.0/12"  # 1,048,574 silent hosts for the memory test

_NFT_RULES = f"""
table inet pingsock_bench {{
    chain input {{
        type filter hook input priority 0; policy accept;
        ip daddr {SILENT_BLOCK} icmp type echo-request drop
        ip daddr {SILENT_WIDE} icmp type echo-request drop
    }}
}}
"""

_live: set[str] = set()
_handlers: list[bool] = []  # non-empty once the handlers are installed


def _run(argv: list[str], *, stdin: str | None = None, check: bool = True) -> None:
    subprocess.run(argv, input=stdin, text=True, check=check, timeout=30, capture_output=True)


def delete(name: str) -> None:
    """Delete namespace ``name`` (no error when it is gone already)."""
    _run(["ip", "netns", "delete", name], check=False)
    _live.discard(name)


def delete_all() -> None:
    for name in sorted(_live):
        delete(name)


_before_delete: list[Callable[[], None]] = []


def on_signal_cleanup(callback: Callable[[], None]) -> None:
    """Run ``callback`` (e.g. kill the tools still running) before a signal deletes the
    namespaces."""
    _before_delete.append(callback)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    for callback in _before_delete:
        callback()
    delete_all()
    sys.stderr.write(f"benchmarks: stopped by signal {signum}, namespaces deleted\n")
    os._exit(128 + signum)


def _install_handlers() -> None:
    if _handlers:
        return
    atexit.register(delete_all)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    _handlers.append(True)


def create(name: str) -> str:
    """Create namespace ``name`` with lo up, ping sockets allowed and the silent blocks."""
    _install_handlers()
    delete(name)  # a leftover of an interrupted run
    _run(["ip", "netns", "add", name])
    _live.add(name)
    _run(["ip", "-n", name, "link", "set", "lo", "up"])
    ping_range = "net.ipv4.ping_group_range=0 4294967294"
    _run(["ip", "netns", "exec", name, "sysctl", "-q", "-w", ping_range])
    _run(["ip", "netns", "exec", name, "nft", "-f", "-"], stdin=_NFT_RULES)
    return name


def prefix(name: str) -> list[str]:
    """The argv prefix that runs a command inside namespace ``name`` (it execs, same pid)."""
    return ["ip", "netns", "exec", name]


class Namespace:
    """``with Namespace("x") as ns:`` creates it and deletes it on the way out."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> Namespace:
        create(self.name)
        return self

    def __exit__(self, *_exc: object) -> None:
        delete(self.name)

    def argv(self, *command: str) -> list[str]:
        return [*prefix(self.name), *command]
