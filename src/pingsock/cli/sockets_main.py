"""``pingsock sockets [-4|-6] [--kernel]``: the emulated ping sockets of this network namespace
in the format of ``/proc/net/icmp`` (``-6``: ``/proc/net/icmp6``), so tools that read the
kernel's table read these too (``backends.listing`` says where each column comes from).
"""

from __future__ import annotations

from typing import TextIO

from pingsock.backends import listing

__all__ = ["USAGE", "sockets_main"]

USAGE = """usage: pingsock sockets [-4|-6] [--kernel]

List the emulated ping sockets (raw backend) of every process in this network namespace,
in the format of /proc/net/icmp (-6: /proc/net/icmp6).

  -4            IPv4 sockets (the default)
  -6            IPv6 sockets
  -k, --kernel  also the kernel's own ping sockets, merged; sl numbers the rows
  -h, --help    show this help
"""


def sockets_main(argv: list[str], out: TextIO, err: TextIO) -> int:
    """Print the table on ``out``; 0, or 2 for a usage error, 1 when /proc cannot be read."""
    version, kernel = 4, False
    for word in argv:
        if word in ("-h", "--help"):
            out.write(USAGE)
            out.flush()
            return 0
        if word in ("-4", "-6"):
            version = int(word[1])
        elif word in ("-k", "--kernel"):
            kernel = True
        else:
            err.write(f"pingsock sockets: unknown argument {word!r}\n{USAGE}")
            err.flush()
            return 2
    try:
        text = listing.table(version, kernel=kernel)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        err.write(f"pingsock sockets: {where}{exc.strerror or exc}\n")
        err.flush()
        return 1
    out.write(text)
    out.flush()
    return 0
