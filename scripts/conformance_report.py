#!/usr/bin/env python3
"""Count the kernel-versus-emulation conformance cases per spec section, and the deviations.

Runs ``pytest --collect-only`` over ``tests/backends`` (nothing is executed, no root needed)
and reads each collected case's ``section`` marker (the section A-N of
``shared/spec/kernel-ping-socket.md`` it checks) and ``deviation`` marker (a documented
deviation, ``docs/emulation-deviations.md``, asserted rather than skipped). Prints a table
section -> cases (of which deviations), the total, and the deviation list; warns about
deviation ids that the document and the tests do not share. Exit status: 0, or 1 when
collection fails or the document and the tests disagree.

    python scripts/conformance_report.py [--tests DIR] [--doc FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import string
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = string.ascii_uppercase[: string.ascii_uppercase.index("N") + 1]
DOC_ID = re.compile(r"^### `([A-Za-z0-9-]+)`", re.MULTILINE)


class _Collector:
    """A pytest plugin that keeps (nodeid, section, deviation) of every collected item."""

    def __init__(self) -> None:
        self.cases: list[tuple[str, str | None, str | None]] = []

    def pytest_collection_finish(self, session: object) -> None:
        for item in getattr(session, "items", ()):
            mark = item.get_closest_marker("section")
            deviation = item.get_closest_marker("deviation")
            self.cases.append(
                (
                    item.nodeid,
                    str(mark.args[0]) if mark else None,
                    str(deviation.args[0]) if deviation else None,
                )
            )


def collect(tests: Path) -> list[tuple[str, str | None, str | None]]:
    """Collect ``tests`` with pytest, quietly; exits with pytest's output on failure."""
    for path in (ROOT / "src", ROOT / "tests"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    try:
        import pytest
    except ImportError:
        sys.exit("pytest is not installed: pip install -e '.[test]'")
    collector = _Collector()
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        status = pytest.main(
            ["--collect-only", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT), str(tests)],
            plugins=[collector],
        )
    if status not in (0, 5):
        sys.stdout.write(output.getvalue())
        sys.exit(f"conformance_report: pytest collection failed (exit {status})")
    return collector.cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=Path, default=ROOT / "tests" / "backends")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "emulation-deviations.md")
    args = parser.parse_args(argv)

    cases = [case for case in collect(args.tests) if case[1] is not None]
    per_section = Counter(letter for _node, letter, _dev in cases)
    deviations = Counter(letter for _node, letter, dev in cases if dev is not None)
    print(f"{'section':<9}{'cases':>6}{'of which deviations':>22}")
    for letter in SECTIONS:
        print(f"{letter:<9}{per_section[letter]:>6}{deviations[letter]:>22}")
    unknown = sorted(set(per_section) - set(SECTIONS))
    for letter in unknown:
        print(f"{letter + '?':<9}{per_section[letter]:>6}{deviations[letter]:>22}")
    print(f"{'total':<9}{len(cases):>6}{sum(deviations.values()):>22}")

    tested: dict[str, list[str]] = {}
    for node, _letter, dev in cases:
        if dev is not None:
            tested.setdefault(dev, []).append(node)
    documented = DOC_ID.findall(args.doc.read_text()) if args.doc.is_file() else []
    asserted = sum(deviations.values())
    print(f"\ndeviations: {len(tested)}, asserted by {asserted} cases (docs: {args.doc.name})")
    for dev in sorted(tested):
        print(f"  {dev}: {len(tested[dev])} case(s)")
    problems = [f"{dev}: asserted in a test but not in {args.doc.name}" for dev in tested
                if dev not in documented]  # fmt: skip
    problems += [f"{dev}: in {args.doc.name} but asserted by no test" for dev in documented
                 if dev not in tested]  # fmt: skip
    problems += [f"{letter}: unknown section" for letter in unknown]
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
