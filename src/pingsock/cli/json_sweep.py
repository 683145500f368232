"""``pingsock sweep --json``: one JSON object per line (NDJSON) instead of fping's text.

Pure: every function returns one line ending in ``"\\n"`` and prints nothing. Lines are
``json.dumps`` with its default separators and ``ensure_ascii``; the first key is always
``"type"`` and every key of a type is always present (``null`` where it does not apply).
Times are milliseconds as JSON numbers (the nanosecond value divided by 10^6, not rounded);
``"timestamp"`` is the CLOCK_REALTIME time the line was made, in seconds.

``reply`` (count mode: every echo reply, duplicates included; default mode: the reply that
made the target alive)::

    {"type": "reply", "host": "127.0.0.1", "address": "127.0.0.1", "seq": 0, "bytes": 64,
     "ttl": 64, "rtt_ms": 0.021, "duplicate": false, "timestamp": 1700000000.123}

``lost`` (count mode: a probe timed out)::

    {"type": "lost", "host": "192.0.2.3", "address": "192.0.2.3", "seq": 1,
     "timestamp": 1700000000.123}

``error`` (an ICMP error about a probe, from ``source``; or a local failure to send it:
then ``icmp_type`` and ``icmp_code`` are null, ``errno`` is its symbolic name, ``source``
null)::

    {"type": "error", "host": "192.0.2.1", "address": "192.0.2.1", "seq": 0,
     "source": "198.51.100.254", "icmp_type": 3, "icmp_code": 1,
     "text": "ICMP Host Unreachable", "errno": null, "timestamp": 1700000000.123}

``resolve_failed`` (a name that did not resolve; fping's ``name: message``)::

    {"type": "resolve_failed", "host": "nonexistent.invalid",
     "message": "Name or service not known"}

``host`` (once per target, in the order the targets were given, at the end)::

    {"type": "host", "host": "127.0.0.1", "address": "127.0.0.1", "alive": true,
     "sent": 3, "received": 3, "duplicates": 0, "errors": 0, "loss_percent": 0,
     "rtt": {"min": 0.012, "avg": 0.015, "max": 0.02}, "rtts": [0.012, null, 0.02]}

``address`` is null for a target that was never probed (the sweep was interrupted);
``rtt`` is null without replies; ``rtts`` has one entry per probe sent (null: no reply).

``summary`` (once, last)::

    {"type": "summary", "targets": 2, "alive": 1, "unreachable": 1, "unknown": 0,
     "sent": 5, "received": 1, "timeouts": 4, "other_icmp": 0, "elapsed_ms": 1510.4,
     "exit_status": 1}
"""

from __future__ import annotations

import errno as _errno
import json
from collections.abc import Sequence

__all__ = [
    "error_line",
    "host_line",
    "lost_line",
    "reply_line",
    "resolve_failed_line",
    "summary_line",
]


def _dump(obj: dict[str, object]) -> str:
    return json.dumps(obj, allow_nan=False) + "\n"


def _ms(ns: int | None) -> float | None:
    return None if ns is None else ns / 1e6


def reply_line(
    host: str,
    address: str,
    seq: int,
    *,
    size: int | None,
    ttl: int | None,
    rtt_ns: int,
    duplicate: bool,
    timestamp: float,
) -> str:
    return _dump(
        {
            "type": "reply",
            "host": host,
            "address": address,
            "seq": seq,
            "bytes": size,
            "ttl": ttl,
            "rtt_ms": _ms(rtt_ns),
            "duplicate": duplicate,
            "timestamp": timestamp,
        }
    )


def lost_line(host: str, address: str, seq: int, *, timestamp: float) -> str:
    return _dump(
        {"type": "lost", "host": host, "address": address, "seq": seq, "timestamp": timestamp}
    )


def error_line(
    host: str,
    address: str,
    seq: int,
    *,
    source: str,
    icmp_type: int,
    icmp_code: int,
    text: str,
    timestamp: float,
) -> str:
    """An ICMP error; ``icmp_type`` -1 is a local send failure with the errno in ``icmp_code``."""
    local = icmp_type < 0
    return _dump(
        {
            "type": "error",
            "host": host,
            "address": address,
            "seq": seq,
            "source": None if local else source,
            "icmp_type": None if local else icmp_type,
            "icmp_code": None if local else icmp_code,
            "text": text,
            "errno": _errno.errorcode.get(icmp_code, str(icmp_code)) if local else None,
            "timestamp": timestamp,
        }
    )


def resolve_failed_line(host: str, message: str) -> str:
    return _dump({"type": "resolve_failed", "host": host, "message": message})


def host_line(
    host: str,
    address: str | None,
    *,
    sent: int,
    received: int,
    duplicates: int,
    errors: int,
    rtts: Sequence[int | None],
) -> str:
    answered = [rtt for rtt in rtts if rtt is not None]
    rtt = (
        None
        if not answered
        else {
            "min": _ms(min(answered)),
            "avg": _ms(sum(answered) // len(answered)),
            "max": _ms(max(answered)),
        }
    )
    loss = ((sent - received) * 100) // sent if sent else 0
    return _dump(
        {
            "type": "host",
            "host": host,
            "address": address,
            "alive": received > 0,
            "sent": sent,
            "received": received,
            "duplicates": duplicates,
            "errors": errors,
            "loss_percent": loss,
            "rtt": rtt,
            "rtts": [_ms(value) for value in rtts],
        }
    )


def summary_line(
    *,
    targets: int,
    alive: int,
    unreachable: int,
    unknown: int,
    sent: int,
    received: int,
    timeouts: int,
    other_icmp: int,
    elapsed_ns: int,
    exit_status: int,
) -> str:
    return _dump(
        {
            "type": "summary",
            "targets": targets,
            "alive": alive,
            "unreachable": unreachable,
            "unknown": unknown,
            "sent": sent,
            "received": received,
            "timeouts": timeouts,
            "other_icmp": other_icmp,
            "elapsed_ms": elapsed_ns / 1e6,
            "exit_status": exit_status,
        }
    )
