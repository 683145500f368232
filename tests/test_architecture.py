"""The boundaries of shared/DESIGN.md, checked: the pure layers do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pingsock"
PURE = [
    *sorted((PACKAGE / "wire").glob("*.py")),
    *sorted((PACKAGE / "emulation").glob("*.py")),
    PACKAGE / "tracker.py",
    PACKAGE / "stats.py",
    PACKAGE / "pacing.py",
    PACKAGE / "probe_plan.py",
    PACKAGE / "events.py",
    PACKAGE / "cmsg.py",
    PACKAGE / "linux.py",
    PACKAGE / "errors.py",
    PACKAGE / "cli" / "render.py",
    PACKAGE / "cli" / "icmp_text.py",
    PACKAGE / "cli" / "options_text.py",
    PACKAGE / "cli" / "args.py",
    PACKAGE / "cli" / "cparse.py",
    PACKAGE / "cli" / "nodeinfo.py",
    PACKAGE / "cli" / "json_lines.py",
    PACKAGE / "cli" / "json_values.py",
    PACKAGE / "sweep" / "engine.py",
    PACKAGE / "sweep" / "events.py",
    PACKAGE / "sweep" / "options.py",
    PACKAGE / "sweep" / "targets.py",
]
FORBIDDEN = {"socket", "select", "selectors", "asyncio", "os", "time", "subprocess", "ctypes"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_modules_do_no_io(path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN


def test_only_aio_imports_asyncio() -> None:
    users = [p for p in PACKAGE.rglob("*.py") if "asyncio" in imported_modules(p)]
    assert all(p.name == "aio.py" for p in users)


def test_public_names_are_sorted() -> None:
    import pingsock

    assert list(pingsock.__all__) == sorted(pingsock.__all__)
