"""``pingsock``: the command dispatcher. It imports only what it needs to pick a command,
so ``pingsock sweep`` does not pay for ``pingsock ping``'s modules, and the reverse: each
command's module is imported when it runs (start-up time is part of every measurement)."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TextIO

__all__ = ["entry", "main"]

_TOP_USAGE = """usage: pingsock <command> [arguments]

commands:
  ping [options] <destination>   send ICMP ECHO_REQUEST to a host (iputils ping options)
  sockets [-4|-6] [--kernel]     list emulated ping sockets like /proc/net/icmp
  sweep [options] [targets...]   ping many targets at once (fping 5.1 options and output)
  version                        print the version

The backend is chosen automatically (kernel ping socket, else raw socket); set
PINGSOCK_BACKEND=kernel|raw|auto to force one.
"""


def main(
    argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the ``pingsock`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    out = out or sys.stdout
    err = err or sys.stderr
    if not argv:
        err.write(_TOP_USAGE)
        return 2
    if argv[0] in ("-h", "--help", "help"):
        out.write(_TOP_USAGE)
        out.flush()
        return 0
    command, rest = argv[0], argv[1:]
    if command == "ping":
        from pingsock.cli.ping_main import ping_main

        return ping_main(rest, out, err)
    if command == "sweep":
        from pingsock.cli.sweep_main import sweep_main

        return sweep_main(rest, out, err)
    if command == "sockets":
        from pingsock.cli.sockets_main import sockets_main

        return sockets_main(rest, out, err)
    if command in ("version", "--version"):
        from pingsock import __version__

        out.write(f"pingsock {__version__}\n")
        out.flush()
        return 0
    err.write(f"pingsock: unknown command {command!r}\n{_TOP_USAGE}")
    return 2


def entry() -> None:
    """Console-script entry point (``pingsock``, ``python -m pingsock``)."""
    if sys.argv[1:2] == ["ping"]:
        # limit_capabilities(), as iputils' main() does first: NET_RAW and NET_ADMIN stay
        # permitted and are raised only around the calls that need them. Here and not in
        # main(), so that calling main() from Python never changes the caller's process.
        from pingsock.cli.capabilities import PROCESS

        PROCESS.limit()
    try:
        status = main()
    except KeyboardInterrupt:
        status = 130
    except BrokenPipeError:
        # A closed pipe (ping ... | head) is not an error worth a traceback.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        status = 1
    sys.exit(status)
