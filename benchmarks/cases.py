"""The benchmark cases B1-B4: each returns rows for the results table."""

from __future__ import annotations

import ipaddress
import json
import re
import statistics
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import env
import measure
import netns

WORKERS = Path(__file__).resolve().parent / "workers.py"


@dataclass
class Row:
    case: str
    tool: str
    figure: str
    value: float | None
    unit: str = ""
    wall_s: float | None = None
    replies: str = ""
    rss_kb: int | None = None
    note: str = ""
    ref: float | None = None  # the case's reference value, for the ratio column
    pingsock: float | None = None  # pingsock's value for the same figure
    higher_is_better: bool = True
    na: str = ""  # "n/a (...)" when the tool could not be measured


@dataclass
class Plan:
    quick: bool
    ns: str
    reps: int
    live_block: str
    live_n: int
    subset_n: int  # one-host-at-a-time tools and the tuning pass
    fping_default_block: str  # fping's default -i is 10 ms: measured on a small block
    silent_block: str
    million: int
    rate_n: int  # B2 round trips, fast tools
    rate_n_slow: int  # B2 round trips, Python peers
    rtt_n: int
    b4_n: int
    log: Callable[[str], None] = print
    sweep_built: bool = False
    cli_built: bool = False
    results: dict[str, float] = field(default_factory=dict)


def block_size(block: str) -> int:
    net = ipaddress.ip_network(block)
    return net.num_addresses - 2 if net.prefixlen < 31 else net.num_addresses


def _fmt_replies(replies: int | None, sent: int) -> str:
    return "?" if replies is None else f"{replies:,}/{sent:,}"


def _in_ns(plan: Plan, *argv: str) -> list[str]:
    return netns.prefix(plan.ns) + list(argv)


def _worker(plan: Plan, *args: str) -> list[str]:
    return _in_ns(plan, str(env.PYTHON), str(WORKERS), *args)


def _parse_worker(run: measure.Run) -> dict[str, object]:
    if run.timed_out:
        return {"error": "timed out"}
    for line in reversed(run.stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                parsed: dict[str, object] = json.loads(line)
                return parsed
            except json.JSONDecodeError:
                break
    tail = (run.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {run.returncode}: {tail[:200]}"}


def _alive_from_stats(text: str) -> int | None:
    match = re.search(r"^\s*(\d+) alive", text, re.M)
    return int(match.group(1)) if match else None


def detect_pingsock(plan: Plan) -> None:
    probe = subprocess.run(
        [str(env.PYTHON), "-c", "import pingsock.sweep, pingsock.sweep.targets"],
        check=False,
        capture_output=True,
        timeout=60,
    )
    plan.sweep_built = probe.returncode == 0
    cli = subprocess.run(
        [str(env.PYTHON), "-m", "pingsock", "sweep", "--help"],
        check=False,
        capture_output=True,
        timeout=60,
    )
    plan.cli_built = cli.returncode == 0
    plan.log(f"pingsock sweep library: {plan.sweep_built}, CLI: {plan.cli_built}")


PINGSOCK_CLI = [str(env.VENV / "bin" / "pingsock")]
NOT_BUILT = "n/a (not built)"


# ---------------------------------------------------------------------------------- B1


def _sweep_cli(plan: Plan, case: str, tool: str, argv: list[str], *, n: int, timeout: float) -> Row:
    runs = measure.repeat(_in_ns(plan, *argv), times=plan.reps, timeout=timeout)
    return _sweep_row(case, tool, argv, runs, n=n, timeout=timeout)


def _sweep_row(
    case: str, tool: str, argv: list[str], runs: measure.Repeated, *, n: int, timeout: float
) -> Row:
    last = runs.last
    if last.timed_out:
        return Row(case, tool, "probes/s", None, na=f"n/a (timed out after {timeout:.0f} s)")
    alive = _alive_from_stats(last.stderr)
    return Row(
        case,
        tool,
        "probes/s",
        n / runs.wall_s,
        wall_s=runs.wall_s,
        replies=_fmt_replies(alive, n),
        rss_kb=runs.rss_kb,
        note=" ".join(argv[1:]) if argv[0] != PINGSOCK_CLI[0] else "pingsock " + " ".join(argv[1:]),
    )


def _sweep_worker(
    plan: Plan,
    case: str,
    tool: str,
    worker_tool: str,
    block: str,
    *,
    limit: int | None,
    total: int,
    timeout_s: float,
    param: str = "",
    reps: int | None = None,
    deadline: float = 600,
    note: str = "",
    loop_rate: bool = False,
) -> Row:
    args = ["sweep", worker_tool, block, "--timeout", str(timeout_s), "--param", param]
    if limit is not None:
        args += ["--limit", str(limit)]
    runs = measure.repeat(_worker(plan, *args), times=reps or plan.reps, timeout=deadline)
    data = _parse_worker(runs.last)
    if "error" in data:
        return Row(case, tool, "probes/s", None, na=f"n/a ({data['error']})", note=note)
    sent = int(str(data["sent"]))
    replies = int(str(data["replies"]))
    wall = runs.wall_s
    inner = float(str(data["inner_s"]))
    if loop_rate:  # tuning: the sweep itself, start-up excluded
        return Row(
            case,
            tool,
            "probes/s (loop)",
            sent / inner,
            wall_s=wall,
            replies=_fmt_replies(replies, sent),
            rss_kb=runs.rss_kb,
            note=note,
        )
    if sent < total:  # a subset: scale the tool's own work, keep its start-up once
        startup = max(wall - inner, 0.0)
        wall = startup + inner * total / max(sent, 1)
        note = (note + "; " if note else "") + f"extrapolated from {sent:,} hosts"
        replies_text = _fmt_replies(replies, sent)
    else:
        replies_text = _fmt_replies(replies, sent)
    return Row(
        case,
        tool,
        "probes/s",
        total / wall,
        wall_s=wall,
        replies=replies_text,
        rss_kb=runs.rss_kb,
        note=note,
    )


def b1(plan: Plan) -> list[Row]:
    case = "B1 live sweep"
    n = block_size(plan.live_block)
    block = plan.live_block
    rows: list[Row] = []
    plan.log(f"B1: fping and pingsock sweep on {block} ({n:,} hosts), in turn")
    fping_argv = ["fping", "-g", "-q", "-s", "-i", "0", "-r", "0", block]
    cli_argv = [*PINGSOCK_CLI, "sweep", "-g", "-q", "-s", "-i", "0", "-r", "0", block]
    cli_row: Row | None = None
    if plan.cli_built:
        # The two whose wall times the target compares run in turn, A B A B, more times than
        # the other cases: one run of either varies by 10% on a shared machine.
        fping_runs, cli_runs = measure.alternate(
            _in_ns(plan, *fping_argv),
            _in_ns(plan, *cli_argv),
            times=plan.reps * 3,
            timeout=120,
        )
        fping = _sweep_row(case, "fping -i 0", fping_argv, fping_runs, n=n, timeout=120)
        cli_row = _sweep_row(case, "pingsock sweep (CLI)", cli_argv, cli_runs, n=n, timeout=120)
        ratios = measure.pair_ratios(cli_runs, fping_runs)
        if ratios and cli_row.value:
            middle = statistics.median(ratios)
            cli_row.note += (
                f"; run in turn with fping: wall ratio per pair median {middle:.2f}"
                f" (min {min(ratios):.2f}, max {max(ratios):.2f}, {len(ratios)} pairs)"
            )
    else:
        fping = _sweep_cli(plan, case, "fping -i 0", fping_argv, n=n, timeout=120)
    rows.append(fping)
    if fping.value:
        plan.results["fping_live_rate"] = fping.value
    small = plan.fping_default_block
    small_n = block_size(small)
    runs = measure.repeat(
        _in_ns(plan, "fping", "-g", "-q", "-s", "-r", "0", small), times=1, timeout=120
    )
    wall = runs.wall_s * n / small_n
    rows.append(
        Row(
            case,
            "fping (default -i 10 ms)",
            "probes/s",
            n / wall,
            wall_s=wall,
            replies=_fmt_replies(_alive_from_stats(runs.last.stderr), small_n),
            rss_kb=runs.rss_kb,
            note=f"fping -g -q -r 0 {small}; extrapolated from {small_n:,} hosts",
        )
    )
    plan.log("B1: pingsock")
    if cli_row is not None:
        rows.append(cli_row)
        if cli_row.value:
            plan.results["pingsock_cli_live_rate"] = cli_row.value
    else:
        rows.append(Row(case, "pingsock sweep (CLI)", "probes/s", None, na=NOT_BUILT))
    for backend in ("auto", "raw", "aio"):
        name = {"auto": "pingsock.sweep()", "raw": "pingsock.sweep() backend=raw"}.get(
            backend, "pingsock.asweep() (asyncio)"
        )
        if plan.sweep_built:
            row = _sweep_worker(
                plan,
                case,
                name,
                "pingsock",
                block,
                limit=None,
                total=n,
                timeout_s=0.5,
                param=backend,
                deadline=180,
            )
        else:
            row = Row(case, name, "probes/s", None, na=NOT_BUILT)
        rows.append(row)
        if row.value and backend == "auto":
            plan.results["pingsock_live_rate"] = row.value
    # icmplib: try a few settings on a subset, then the best one on the whole block.
    plan.log("B1: icmplib / aioping tuning on a subset")
    best: tuple[float, str] = (0.0, "")
    for tasks in ("50", "500", "5000"):
        for priv in ("0", "1"):
            param = f"{tasks},{priv}"
            row = _sweep_worker(
                plan,
                case,
                f"icmplib multiping tasks={tasks} privileged={priv == '1'}",
                "icmplib",
                block,
                limit=plan.subset_n,
                total=plan.subset_n,
                timeout_s=0.5,
                param=param,
                reps=1,
                deadline=120,
                note=f"tuning, {plan.subset_n:,} hosts",
                loop_rate=True,
            )
            rows.append(row)
            if row.value and row.value > best[0]:
                best = (row.value, param)
    if best[1]:
        tasks, priv = best[1].split(",")
        plan.log(f"B1: icmplib best setting {best[1]} on the whole block")
        rows.append(
            _sweep_worker(
                plan,
                case,
                f"icmplib multiping (best: tasks={tasks} privileged={priv == '1'})",
                "icmplib",
                block,
                limit=None,
                total=n,
                timeout_s=0.5,
                param=best[1],
                deadline=600,
            )
        )
    best = (0.0, "")
    for width in ("100", "1000"):
        row = _sweep_worker(
            plan,
            case,
            f"aioping {width} in flight",
            "aioping",
            block,
            limit=plan.subset_n,
            total=plan.subset_n,
            timeout_s=0.5,
            param=width,
            reps=1,
            deadline=120,
            note=f"tuning, {plan.subset_n:,} hosts; raw socket per ping",
            loop_rate=True,
        )
        rows.append(row)
        if row.value and row.value > best[0]:
            best = (row.value, width)
    if best[1]:
        plan.log(f"B1: aioping {best[1]} in flight on the whole block")
        rows.append(
            _sweep_worker(
                plan,
                case,
                f"aioping (best: {best[1]} in flight)",
                "aioping",
                block,
                limit=None,
                total=n,
                timeout_s=0.5,
                param=best[1],
                reps=1,
                deadline=600,
            )
        )
    plan.log("B1: one-host-at-a-time peers and scapy on a subset")
    for tool in ("ping3", "pythonping", "scapy"):
        note = "one host at a time" if tool != "scapy" else "one sr() with every packet"
        rows.append(
            _sweep_worker(
                plan,
                case,
                tool,
                tool,
                block,
                limit=plan.subset_n,
                total=n,
                timeout_s=0.5,
                reps=1,
                deadline=300,
                note=note,
            )
        )
    _ratios(rows, ref=fping, pingsock_tool="pingsock.sweep()")
    return rows


def _ratios(rows: list[Row], *, ref: Row | None, pingsock_tool: str) -> None:
    ps = next((r for r in rows if r.tool == pingsock_tool and r.value), None)
    for row in rows:
        if row.note.startswith("tuning"):  # loop rates of a subset: not comparable
            continue
        row.ref = ref.value if ref else None
        row.pingsock = ps.value if ps else None


# ---------------------------------------------------------------------------------- B1s


def b1s(plan: Plan) -> list[Row]:
    case = "B1s silent sweep, 1 s timeout"
    block = plan.silent_block
    n = block_size(block)
    rows: list[Row] = []
    plan.log(f"B1s: {block} ({n:,} silent hosts), timeout 1 s")
    argv = ["fping", "-g", "-q", "-s", "-t", "1000", "-r", "0", "-i", "0", block]
    runs = measure.repeat(_in_ns(plan, *argv), times=plan.reps, timeout=120)
    live_rate = plan.results.get("fping_live_rate")
    if live_rate is None:  # B1 not run: measure fping's send rate here
        live = measure.run(
            _in_ns(plan, "fping", "-g", "-q", "-i", "0", "-r", "0", plan.live_block), timeout=120
        )
        live_rate = block_size(plan.live_block) / live.wall_s
    bound = (n / live_rate + 1.0) * 1.1

    def row(tool: str, wall: float | None, rss: int | None, replies: str, note: str) -> Row:
        r = Row(case, tool, "wall s", wall, "s", wall_s=wall, replies=replies, rss_kb=rss)
        key = {"pingsock sweep (CLI)": "pingsock_cli_live_rate"}.get(tool, "pingsock_live_rate")
        own = plan.results.get(key)
        if tool.startswith("pingsock") and own:
            note += f"; bound at its own B1 rate: {(n / own + 1.0) * 1.1:.2f} s"
        r.note = note
        r.ref = bound
        r.higher_is_better = False
        return r

    rows.append(
        row(
            "fping",
            runs.wall_s,
            runs.rss_kb,
            _fmt_replies(_alive_from_stats(runs.last.stderr), n),
            " ".join(argv) + f"; reference = (send time at fping's full rate + 1 s) x 1.1 = "
            f"{bound:.2f} s",
        )
    )
    if plan.cli_built:
        argv = [*PINGSOCK_CLI, "sweep", "-g", "-q", "-s", "-t", "1000", "-r", "0", "-i", "0"]
        runs = measure.repeat(_in_ns(plan, *argv, block), times=plan.reps, timeout=120)
        if runs.last.timed_out:
            rows.append(Row(case, "pingsock sweep (CLI)", "wall s", None, na="n/a (timed out)"))
        else:
            rows.append(
                row(
                    "pingsock sweep (CLI)",
                    runs.wall_s,
                    runs.rss_kb,
                    _fmt_replies(_alive_from_stats(runs.last.stderr), n),
                    "pingsock sweep -g -q -s -t 1000 -r 0 -i 0 " + block,
                )
            )
    else:
        rows.append(Row(case, "pingsock sweep (CLI)", "wall s", None, na=NOT_BUILT))
    if plan.sweep_built:
        r = _sweep_worker(
            plan,
            case,
            "pingsock.sweep()",
            "pingsock",
            block,
            limit=None,
            total=n,
            timeout_s=1.0,
            deadline=180,
        )
        if r.value:
            rows.append(row("pingsock.sweep()", r.wall_s, r.rss_kb, r.replies, "library, streamed"))
        else:
            rows.append(r)
        wide = netns.SILENT_WIDE
        plan.log(f"B1s: pingsock.sweep() over {plan.million:,} silent hosts of {wide}")
        r = _sweep_worker(
            plan,
            case,
            f"pingsock.sweep() {plan.million:,} targets",
            "pingsock",
            wide,
            limit=plan.million,
            total=plan.million,
            timeout_s=1.0,
            reps=1,
            deadline=600,
        )
        if r.value:
            mem = Row(
                case,
                f"pingsock.sweep() {plan.million:,} silent targets",
                "peak RSS MB",
                r.rss_kb / 1024 if r.rss_kb else None,
                "MB",
                wall_s=r.wall_s,
                replies=r.replies,
                rss_kb=r.rss_kb,
            )
            mem.ref = 100.0
            mem.higher_is_better = False
            mem.note = f"results streamed; target < 100 MB; {wide} under an nftables drop"
            rows.append(mem)
        else:
            rows.append(r)
    else:
        rows.append(Row(case, "pingsock.sweep()", "wall s", None, na=NOT_BUILT))
    return rows


# ---------------------------------------------------------------------------------- B2


def _count_received(text: str) -> int | None:
    match = re.search(r"(\d+) (?:packets )?received", text)
    return int(match.group(1)) if match else None


def _reported_time_s(text: str) -> float | None:
    """The ``time Nms`` of ping's summary: from the first probe to the last one sent."""
    match = re.search(r"received.*, time (\d+)ms", text)
    return int(match.group(1)) / 1000 if match and int(match.group(1)) else None


def b2(plan: Plan) -> list[Row]:
    target = "127.0.0.1"
    rows: list[Row] = []
    for window in (1, 64):
        case = f"B2 round trips/s, window {window}"
        plan.log(f"B2: window {window}")
        n = plan.rate_n
        preload = [] if window == 1 else ["-l", str(window)]
        iputils_argv = ["ping", "-q", "-f", *preload, "-c", str(n), target]
        cli_argv = [*PINGSOCK_CLI, "ping", "-q", "-f", *preload, "-c", str(n), target]
        # The two the target compares run in turn, A B A B, as in B1: a drift in the
        # machine's speed falls on both alike, and each pair gives a ratio.
        iputils_runs, cli_runs = measure.alternate(
            _in_ns(plan, *iputils_argv), _in_ns(plan, *cli_argv), times=plan.reps * 3, timeout=120
        )
        cli_rows = []
        per_run: list[list[float | None]] = []
        for tool, argv, runs in (
            ("iputils ping -f", iputils_argv, iputils_runs),
            ("pingsock ping -f (CLI)", cli_argv, cli_runs),
        ):
            got = _count_received(runs.last.stdout)
            # A rate, like the library rows: over the loop, start-up excluded. Both tools
            # print the loop's length ("time Nms", first to last probe sent); the median of
            # the runs' rates is kept. The whole process's wall time is in the wall column.
            rates: list[float | None] = [
                (_count_received(r.stdout) or 0) / t
                if not r.timed_out and (t := _reported_time_s(r.stdout))
                else None
                for r in runs.runs
            ]
            per_run.append(rates)
            known = [rate for rate in rates if rate]
            value = statistics.median(known) if known else None
            command = " ".join(argv[1:] if argv[0] == "ping" else ["pingsock", *argv[1:]])
            cli_rows.append(
                Row(
                    case,
                    tool,
                    "RT/s (loop)",
                    value,
                    wall_s=runs.wall_s,
                    replies=_fmt_replies(got, n),
                    rss_kb=runs.rss_kb,
                    note=f"{command}; rate over the tool's own time line, start-up excluded",
                    na="" if value else "n/a (timed out)",
                )
            )
        ratios = [b / a for a, b in zip(*per_run, strict=False) if a and b]
        if ratios and cli_rows[1].value:
            cli_rows[1].note += (
                f"; run in turn with iputils: rate ratio per pair median"
                f" {statistics.median(ratios):.2f} (min {min(ratios):.2f}, max"
                f" {max(ratios):.2f}, {len(ratios)} pairs)"
            )
        rows.extend(cli_rows)
        lib: list[tuple[str, str, str, int]] = [
            ("pingsock.socket() loop, kernel", "pingsock", "kernel", n),
            ("pingsock.socket() loop, raw", "pingsock", "raw", n),
        ]
        if plan.sweep_built:
            lib.append(("pingsock.sweep.run count mode", "pingsock-sweep", "auto", n))
        lib += [
            ("icmplib privileged=False", "icmplib", "0", plan.rate_n_slow),
            ("icmplib privileged=True", "icmplib", "1", plan.rate_n_slow),
            ("aioping", "aioping", "", plan.rate_n_slow),
        ]
        if window == 1:
            lib += [
                ("ping3", "ping3", "", plan.rate_n_slow),
                ("pythonping", "pythonping", "", plan.rate_n_slow),
            ]
        for tool, worker_tool, param, count in lib:
            args = ["rate", worker_tool, target, "--count", str(count), "--window", str(window)]
            bound = 5 if plan.quick else 15
            if worker_tool == "pingsock-sweep":  # bounded inside the worker
                args += ["--bound", str(bound)]
            reps = plan.reps if worker_tool.startswith("pingsock") else 1
            runs = measure.repeat(_worker(plan, *args, "--param", param), times=reps, timeout=90)
            data = _parse_worker(runs.last)
            if "error" in data:
                rows.append(Row(case, tool, "RT/s (loop)", None, na=f"n/a ({data['error']})"))
                continue
            replies = int(str(data["replies"]))
            inner = float(str(data["inner_s"]))
            note = f"{count:,} round trips; rate over the loop, start-up excluded"
            if replies < count and worker_tool == "pingsock-sweep":
                note = f"stopped at the worker's {bound} s bound after {replies:,} of {count:,}"
            if window > 1 and worker_tool in ("icmplib", "aioping"):
                note += f"; {window} concurrent tasks, one socket each"
            if worker_tool == "pythonping":
                note += "; 1-byte payload (its default)"
            rows.append(
                Row(
                    case,
                    tool,
                    "RT/s (loop)",
                    replies / inner,
                    wall_s=runs.wall_s,
                    replies=_fmt_replies(replies, int(str(data["sent"]))),
                    rss_kb=runs.rss_kb,
                    note=note,
                )
            )
        ref = cli_rows[0] if cli_rows[0].value else None
        _ratios(
            [r for r in rows if r.case == case],
            ref=ref,
            pingsock_tool="pingsock.socket() loop, kernel",
        )
    return rows


# ---------------------------------------------------------------------------------- B3


def _rtts_from_ping_text(text: str) -> list[float]:
    return [float(m) for m in re.findall(r"time=([\d.]+) ms", text)]


def b3(plan: Plan) -> list[Row]:
    case = f"B3 median RTT, {plan.rtt_n} probes at 10 ms"
    target = "127.0.0.1"
    n = plan.rtt_n
    rows: list[Row] = []
    plan.log("B3: RTT to 127.0.0.1")
    cli = [
        ("iputils ping", ["ping", "-c", str(n), "-i", "0.01", target], "stdout"),
        (
            "pingsock ping (CLI)",
            [*PINGSOCK_CLI, "ping", "-c", str(n), "-i", "0.01", target],
            "stdout",
        ),
        ("fping -C", ["fping", "-C", str(n), "-p", "10", "-q", target], "stderr"),
    ]
    for tool, argv, stream in cli:
        r = measure.run(_in_ns(plan, *argv), timeout=120)
        text = r.stdout if stream == "stdout" else r.stderr
        if tool.startswith("fping"):
            rtts = [float(x) for x in re.findall(r"\s([\d.]+)(?=\s|$)", text.split(":", 1)[-1])]
        else:
            rtts = _rtts_from_ping_text(text)
        rows.append(_rtt_row(case, tool, rtts, n, r))
    for tool, worker_tool, param in (
        ("pingsock.ping() kernel", "pingsock", "kernel"),
        ("pingsock.ping() raw", "pingsock", "raw"),
        ("pingsock.aping() (asyncio)", "pingsock", "aio"),
        ("icmplib privileged=False", "icmplib", "0"),
        ("icmplib privileged=True", "icmplib", "1"),
        ("ping3", "ping3", ""),
        ("pythonping", "pythonping", ""),
        ("aioping", "aioping", ""),
        ("scapy sr1", "scapy", ""),
    ):
        args = ["rtt", worker_tool, target, "--count", str(n), "--interval", "0.01"]
        r = measure.run(_worker(plan, *args, "--param", param), timeout=180)
        data = _parse_worker(r)
        if "error" in data:
            rows.append(Row(case, tool, "median ms", None, na=f"n/a ({data['error']})"))
            continue
        raw = data.get("rtts_ms")
        rtts = [float(x) for x in raw] if isinstance(raw, list) else []
        rows.append(_rtt_row(case, tool, rtts, n, r))
    ref = rows[0] if rows[0].value else None
    _ratios(rows, ref=ref, pingsock_tool="pingsock.ping() kernel")
    for row in rows:
        row.higher_is_better = False
    return rows


def _rtt_row(case: str, tool: str, rtts: list[float], n: int, r: measure.Run) -> Row:
    if not rtts:
        return Row(case, tool, "median ms", None, na="n/a (no RTTs parsed)")
    return Row(
        case,
        tool,
        "median ms",
        statistics.median(rtts),
        "ms",
        wall_s=r.wall_s,
        replies=_fmt_replies(len(rtts), n),
        rss_kb=r.rss_kb,
        note=f"p10 {_pct(rtts, 10):.3f} / p90 {_pct(rtts, 90):.3f} ms",
    )


def _pct(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * p // 100)]


# ---------------------------------------------------------------------------------- B4


def b4(plan: Plan) -> list[Row]:
    case = "B4 false replies, silent || live"
    m = plan.b4_n
    rows: list[Row] = []
    silent, live = netns.SILENT_BLOCK, plan.live_block
    pairs: list[tuple[str, Callable[[str], list[str]] | None, str]] = []
    if plan.sweep_built:
        for backend in ("raw", "kernel"):
            pairs.append(
                (
                    f"pingsock.sweep() backend={backend}",
                    lambda blk, b=backend: _worker(
                        plan,
                        "sweep",
                        "pingsock",
                        blk,
                        "--limit",
                        str(m),
                        "--timeout",
                        "1",
                        "--param",
                        b,
                    ),
                    "sweep",
                ),
            )
    else:
        pairs.append(("pingsock.sweep()", None, ""))
    pairs += [
        (
            "icmplib privileged=True (raw)",
            lambda blk: _worker(
                plan,
                "sweep",
                "icmplib",
                blk,
                "--limit",
                str(m),
                "--timeout",
                "1",
                "--param",
                "500,1",
            ),
            "sweep",
        ),
        (
            "icmplib privileged=False (kernel)",
            lambda blk: _worker(
                plan,
                "sweep",
                "icmplib",
                blk,
                "--limit",
                str(m),
                "--timeout",
                "1",
                "--param",
                "500,0",
            ),
            "sweep",
        ),
        (
            "aioping (raw)",
            lambda blk: _worker(
                plan,
                "sweep",
                "aioping",
                blk,
                "--limit",
                str(m),
                "--timeout",
                "1",
                "--param",
                "1000",
            ),
            "sweep",
        ),
    ]
    for tool, make, _kind in pairs:
        plan.log(f"B4: {tool}")
        if make is None:
            rows.append(Row(case, tool, "false replies", None, na=NOT_BUILT))
            continue
        results: dict[str, measure.Run] = {}

        def go(key: str, argv: list[str], out: dict[str, measure.Run] = results) -> None:
            out[key] = measure.run(argv, timeout=300)

        threads = [
            threading.Thread(target=go, args=("silent", make(silent))),
            threading.Thread(target=go, args=("live", make(live))),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=330)
        s = _parse_worker(results["silent"]) if "silent" in results else {"error": "no result"}
        lv = _parse_worker(results["live"]) if "live" in results else {"error": "no result"}
        if "error" in s or "error" in lv:
            rows.append(
                Row(
                    case,
                    tool,
                    "false replies",
                    None,
                    na=f"n/a ({s.get('error') or lv.get('error')})",
                )
            )
            continue
        false = int(str(s["replies"]))
        row = Row(
            case,
            tool,
            "false replies",
            float(false),
            wall_s=results["silent"].wall_s,
            replies=f"silent {false:,}/{int(str(s['sent'])):,}; live "
            f"{int(str(lv['replies'])):,}/{int(str(lv['sent'])):,}",
            rss_kb=results["silent"].rss_kb,
            note=f"{m:,} silent ({silent}) and {m:,} live hosts at the same time; must be 0",
        )
        row.ref = 0.0
        row.higher_is_better = False
        rows.append(row)
    return rows


CASES: dict[str, Callable[[Plan], list[Row]]] = {"B1": b1, "B1s": b1s, "B2": b2, "B3": b3, "B4": b4}
