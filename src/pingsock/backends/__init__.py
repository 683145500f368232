"""Backends: the I/O side of ``pingsock.socket()``; each is small and does nothing clever."""
