"""pingsock against its peers, in one run, as ratios.

    python benchmarks/run.py [--quick] [--only B1,B2] [--output PATH]

Run as root. Sets up a side venv with the peers (icmplib, ping3, pythonping, aioping,
scapy) and pingsock from this repository, builds its own network namespace (loopback only;
the silent block is dropped by nftables inside it), runs the cases and prints a Markdown
table, also written to benchmarks/RESULTS.md (RESULTS-quick.md for --quick or --only).
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cases
import env
import measure
import netns

HERE = Path(__file__).resolve().parent


def plan_for(quick: bool, ns: str) -> cases.Plan:
    if quick:
        return cases.Plan(
            quick=True,
            ns=ns,
            reps=1,
            live_block="127.1.0.0/22",
            live_n=1022,
            subset_n=200,
            fping_default_block="127.1.0.0/27",
            silent_block="127.2.0.0/22",
            million=20_000,
            rate_n=2_000,
            rate_n_slow=500,
            rtt_n=20,
            b4_n=300,
        )
    return cases.Plan(
        quick=False,
        ns=ns,
        reps=3,
        live_block=netns.LIVE_BLOCK,
        live_n=65_534,
        subset_n=1_000,
        fping_default_block="127.1.0.0/22",
        silent_block=netns.SILENT_BLOCK,
        million=1_000_000,
        rate_n=100_000,
        rate_n_slow=5_000,
        rtt_n=200,
        b4_n=10_000,
    )


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    if unit == "ms":
        return f"{value:.3f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: float | None, ref: float | None) -> str:
    if value is None or not ref:
        return ""
    return f"{value / ref:.2f}"


def table(rows: list[cases.Row]) -> str:
    head = (
        "| case | tool | figure | value | / ref | / pingsock | wall s | replies | peak RSS MB "
        "| notes |\n|---|---|---|--:|--:|--:|--:|--:|--:|---|\n"
    )
    lines = []
    for r in rows:
        value = r.na or _num(r.value, r.unit)
        rss = f"{r.rss_kb / 1024:.1f}" if r.rss_kb else ""
        wall = f"{r.wall_s:.3f}" if r.wall_s is not None else ""
        cells = [
            r.case,
            r.tool,
            r.figure,
            value,
            _ratio(r.value, r.ref),
            _ratio(r.value, r.pingsock),
            wall,
            r.replies,
            rss,
            r.note,
        ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return head + "\n".join(lines) + "\n"


LEGEND = """\
Reading the table: `/ ref` is value divided by the case's reference — fping `-i 0` for B1,
the bound (send time at fping's full rate + timeout) x 1.1 for B1s wall times (<= 1.00 meets
it) and 100 MB for the 1M-target RSS, iputils `ping -f` for B2, iputils' median for B3.
`/ pingsock` divides by pingsock's row of the same case (B1 `pingsock.sweep()`, B2 the
kernel-socket loop, B3 `pingsock.ping()` kernel). Higher is better for probes/s and RT/s,
lower for wall s, MB and ms. B4: the silent sweep must report 0 replies.
Every tool runs as its own process inside a fresh network namespace (loopback only); wall
time is taken around the whole process (start-up and imports included; median of the
repetitions), peak RSS from wait4(). "RT/s (loop)" rates exclude the Python start-up.
Rows marked "extrapolated" ran on a subset: the process start-up is kept once and the
tool's own sweep time scaled to the whole block.
"""


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small ranges, 1 repetition")
    parser.add_argument(
        "--only", default="", help="comma-separated cases: " + ",".join(cases.CASES)
    )
    parser.add_argument("--output", default="", help="Markdown file to write")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("run.py needs root (network namespaces, raw sockets)", file=sys.stderr)
        return 2
    selected = [c.strip() for c in args.only.split(",") if c.strip()] or list(cases.CASES)
    unknown = [c for c in selected if c not in cases.CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; choose from {list(cases.CASES)}")
    partial = args.quick or bool(args.only)
    output = (
        Path(args.output)
        if args.output
        else HERE / ("RESULTS-quick.md" if partial else "RESULTS.md")
    )
    command = "python benchmarks/run.py" + " ".join(["", *argv])
    started = time.perf_counter()

    env.ensure_apt()
    env.ensure_venv()
    env.compile_sources()
    ns = f"psbench-{os.getpid()}"
    plan = plan_for(args.quick, ns)
    rows: list[cases.Row] = []
    try:
        netns.on_signal_cleanup(measure.kill_running)
        netns.create(ns)
        cases.detect_pingsock(plan)
        for name in selected:
            t0 = time.perf_counter()
            try:
                rows.extend(cases.CASES[name](plan))
            except Exception as exc:  # one broken case must not lose the others
                rows.append(
                    cases.Row(name, "(case failed)", "", None, na=f"{type(exc).__name__}: {exc}")
                )
            print(f"[{name}] done in {time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        netns.delete(ns)

    versions = env.versions()
    machine = env.machine()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        "# pingsock benchmarks\n\n"
        f"Produced by `{command}` (as root) on {now}, in {time.perf_counter() - started:.0f} s.\n\n"
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()) + "\n\n"
        "Tools: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "\n\n"
        f"pingsock sweep engine present: library {plan.sweep_built}, CLI {plan.cli_built}\n\n"
        + table(rows)
        + "\n"
        + LEGEND
    )
    print()
    print(text)
    output.write_text(text)
    print(f"written to {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
