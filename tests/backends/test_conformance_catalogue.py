"""The deviation catalogue (``docs/emulation-deviations.md``) and the cases that assert it agree:
every deviation a case pins is documented, and every documented one is pinned by a case. (The
count per spec section is ``scripts/conformance_report.py``'s.)"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "emulation-deviations.md"
PINNED = re.compile(r"""pytest\.mark\.deviation\(\s*["']([A-Za-z0-9-]+)["']\s*\)""")
ENTRY = re.compile(r"^### `([A-Za-z0-9-]+)`$", re.MULTILINE)


def test_every_deviation_is_documented_and_asserted() -> None:
    pinned = {
        name
        for path in sorted((ROOT / "tests" / "backends").glob("test_*.py"))
        for name in PINNED.findall(path.read_text())
    }
    documented = ENTRY.findall(DOCUMENT.read_text())
    assert len(documented) == len(set(documented)), "an entry is documented twice"
    assert sorted(pinned - set(documented)) == [], "pinned by a case but not documented"
    assert sorted(set(documented) - pinned) == [], "documented but pinned by no case"


def test_each_entry_says_what_both_sides_do_and_where_it_is_tested() -> None:
    entries = ENTRY.split(DOCUMENT.read_text())[1:]
    for name, body in zip(entries[::2], entries[1::2], strict=True):
        for field in ("* Spec:", "* Kernel", "* Emulation", "* Test: `"):
            assert field in body, f"{name}: no {field!r} line"
        test = re.search(r"\* Test: `([^:`]+)::(\w+)`", body)
        assert test is not None, f"{name}: the test is not named as file::function"
        source = (ROOT / "tests" / "backends" / test[1]).read_text()
        assert f"def {test[2]}(" in source, f"{name}: {test[1]} has no {test[2]}"
