"""``python -m pingsock``: the same as the ``pingsock`` command."""

from pingsock.cli.main import entry

entry()
