"""Shared test configuration: the namespace lab (``tests/lab``) as fixtures.

Fixtures: ``netns``, ``netns_factory``, ``routed_lab``, ``responder_lab`` (see ``lab.plugin``).
The lab package is imported as ``lab``: this directory is put on ``sys.path`` so that works in
every pytest import mode.
"""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from lab.plugin import *  # noqa: E402, F403 -- fixtures and hooks, listed in lab.plugin.__all__
