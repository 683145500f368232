"""The measured side: one tool doing one job, run by the side environment's Python.

    python workers.py sweep TOOL BLOCK [--limit N] [--timeout S] [--param P]
    python workers.py rate TOOL TARGET --count N --window W [--param P]
    python workers.py rtt TOOL TARGET --count N --interval S [--param P]

The last line of stdout is one JSON object: ``replies`` (targets or round trips answered),
``sent``, ``inner_s`` (the tool's own work, imports excluded) and, for ``rtt``,
``rtts_ms``. Every loop is bounded by a count and a deadline. This file imports only the
standard library at the top: each tool is imported inside its own function.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import itertools
import json
import os
import resource
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

Result = dict[str, Any]


def hosts(block: str, limit: int | None) -> list[str]:
    """The block's addresses under fping ``-g`` rules (no network/broadcast below /31)."""
    net = ipaddress.ip_network(block, strict=False)
    it: Iterator[Any] = net.hosts() if net.prefixlen < 31 else iter(net)
    return [str(a) for a in itertools.islice(it, limit)]


def raise_nofile() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---------------------------------------------------------------------------- sweep (B1, B1s, B4)


def sweep_pingsock(block: str, limit: int | None, timeout: float, param: str) -> Result:
    """``param``: backend ("auto", "kernel", "raw"); "auto" goes through ``pingsock.sweep()``."""
    import importlib

    import pingsock

    module = importlib.import_module("pingsock.sweep")
    targets_mod = importlib.import_module("pingsock.sweep.targets")
    backend = param or "auto"
    spec_targets: Iterator[str] = targets_mod.expand(block)
    if limit is not None:
        spec_targets = itertools.islice(spec_targets, limit)
    start = time.perf_counter()
    sent = replies = 0
    call = getattr(pingsock, "sweep", None)
    if backend == "aio":  # the asyncio API, same engine
        asweep = pingsock.asweep

        async def collect() -> tuple[int, int]:
            count = alive = 0
            async for result in asweep(spec_targets, retries=0, interval=0.0, timeout=timeout):
                count += 1
                alive += 1 if result.alive else 0
            return count, alive

        sent, replies = asyncio.run(collect())
        return {"sent": sent, "replies": replies, "inner_s": time.perf_counter() - start}
    if callable(call):
        results = call(spec_targets, retries=0, interval=0.0, timeout=timeout, backend=backend)
    else:  # the documented lower layer: every event, keep HostDone
        options_mod = importlib.import_module("pingsock.sweep.options")
        events_mod = importlib.import_module("pingsock.sweep.events")
        options = options_mod.SweepOptions(
            retries=0, interval=0.0, timeout=timeout, backend=backend
        )
        results = (
            e.result
            for e in module.run(spec_targets, options)
            if isinstance(e, events_mod.HostDone)
        )
    for result in results:  # streamed: nothing is kept per host
        sent += 1
        replies += 1 if result.alive else 0
    inner = time.perf_counter() - start
    return {"sent": sent, "replies": replies, "inner_s": inner}


def sweep_icmplib(block: str, limit: int | None, timeout: float, param: str) -> Result:
    """``param``: "<concurrent_tasks>,<privileged 0|1>"."""
    import icmplib

    tasks_s, priv_s = (param or "50,1").split(",")
    addrs = hosts(block, limit)
    start = time.perf_counter()
    found = icmplib.multiping(
        addrs,
        count=1,
        interval=0,
        timeout=timeout,
        concurrent_tasks=int(tasks_s),
        privileged=priv_s == "1",
    )
    inner = time.perf_counter() - start
    return {"sent": len(addrs), "replies": sum(1 for h in found if h.is_alive), "inner_s": inner}


def sweep_aioping(block: str, limit: int | None, timeout: float, param: str) -> Result:
    """``param``: how many pings in flight at once (aioping has no limit of its own)."""
    import aioping

    addrs = hosts(block, limit)
    width = int(param or "1000")

    async def main() -> int:
        gate = asyncio.Semaphore(width)
        replies = 0

        async def one(addr: str) -> None:
            nonlocal replies
            async with gate:
                try:
                    await aioping.ping(addr, timeout=timeout)
                    replies += 1
                except (TimeoutError, asyncio.TimeoutError, OSError):
                    pass

        await asyncio.gather(*(one(a) for a in addrs))
        return replies

    start = time.perf_counter()
    replies = asyncio.run(main())
    return {"sent": len(addrs), "replies": replies, "inner_s": time.perf_counter() - start}


def sweep_ping3(block: str, limit: int | None, timeout: float, param: str) -> Result:
    import ping3

    addrs = hosts(block, limit)
    start = time.perf_counter()
    replies = 0
    for addr in addrs:
        r = ping3.ping(addr, timeout=timeout)
        replies += 1 if r not in (None, False) else 0
    return {"sent": len(addrs), "replies": replies, "inner_s": time.perf_counter() - start}


def sweep_pythonping(block: str, limit: int | None, timeout: float, param: str) -> Result:
    import pythonping

    addrs = hosts(block, limit)
    start = time.perf_counter()
    replies = 0
    for addr in addrs:
        r = pythonping.ping(addr, count=1, timeout=timeout)
        replies += r.stats_packets_returned
    return {"sent": len(addrs), "replies": replies, "inner_s": time.perf_counter() - start}


def sweep_scapy(block: str, limit: int | None, timeout: float, param: str) -> Result:
    """One ``sr()`` call with every probe (raw L3 socket: loopback needs L3RawSocket)."""
    from scapy.all import ICMP, IP, conf, sr  # type: ignore[attr-defined]
    from scapy.supersocket import L3RawSocket

    conf.L3socket = L3RawSocket
    addrs = hosts(block, limit)
    start = time.perf_counter()
    answered, _ = sr(IP(dst=addrs) / ICMP(), timeout=timeout, verbose=0)
    replies = len({snd[IP].dst for snd, _ in answered})
    return {"sent": len(addrs), "replies": replies, "inner_s": time.perf_counter() - start}


SWEEPS: dict[str, Callable[[str, int | None, float, str], Result]] = {
    "pingsock": sweep_pingsock,
    "icmplib": sweep_icmplib,
    "aioping": sweep_aioping,
    "ping3": sweep_ping3,
    "pythonping": sweep_pythonping,
    "scapy": sweep_scapy,
}

# ---------------------------------------------------------------------------- rate (B2)

_PAYLOAD = bytes(range(56))
BOUND = [15.0]  # seconds a count-mode sweep may run (--bound)


def rate_pingsock(target: str, count: int, window: int, param: str) -> Result:
    """A loop on ``pingsock.socket()`` keeping ``window`` echoes in flight."""
    import pingsock

    sock = pingsock.socket(socket.AF_INET, backend=param or "auto")
    sock.settimeout(1.0)
    sent = replies = 0
    start = time.perf_counter()
    deadline = start + 60
    with sock:
        while sent < min(window, count):
            sock.sendto(struct.pack("!BBHHH", 8, 0, 0, 0, sent & 0xFFFF) + _PAYLOAD, (target, 0))
            sent += 1
        while replies < count and time.perf_counter() < deadline:
            try:
                data, _ = sock.recvfrom(2048)
            except TimeoutError:
                break
            if data[0] != 0:
                continue
            replies += 1
            if sent < count:
                packet = struct.pack("!BBHHH", 8, 0, 0, 0, sent & 0xFFFF) + _PAYLOAD
                sock.sendto(packet, (target, 0))
                sent += 1
    inner = time.perf_counter() - start
    return {"sent": sent, "replies": replies, "inner_s": inner, "backend": sock.backend}


def rate_pingsock_sweep(target: str, count: int, window: int, param: str) -> Result:
    """The engine in count mode: ``count`` probes to one target, ``window`` in flight."""
    import importlib

    module = importlib.import_module("pingsock.sweep")
    options_mod = importlib.import_module("pingsock.sweep.options")
    events_mod = importlib.import_module("pingsock.sweep.events")
    options = options_mod.SweepOptions(
        count=count,
        period=0.0,
        interval=0.0,
        timeout=1.0,
        max_in_flight=window,
        backend=param or "auto",
    )
    start = time.perf_counter()
    deadline = start + BOUND[0]  # bounded: a stalled engine shows as a low rate, not a hang
    replies = sent = 0
    reply_kind, done_kind = events_mod.ProbeReply, events_mod.HostDone
    events = module.run([target], options)
    try:
        # What a user's loop over the events does: count the replies, take the result.
        for event in events:
            kind = type(event)
            if kind is reply_kind:
                if not event.duplicate:
                    replies += 1
                    if event.number >= sent:  # so far (the result says at the end)
                        sent = event.number + 1
                    if not replies & 0x3FF and time.perf_counter() > deadline:
                        break
            elif kind is done_kind:
                sent = event.result.sent
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    return {"sent": sent, "replies": replies, "inner_s": time.perf_counter() - start}


def rate_icmplib(target: str, count: int, window: int, param: str) -> Result:
    import icmplib

    privileged = (param or "1") == "1"
    start = time.perf_counter()
    if window == 1:
        host = icmplib.ping(target, count=count, interval=0, timeout=1, privileged=privileged)
        replies, sent = host.packets_received, host.packets_sent
    else:

        async def main() -> tuple[int, int]:
            each = count // window
            found = await asyncio.gather(
                *(
                    icmplib.async_ping(
                        target, count=each, interval=0, timeout=1, privileged=privileged
                    )
                    for _ in range(window)
                )
            )
            return sum(h.packets_received for h in found), sum(h.packets_sent for h in found)

        replies, sent = asyncio.run(main())
    return {"sent": sent, "replies": replies, "inner_s": time.perf_counter() - start}


def rate_aioping(target: str, count: int, window: int, param: str) -> Result:
    import aioping

    async def main() -> int:
        replies = 0

        async def worker(n: int) -> None:
            nonlocal replies
            for _ in range(n):
                try:
                    await aioping.ping(target, timeout=1)
                    replies += 1
                except (TimeoutError, asyncio.TimeoutError, OSError):
                    pass

        await asyncio.gather(*(worker(count // window) for _ in range(window)))
        return replies

    start = time.perf_counter()
    replies = asyncio.run(main())
    sent = (count // window) * window
    return {"sent": sent, "replies": replies, "inner_s": time.perf_counter() - start}


def rate_ping3(target: str, count: int, window: int, param: str) -> Result:
    import ping3

    start = time.perf_counter()
    replies = 0
    for seq in range(count):
        r = ping3.ping(target, timeout=1, seq=seq & 0xFFFF)
        replies += 1 if r not in (None, False) else 0
    return {"sent": count, "replies": replies, "inner_s": time.perf_counter() - start}


def rate_pythonping(target: str, count: int, window: int, param: str) -> Result:
    import pythonping

    start = time.perf_counter()
    r = pythonping.ping(target, count=count, timeout=1, interval=0)
    return {
        "sent": r.stats_packets_sent,
        "replies": r.stats_packets_returned,
        "inner_s": time.perf_counter() - start,
    }


RATES: dict[str, Callable[[str, int, int, str], Result]] = {
    "pingsock": rate_pingsock,
    "pingsock-sweep": rate_pingsock_sweep,
    "icmplib": rate_icmplib,
    "aioping": rate_aioping,
    "ping3": rate_ping3,
    "pythonping": rate_pythonping,
}

# ---------------------------------------------------------------------------- rtt (B3)


def rtt_pingsock(target: str, count: int, interval: float, param: str) -> list[float]:
    import pingsock

    if param == "aio":
        result = asyncio.run(pingsock.aping(target, count=count, interval=interval))
    else:
        result = pingsock.ping(target, count=count, interval=interval, backend=param or "auto")
    return [r.rtt_us / 1000 for r in result.replies if r.rtt_us is not None and not r.duplicate]


def rtt_icmplib(target: str, count: int, interval: float, param: str) -> list[float]:
    import icmplib

    host = icmplib.ping(target, count=count, interval=interval, privileged=(param or "1") == "1")
    return [float(x) for x in host.rtts]


def rtt_ping3(target: str, count: int, interval: float, param: str) -> list[float]:
    import ping3

    rtts = []
    for seq in range(count):
        r = ping3.ping(target, timeout=1, unit="ms", seq=seq)
        if r not in (None, False):
            rtts.append(float(r))
        time.sleep(interval)
    return rtts


def rtt_pythonping(target: str, count: int, interval: float, param: str) -> list[float]:
    import pythonping

    r = pythonping.ping(target, count=count, timeout=1, interval=interval)
    return [resp.time_elapsed_ms for resp in r if resp.success]


def rtt_aioping(target: str, count: int, interval: float, param: str) -> list[float]:
    import aioping

    async def main() -> list[float]:
        rtts = []
        for _ in range(count):
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError, OSError):
                rtts.append(await aioping.ping(target, timeout=1) * 1000)
            await asyncio.sleep(interval)
        return rtts

    return asyncio.run(main())


def rtt_scapy(target: str, count: int, interval: float, param: str) -> list[float]:
    from scapy.all import ICMP, IP, conf, sr1  # type: ignore[attr-defined]
    from scapy.supersocket import L3RawSocket

    conf.L3socket = L3RawSocket
    rtts = []
    for seq in range(count):
        probe = IP(dst=target) / ICMP(seq=seq)
        answer = sr1(probe, timeout=1, verbose=0)
        if answer is not None:
            rtts.append((answer.time - probe.sent_time) * 1000)
        time.sleep(interval)
    return rtts


RTTS: dict[str, Callable[[str, int, float, str], list[float]]] = {
    "pingsock": rtt_pingsock,
    "icmplib": rtt_icmplib,
    "ping3": rtt_ping3,
    "pythonping": rtt_pythonping,
    "aioping": rtt_aioping,
    "scapy": rtt_scapy,
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="workers.py")
    parser.add_argument("job", choices=["sweep", "rate", "rtt"])
    parser.add_argument("tool")
    parser.add_argument("where", help="a block (sweep) or one address")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--window", type=int, default=1)
    parser.add_argument("--interval", type=float, default=0.01)
    parser.add_argument("--param", default="")
    parser.add_argument("--bound", type=float, default=15.0)
    args = parser.parse_args(argv)
    BOUND[0] = args.bound
    raise_nofile()
    out: Result
    try:
        if args.job == "sweep":
            out = SWEEPS[args.tool](args.where, args.limit, args.timeout, args.param)
        elif args.job == "rate":
            out = RATES[args.tool](args.where, args.count, args.window, args.param)
        else:
            start = time.perf_counter()
            rtts = RTTS[args.tool](args.where, args.count, args.interval, args.param)
            out = {"sent": args.count, "replies": len(rtts), "rtts_ms": rtts}
            out["inner_s"] = time.perf_counter() - start
    except ModuleNotFoundError as exc:
        out = {"error": f"not installed: {exc.name}"}
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    sys.stdout.flush()
    os.write(1, (json.dumps(out) + "\n").encode())
    return 0 if "error" not in out else 3


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
